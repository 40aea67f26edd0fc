"""Evaluation metrics: pure functions over :class:`~eval.records.EvalSample` records.

Every aggregate returns a float in [0, 1] (latency: milliseconds), or ``None`` when no record
qualifies (e.g. abstention recall on a set without unanswerable questions).

* Retrieval - a context is *relevant* when its source is one of the sample's ``sources``
  (when given) and, when ``evidence`` is given, it contains one of the evidence quotes (case,
  quotes and whitespace folded). ``hit@k``: a relevant context among the first k; ``mrr@10``:
  mean reciprocal rank of the first relevant one. ``ndcg@10``/``recall@100`` use graded
  ``relevance`` (BEIR qrels) over the ranked, de-duplicated document ids (linear gain, as
  trec_eval). Only answerable samples with gold are scored.
* Correctness (answerable samples only, abstentions count as wrong): ``answer_contains`` - the
  SQuAD-normalised answer contains a normalised reference as whole words; for a
  multiple-choice sample (one with ``distractors``) it is :func:`choice_credit` instead: the
  answer names the right choice (whole words, or all its content words in one answer
  sentence) and names no wrong choice the same way (a wrong choice whose content words are
  all words of the right one, "New York" beside "New York City", is not counted against it).
  ``token_f1`` - best SQuAD token F1; ``exact_match`` - SQuAD EM.
* Faithfulness (answered samples, ALCE): ``citation_recall`` - share of answer sentences that
  the concatenation of their cited quotes supports (no citation: unsupported);
  ``citation_precision`` - share of citations that are needed and supportive.
* ``quote_validity`` - share of citations whose quote equals the stored text at its offsets.
* Abstention: ``abstention_precision`` (abstentions that were on unanswerable questions) and
  ``abstention_recall`` (unanswerable questions that were declined), reported apart from
  correctness so a correct refusal is never a wrong answer. ``answer_trigger_f1`` - WikiQA's
  answer triggering F1: a question counts as correctly triggered when it is answerable and was
  answered with a citation whose quote overlaps a gold ``evidence`` string
  (:func:`quote_overlaps`); precision divides those by every question answered (not declined,
  no error), recall by every answerable question. None when no sample has evidence.
* ``wrong_subject`` (lower is better) - answered a different question, judged only against the
  labels (never with the answerer's own code, which could only agree with itself): an
  unanswerable question answered, or an answerable one answered with citations none of which
  holds its gold evidence (the quote overlaps an ``evidence`` string) or a gold answer (the
  quote contains a reference, from a gold source when ``sources`` are given; by
  :func:`choice_credit` for a multiple-choice sample). Over every question that has labels to
  judge by; errors are not judged.
* ``latency_p50_ms``/``latency_p95_ms`` (linear interpolation).
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from eval.records import EvalCitation, EvalContext, EvalSample
from rag.language.text import normalize, sentence_spans
from rag.language.textrules import (
    MARKER,
    NUMBER_WORDS,
    STOPWORDS,
    marker_numbers,
    markers_before_stop,
    stem,
    strip_markers,
)
from rag.plugins import Registry
from rag.records import FALLBACK_NOTE

SupportFn = Callable[[str, str], bool]


DEFAULT_TOLERANCE = 0.02  # absolute; the gate's default for a gated rate


@dataclass(frozen=True)
class Metric:
    """A metric: one function over the run's records, and how it is read and gated.

    ``compute(records, supports)`` returns a float (a rate in [0, 1], or milliseconds) or None
    when no record qualifies. Register one in :data:`METRICS` (this module's table, or the
    ``citewise.metrics`` entry-point group, whose entry point names a Metric object).
    """

    name: str
    group: str
    compute: Callable[[Sequence[EvalSample], SupportFn], float | None]
    description: str = ""
    higher_is_better: bool = True
    gated: bool = True  # latency is informational: machine dependent
    tolerance: float | None = DEFAULT_TOLERANCE  # the baseline's default (None when not gated)
    needs_answers: bool = True  # False: computed in retrieval-only runs too

    @property
    def default_tolerance(self) -> float | None:
        return self.tolerance if self.gated else None


def _metric(obj: object) -> Metric:
    if not isinstance(obj, Metric):
        raise TypeError(f"expected an eval.metrics.Metric, got {type(obj).__name__}")
    return obj


METRICS: Registry[Metric] = Registry(
    "metric", "citewise.metrics", normalize=str.strip, coerce=_metric
)


def register(metric: Metric) -> Metric:
    """Add ``metric`` to the table (reports list metrics in registration order)."""
    METRICS.add(metric.name, metric)
    return metric


def _mean(values: Sequence[float]) -> float | None:
    return round(float(sum(values)) / len(values), 6) if values else None


# ---------------------------------------------------------------- retrieval


def _fold(text: str) -> str:
    return " ".join(normalize(text).split())


def source_matches(source: str, gold: Sequence[str]) -> bool:
    """Exact id match, or the gold id is the trailing path part of the source."""
    return any(source == g or source.endswith("/" + g) for g in gold)


def is_relevant(sample: EvalSample, context: EvalContext) -> bool:
    """Does ``context`` hold the gold source/evidence of ``sample``?"""
    if sample.relevance:
        return sample.relevance.get(context.source, 0) > 0 or source_matches(
            context.source, [s for s, g in sample.relevance.items() if g > 0]
        )
    if sample.sources and not source_matches(context.source, sample.sources):
        return False
    if sample.evidence:
        text = _fold(context.text)
        return any(_fold(e) in text for e in sample.evidence)
    return bool(sample.sources)


def first_relevant_rank(sample: EvalSample, limit: int | None = None) -> int | None:
    """1-based rank of the first relevant context, or None."""
    for i, ctx in enumerate(sample.contexts[:limit], start=1):
        if is_relevant(sample, ctx):
            return i
    return None


def _retrieval_samples(records: Sequence[EvalSample]) -> list[EvalSample]:
    return [r for r in records if r.has_gold]


def hit_at_k(records: Sequence[EvalSample], k: int) -> float | None:
    """Share of gold-bearing questions with a relevant context among the first ``k``."""
    rs = _retrieval_samples(records)
    return _mean([1.0 if first_relevant_rank(r, k) else 0.0 for r in rs])


def reciprocal_rank(sample: EvalSample, k: int = 10) -> float:
    rank = first_relevant_rank(sample, k)
    return 1.0 / rank if rank else 0.0


def mrr_at_k(records: Sequence[EvalSample], k: int = 10) -> float | None:
    """Mean reciprocal rank of the first relevant context (0 when not in the first ``k``)."""
    return _mean([reciprocal_rank(r, k) for r in _retrieval_samples(records)])


def ranked_sources(sample: EvalSample) -> list[str]:
    """Document ids in rank order, de-duplicated (``ranking`` when set, else the contexts)."""
    ids = sample.ranking or [c.source for c in sample.contexts]
    return list(dict.fromkeys(ids))


def ndcg(sample: EvalSample, k: int = 10) -> float:
    """nDCG@k of one sample against its graded relevance (linear gain)."""
    grades = sample.relevance or {s: 1 for s in sample.sources}
    dcg = sum(
        grades.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked_sources(sample)[:k])
    )
    ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def ndcg_at_k(records: Sequence[EvalSample], k: int = 10) -> float | None:
    """Mean nDCG@k over samples with graded relevance (BEIR)."""
    return _mean([ndcg(r, k) for r in records if r.relevance])


def recall(sample: EvalSample, k: int = 100) -> float:
    relevant = {d for d, g in (sample.relevance or {s: 1 for s in sample.sources}).items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant & set(ranked_sources(sample)[:k])) / len(relevant)


def recall_at_k(records: Sequence[EvalSample], k: int = 100) -> float | None:
    """Mean share of relevant documents in the top ``k`` over samples with relevance (BEIR)."""
    return _mean([recall(r, k) for r in records if r.relevance])


# ---------------------------------------------------------------- correctness

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation) | set("‘’“”–—…")


def squad_normalize(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def contains_reference(answer: str, references: Sequence[str]) -> bool:
    """The normalised answer contains a normalised reference as whole words."""
    ans = f" {squad_normalize(strip_markers(answer))} "
    return any(
        (ref := squad_normalize(r)) and f" {ref} " in ans for r in references
    )


_JOINERS = re.compile(r"[-‐‑–—/]")


def _words(text: str) -> list[str]:
    """SQuAD-normalised words, a hyphen or slash read as a space ("five-year" is "five year",
    "Twitter-based" names Twitter), number words as digits."""
    return [NUMBER_WORDS.get(w, w) for w in squad_normalize(_JOINERS.sub(" ", text)).split()]


def content_words(text: str) -> frozenset[str]:
    """SQuAD-normalised words without stop words, number words as digits, stemmed."""
    return frozenset(stem(w) for w in _words(text) if w not in STOPWORDS)


def _phrase_in(text: str, phrase: str) -> bool:
    words = " ".join(_words(phrase))
    return bool(words) and f" {words} " in f" {' '.join(_words(strip_markers(text)))} "


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)] or [text]


def mentions(text: str, reference: str, loose: bool = True) -> bool:
    """``text`` names ``reference``: as whole words (:func:`contains_reference`, or with
    hyphens read as spaces), or with all the reference's content words
    (:func:`content_words`) inside one sentence of ``text``. ``loose=False`` allows the
    content-word reading only when the reference has no stop word to drop: "HBO Go" is not
    named by "HBO Max"."""
    if contains_reference(text, [reference]) or _phrase_in(text, reference):
        return True
    wanted = content_words(reference)
    if not loose and len(wanted) < len(set(_words(reference))):
        return False
    return bool(wanted) and any(
        wanted <= content_words(s) for s in _sentences(strip_markers(text))
    )


def choice_credit(answer: str, references: Sequence[str], distractors: Sequence[str]) -> bool:
    """Multiple-choice credit: the answer names a reference (:func:`mentions`) and no
    distractor, except a distractor whose content words are all the reference's own ("New
    York" beside "New York City")."""
    named = [r for r in references if mentions(answer, r)]
    if not named:
        return False
    own = frozenset().union(*(content_words(r) for r in named))
    return not any(
        not content_words(d) <= own and mentions(answer, d, loose=False) for d in distractors
    )


MULTI_SPAN = "multi-span"  # the tag of a question whose answer must hold every reference


def credits_reference(answer: str, sample: EvalSample) -> bool:
    """The correctness check of ``sample``: :func:`choice_credit` for a multiple-choice sample
    (one with distractors); for one tagged ``multi-span`` (TAT-QA's "which segments ...") every
    reference must be in the answer; else :func:`contains_reference`."""
    if MULTI_SPAN in sample.tags:
        return bool(sample.references) and all(contains_reference(answer, [r])
                                               for r in sample.references)
    if sample.distractors:
        return choice_credit(answer, sample.references, sample.distractors)
    return contains_reference(answer, sample.references)


def f1_score(answer: str, reference: str) -> float:
    """SQuAD token F1 between one answer and one reference."""
    pred = squad_normalize(strip_markers(answer)).split()
    gold = squad_normalize(reference).split()
    common = Counter(pred) & Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, rec = same / len(pred), same / len(gold)
    return 2 * precision * rec / (precision + rec)


def best_f1(answer: str, references: Sequence[str]) -> float:
    return max((f1_score(answer, r) for r in references), default=0.0)


def exact(answer: str, references: Sequence[str]) -> bool:
    norm = squad_normalize(strip_markers(answer))
    return any(norm == squad_normalize(r) for r in references)


def _answerable(records: Sequence[EvalSample]) -> list[EvalSample]:
    return [r for r in records if r.answerable and r.references]


def _answer_of(r: EvalSample) -> str:
    return "" if r.abstained or r.error else r.answer


def answer_contains(records: Sequence[EvalSample]) -> float | None:
    """Share of answerable questions whose answer contains a reference answer."""
    return _mean([float(credits_reference(_answer_of(r), r)) for r in _answerable(records)])


def token_f1(records: Sequence[EvalSample]) -> float | None:
    """Mean best token F1 over answerable questions."""
    return _mean([best_f1(_answer_of(r), r.references) for r in _answerable(records)])


def exact_match(records: Sequence[EvalSample]) -> float | None:
    """Share of answerable questions answered exactly (SQuAD EM)."""
    return _mean([float(exact(_answer_of(r), r.references)) for r in _answerable(records)])


# ---------------------------------------------------------------- faithfulness

def answer_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """Sentences of an answer with the citation numbers each carries.

    Markers written after the full stop ("... 2032. [1]") belong to the sentence before them.
    """
    text = markers_before_stop(answer)
    out = []
    for s, e in sentence_spans(text):
        sentence = text[s:e]
        ns = [n for m in MARKER.finditer(sentence) for n in marker_numbers(m.group())]
        if strip_markers(sentence).strip(" .!?;:"):
            out.append((sentence, list(dict.fromkeys(ns))))
    return out


@dataclass
class SentenceVerdict:
    """ALCE verdict of one answer sentence."""

    sentence: str
    cited: list[int]
    supported: bool
    precise: list[bool]  # one per cited number: needed and supportive


def _quotes(citations: Sequence[EvalCitation], ns: Sequence[int]) -> list[str]:
    by_n = {c.n: c.passage for c in citations}
    return [by_n[n] for n in ns if n in by_n]


def sentence_verdicts(sample: EvalSample, supports: SupportFn) -> list[SentenceVerdict]:
    """ALCE citation recall/precision per sentence; ``supports(sentence, passage)`` is the judge."""
    verdicts = []
    by_n = {c.n: c.passage for c in sample.citations}
    for sentence, ns in answer_sentences(sample.answer):
        cited = [n for n in ns if n in by_n]
        dangling = [n for n in ns if n not in by_n]
        joint = bool(cited) and supports(sentence, "\n".join(_quotes(sample.citations, cited)))
        precise: list[bool] = []
        if joint and len(cited) > 1:
            for n in cited:
                if supports(sentence, by_n[n]):
                    precise.append(True)
                    continue
                rest = [m for m in cited if m != n]
                precise.append(not supports(sentence, "\n".join(_quotes(sample.citations, rest))))
        else:
            precise = [joint] * len(cited)
        verdicts.append(SentenceVerdict(sentence, cited + dangling, joint, precise + [False] * len(dangling)))
    return verdicts


def _answered(records: Sequence[EvalSample]) -> list[EvalSample]:
    return [r for r in records if not r.abstained and not r.error and strip_markers(r.answer)]


def sample_citation_recall(sample: EvalSample, supports: SupportFn) -> float:
    v = sentence_verdicts(sample, supports)
    return sum(x.supported for x in v) / len(v) if v else 0.0


def sample_citation_precision(sample: EvalSample, supports: SupportFn) -> float:
    flags = [p for x in sentence_verdicts(sample, supports) for p in x.precise]
    return sum(flags) / len(flags) if flags else 0.0


def citation_recall(records: Sequence[EvalSample], supports: SupportFn) -> float | None:
    """ALCE citation recall, averaged over answered questions."""
    return _mean([sample_citation_recall(r, supports) for r in _answered(records)])


def citation_precision(records: Sequence[EvalSample], supports: SupportFn) -> float | None:
    """ALCE citation precision, averaged over answered questions (no citation: 0)."""
    return _mean([sample_citation_precision(r, supports) for r in _answered(records)])


def check_quote(citation: EvalCitation | dict[str, Any], document_text: str | None) -> bool:
    """The quote equals the document text at its offsets."""
    c = citation if isinstance(citation, EvalCitation) else EvalCitation.from_dict(citation)
    if document_text is None or not (0 <= c.start <= c.end <= len(document_text)):
        return False
    return bool(c.quote) and document_text[c.start : c.end] == c.quote


def quote_validity(records: Sequence[EvalSample]) -> float | None:
    """Share of all citations whose quote matched the stored text (None: no citations)."""
    flags = [ok for r in records for ok in r.quote_valid]
    return _mean([float(f) for f in flags])


# ---------------------------------------------------------------- wrong subject

OVERLAP_TOKENS = 5  # shared consecutive tokens that make a quote overlap an evidence string


def quote_overlaps(quote: str, evidence: str) -> bool:
    """The quote and the evidence share text: one holds the other, or they share a run of
    ``OVERLAP_TOKENS`` tokens (fewer when either is shorter), SQuAD-normalised."""
    q, e = squad_normalize(quote).split(), squad_normalize(evidence).split()
    if not q or not e:
        return False
    qs, es = f" {' '.join(q)} ", f" {' '.join(e)} "
    if es in qs or qs in es:
        return True
    n = min(OVERLAP_TOKENS, len(q), len(e))
    grams = {tuple(e[i : i + n]) for i in range(len(e) - n + 1)}
    return any(tuple(q[i : i + n]) in grams for i in range(len(q) - n + 1))


def cites_gold(sample: EvalSample) -> bool:
    """Some citation overlaps a gold evidence string, or contains a gold answer (from a gold
    source, when the sample names its sources)."""
    for c in sample.citations:
        if any(quote_overlaps(c.quote, e) for e in sample.evidence):
            return True
        if sample.references and credits_reference(c.quote, sample) and (
            not sample.sources or source_matches(c.source, sample.sources)
        ):
            return True
    return False


def answered_wrong_subject(sample: EvalSample) -> bool | None:
    """Did the answer address a different question than the one asked? None: cannot judge
    (the question raised an error, or is answerable but has neither evidence nor answers)."""
    if sample.error:
        return None
    answered = not sample.abstained and bool(strip_markers(sample.answer))
    if not sample.answerable:
        return answered
    if not (sample.evidence or sample.references):
        return None
    return answered and not cites_gold(sample)


def wrong_subject(records: Sequence[EvalSample]) -> float | None:
    """Share of judged questions answered about a different subject (lower is better)."""
    flags = [f for r in records if (f := answered_wrong_subject(r)) is not None]
    return _mean([float(f) for f in flags])


# ---------------------------------------------------------------- abstention and latency


def abstention_precision(records: Sequence[EvalSample]) -> float | None:
    """Of the questions the system declined, the share that were unanswerable."""
    declined = [r for r in records if r.abstained and not r.error]
    return _mean([float(not r.answerable) for r in declined])


def abstention_recall(records: Sequence[EvalSample]) -> float | None:
    """Of the unanswerable questions, the share the system declined."""
    return _mean([float(r.abstained and not r.error) for r in records if not r.answerable])


def triggered_correctly(sample: EvalSample) -> bool:
    """Answerable, answered, and some citation's quote overlaps a gold evidence string."""
    return (sample.answerable and not sample.abstained and not sample.error
            and bool(strip_markers(sample.answer))
            and any(quote_overlaps(c.quote, e) for c in sample.citations for e in sample.evidence))


def answer_trigger_f1(records: Sequence[EvalSample]) -> float | None:
    """WikiQA's answer triggering F1 (Yang et al., 2015): precision = correctly triggered /
    answered questions, recall = correctly triggered / answerable questions. None when no
    sample has evidence to judge by."""
    if not any(r.evidence for r in records):
        return None
    right = sum(triggered_correctly(r) for r in records)
    answered = len(_answered(records))
    answerable = sum(r.answerable for r in records)
    precision = right / answered if answered else 0.0
    rec = right / answerable if answerable else 0.0
    if precision + rec == 0:
        return 0.0
    return round(2 * precision * rec / (precision + rec), 6)


def latency_percentile(records: Sequence[EvalSample], q: float) -> float | None:
    """The q-th percentile of per-question latency in ms."""
    values = [r.latency_ms for r in records if r.latency_ms is not None]
    return round(float(np.percentile(values, q)), 2) if values else None


# ---------------------------------------------------------------- all at once


def compute_metrics(
    records: Sequence[EvalSample], supports: SupportFn, retrieval_only: bool = False
) -> dict[str, float | None]:
    """Every metric of :data:`METRICS`; answer metrics are None for a retrieval-only run."""
    return {
        name: None if retrieval_only and m.needs_answers else m.compute(records, supports)
        for name, m in METRICS.items()
    }


def counts(records: Sequence[EvalSample]) -> dict[str, int]:
    """How many questions each metric family was computed over."""
    return {
        "questions": len(records),
        "answerable": sum(r.answerable for r in records),
        "unanswerable": sum(not r.answerable for r in records),
        "with_gold": len(_retrieval_samples(records)),
        "answered": len(_answered(records)),
        "abstained": sum(r.abstained for r in records),
        "citations": sum(len(r.citations) for r in records),
        "errors": sum(bool(r.error) for r in records),
        # LLM mode: sentences the verifier removed, answers that fell back to extractive
        "removed_sentences": sum(r.removed_sentences for r in records),
        "llm_fallbacks": sum(FALLBACK_NOTE in r.note for r in records),
    }


def sample_scores(sample: EvalSample, supports: SupportFn, retrieval_only: bool = False) -> dict[str, Any]:
    """Per-question scores and an overall ``score`` in [0, 1] used to rank the worst questions."""
    s: dict[str, Any] = {}
    if retrieval_only:
        s = {"ndcg@10": round(ndcg(sample, 10), 6), "recall@100": round(recall(sample, 100), 6)}
        s["score"] = s["ndcg@10"]
        return s
    if sample.error:
        s["score"] = 0.0
        return s
    if (wrong := answered_wrong_subject(sample)) is not None:
        s["wrong_subject"] = wrong
    if not sample.answerable:
        s["abstained_correctly"] = sample.abstained
        s["score"] = 1.0 if sample.abstained else 0.0
        return s
    parts: list[float] = []
    if sample.has_gold:
        rank = first_relevant_rank(sample, 10)
        s["gold_rank"] = rank
        parts.append(1.0 / rank if rank else 0.0)
    if sample.references:
        s["contains"] = credits_reference(_answer_of(sample), sample)
        s["f1"] = round(best_f1(_answer_of(sample), sample.references), 6)
        parts += [float(s["contains"]), s["f1"]]
    if not sample.abstained and strip_markers(sample.answer):
        s["citation_recall"] = round(sample_citation_recall(sample, supports), 6)
        s["citation_precision"] = round(sample_citation_precision(sample, supports), 6)
        parts.append(s["citation_recall"])
    else:
        parts.append(0.0)  # declined an answerable question
    if sample.quote_valid and not all(sample.quote_valid):
        s["invalid_quotes"] = sum(not q for q in sample.quote_valid)
        parts.append(0.0)
    s["score"] = round(sum(parts) / len(parts), 6) if parts else 0.0
    return s


# ---------------------------------------------------------------- the table (report order)

R, C, F, A = "retrieval", "correctness", "faithfulness", "abstention"
for _metric_def in [
    Metric("hit@1", R, lambda rs, _: hit_at_k(rs, 1), "gold passage ranked first",
           needs_answers=False),
    Metric("hit@3", R, lambda rs, _: hit_at_k(rs, 3), "gold passage among the first 3 contexts",
           needs_answers=False),
    Metric("hit@5", R, lambda rs, _: hit_at_k(rs, 5), "gold passage among the first 5 contexts",
           needs_answers=False),
    Metric("mrr@10", R, lambda rs, _: mrr_at_k(rs, 10), "mean reciprocal rank of the gold passage",
           needs_answers=False),
    Metric("ndcg@10", R, lambda rs, _: ndcg_at_k(rs, 10), "nDCG@10 over graded qrels (BEIR)",
           needs_answers=False),
    Metric("recall@100", R, lambda rs, _: recall_at_k(rs, 100),
           "relevant documents in the top 100", needs_answers=False),
    Metric("answer_contains", C, lambda rs, _: answer_contains(rs), "answer contains a reference"),
    Metric("token_f1", C, lambda rs, _: token_f1(rs), "best SQuAD token F1"),
    Metric("exact_match", C, lambda rs, _: exact_match(rs), "SQuAD exact match"),
    Metric("citation_recall", F, citation_recall, "sentences supported by their citations (ALCE)"),
    Metric("citation_precision", F, citation_precision, "citations needed and supportive (ALCE)"),
    Metric("quote_validity", F, lambda rs, _: quote_validity(rs),
           "quotes equal the stored text (must be 1.0)", tolerance=0.0),
    Metric("abstention_precision", A, lambda rs, _: abstention_precision(rs),
           "abstentions on unanswerable questions"),
    Metric("abstention_recall", A, lambda rs, _: abstention_recall(rs),
           "unanswerable questions declined"),
    Metric("answer_trigger_f1", A, lambda rs, _: answer_trigger_f1(rs),
           "answer triggering F1 (WikiQA): answerable questions answered with a citation "
           "overlapping gold evidence, over answered (precision) and answerable (recall)"),
    Metric("wrong_subject", "subject", lambda rs, _: wrong_subject(rs),
           "answered a different question: unanswerable answered, or no citation holds "
           "the gold evidence or answer (lower is better)", higher_is_better=False),
    Metric("latency_p50_ms", "latency", lambda rs, _: latency_percentile(rs, 50),
           "median seconds per question, in ms", higher_is_better=False, gated=False,
           needs_answers=False),
    Metric("latency_p95_ms", "latency", lambda rs, _: latency_percentile(rs, 95),
           "95th percentile per question, in ms", higher_is_better=False, gated=False,
           needs_answers=False),
]:
    register(_metric_def)
