"""The default answer step: quote the sentences of the retrieved passages that answer, no LLM.

Every answer sentence is an exact slice of a stored document, so citations can't drift.
Sentences are scored by embedding cosine with the question, idf-weighted overlap of content
words, the passage's retrieval rank and whether the sentence has the kind of answer asked for
(rag/answer/answer_types.py). Below a calibrated threshold, or when no sentence has the right kind of
answer, the generator abstains instead of quoting something loosely related.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Literal

import numpy as np

from rag.answer.answer_types import (
    AnswerType,
    asked_noun,
    asks_for_list,
    has_answer_type,
    is_yes_no,
    question_type,
)
from rag.answer.candidates import W_COS, W_LEX, W_RANK, ScoredSentence
from rag.answer.checks import ANSWER_TYPE, VETO_KINDS, failed_kinds, soft_groups
from rag.answer.constraints import PASSAGE_CACHE, Check, Constraints, contains
from rag.answer.generator import RuleBasedCondense
from rag.answer.informal import tidy
from rag.answer.newer import asked_year, prefer_newer, without_time
from rag.answer.question import known_names, parse
from rag.answer.reader import Reader, bundled_reader, pair_text
from rag.answer.scorer import AnswerScorer, feature_vector, has_bundled
from rag.answer.table_ops import (
    TableQuestion,
    coordinated,
    describes,
    extreme_answer,
    introduces_table,
    names_no_row,
    parse_table_question,
    row_extreme,
    row_fit,
    row_matches,
    table_years,
    threshold_answer,
    years_answer,
)
from rag.errors import ConfigError
from rag.language.aliases import expand_query
from rag.language.aliases import merge as merge_aliases
from rag.language.fields import field_lines
from rag.language.tables import Row, table_rows
from rag.language.text import normalize, quote_spans, words
from rag.language.textrules import FULL_MONTHS, NUMBER_WORDS, content_terms, is_year
from rag.records import Answer, Chunk, Citation, Hit, Turn
from rag.sentence_vectors import SentenceVectors
from rag.storage.embeddings import Embedder

log = logging.getLogger(__name__)

# Abstain when the best sentence scores below this. Calibrated with eval/train/calibrate_abstention.py
# (all-MiniLM-L6-v2, k=5): the abstention-F1 optimum over 641 questions, 300 SQuAD v1.1 dev
# questions answerable from the ingested half of the articles, 300 about the other half, and
# the golden set's 54. SQuAD at 0.537: abstention precision 0.92, recall 0.96; golden set: 0.41
# and 0.54 (its near-miss questions share names and wording with the article). A penalty for
# question names missing from the sentence was tried and did not help (BENCHMARKS.md).
DEFAULT_THRESHOLD = 0.537

# Score = W_COS * cosine + W_LEX * lexical + W_RANK * rank prior + type bonus/penalty,
# times HEADLINE_FACTOR for headlines and labels. Without an embedder, lexical stands in for
# cosine, so the threshold keeps roughly its meaning.
TYPE_BONUS = 0.05
TYPE_PENALTY = 0.15
HEADLINE_FACTOR = 0.8
MARGIN = 0.08  # extra sentences must score within this of the best one
# A yes/no question is answered only by a sentence holding at least this share of its words.
MIN_YES_NO_COVERAGE = 0.34
SCORER_MARGIN = 0.15  # the same, in the learned scorer's probability
MIN_NOVELTY = 0.5  # ... and bring at least this share of content words not already quoted
# Only the best sentences by the cheap signals (lexical, rank, answer type) are embedded: the
# forward pass over every sentence of k passages cost more than the rest of an ask together.
# Chosen by measurement (BENCHMARKS.md, "Extractive answer cost").
MAX_EMBEDDED = 8
# With sentence vectors stored at ingest, all candidates are ranked by them and only this many
# get a forward pass at question time (BENCHMARKS.md, "Sentence vectors from ingest").
MAX_REFINED = 5
MAX_LEXICAL = 2  # ... plus the best by words among the rest
# The reader (rag/answer/reader.py) reads this many eligible sentences per question, the best by the
# cheap signals first, in one batch; the rest keep READER_FLOOR, a logit no answer gets.
MAX_READ = 6
# A table row answers from this probability unless a threshold is set. The scorer was
# calibrated on sentences; on TAT-QA's tune excerpts with their generated near misses (450
# questions, 432 variants) 0.4 answers 0.791 (table part 0.728) vs 0.782 (0.696) at the
# scorer's 0.5, with near misses abstained 0.773 vs 0.782 (0.3: 0.791 / 0.769). BENCHMARKS.md.
ROW_THRESHOLD = 0.4
CACHE_SIZE = 5000  # sentence vectors kept between questions (about 1.7 KB each; 20000 let
# a long-running server hold ~35 MB of them, BENCHMARKS.md "A server's memory")

MAX_HEADLINE_WORDS = 20
_CLOSERS = r"[\"'”’)\]]*$"  # quotes and brackets that may follow a sentence's last mark
_TERMINAL = re.compile(rf"[.!?…]{_CLOSERS}")
_ASKS = re.compile(rf"\?{_CLOSERS}")


def asks(text: str) -> bool:
    """A sentence that ends in a question mark asks rather than tells: a news subhead ("Who
    were the Knights Templar?", "What happened at the 2026 BAFTAs?") shares the question's
    words and says nothing. On the development sets such a quote never held the answer
    (BENCHMARKS.md, "Two rules measured on news")."""
    return bool(_ASKS.search(text.strip()))


def is_headline(text: str) -> bool:
    """Headlines, bylines and labels: short with no closing punctuation, or too short to
    answer. A long line without a full stop is a sentence cut short ("... [citation needed")."""
    n = len(text.split())
    return n < 4 or (not _TERMINAL.search(text) and n <= MAX_HEADLINE_WORDS)


def calibrate(
    scores_answerable: Sequence[float], scores_unanswerable: Sequence[float], metric: str = "f1"
) -> float:
    """The threshold (abstain when score < threshold) that maximizes abstention F1, or balanced
    accuracy with ``metric="balanced"``. Ties go to the middle of the best range."""
    pos = np.sort(np.asarray(scores_unanswerable, dtype=float))  # should abstain
    neg = np.sort(np.asarray(scores_answerable, dtype=float))  # should answer
    if not len(pos) or not len(neg):
        raise ValueError("calibrate needs both answerable and unanswerable scores")
    values = np.unique(np.concatenate([pos, neg]))
    cuts = np.concatenate([[values[0] - 1e-6], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]])
    tp = np.searchsorted(pos, cuts, side="left")  # unanswerable with score < cut: abstained
    fp = np.searchsorted(neg, cuts, side="left")  # answerable wrongly abstained
    fn = len(pos) - tp
    if metric == "f1":
        quality = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
    elif metric == "balanced":
        quality = (tp / len(pos) + (len(neg) - fp) / len(neg)) / 2
    else:
        raise ValueError(f"unknown metric {metric!r}; use 'f1' or 'balanced'")
    best = np.flatnonzero(np.isclose(quality, quality.max()))
    return float((cuts[best[0]] + cuts[best[-1]]) / 2)


# Constraints on wording (the asked verb or event, or what a holder has) that only
# discriminate when some passage uses the word: when none does, the documents say it in other
# words ("Who created Animal Locomotion?" - "Muybridge's photographs of Animal Locomotion"), and
# the decision is left to the scorer.
_WORDING = ("verb:", "event:", "possessed:")


def _relax_unmet(cands: list[ScoredSentence]) -> None:
    """Drop wording constraints that no candidate meets (see ``_WORDING``)."""
    unmet = [p for p in _WORDING
             if all(any(f.startswith(p) for f in c.check.failed) for c in cands)]
    if not unmet:
        return
    for c in cands:
        failed = tuple(f for f in c.check.failed if not f.startswith(tuple(unmet)))
        if failed != c.check.failed:
            c.check = replace(c.check, ok=not failed, failed=failed)


_ASKS_MAKEUP = re.compile(
    r"^\W*what\b.*\b(?:include|includes|included in|excluded from|exclude|excludes|"
    r"consists? of|comprises?|made up of|composed of)\b|"
    r"^\W*how (?:is|are|was|were|do|does|did) .*\b(?:calculated|derived|determined|computed|"
    r"defined|reckoned|arrived at)\b", re.IGNORECASE)


def _eligibility(cands: list[ScoredSentence], kind: AnswerType, question: str,
                 yesno: bool, veto: frozenset[str] = VETO_KINDS) -> None:
    """Which candidates may answer (``typed``): they keep to the question's constraints, are
    body sentences (a headline summarises; the sentence it summarises is cited) that tell
    rather than ask, have the asked-for kind of answer, and pass the two rules below."""
    _relax_unmet(cands)
    for c in cands:
        c.failed_kinds = failed_kinds(c.check, has_answer_type(kind, c.text, question))
        c.soft_failed = soft_groups(c.failed_kinds, veto)
        c.typed = not c.headline and not asks(c.text) and not c.failed_kinds & veto
    closest = max(cands, key=lambda c: c.lexical)
    echoed = any(f.startswith("unspecified:") for f in closest.check.failed)
    elsewhere = closest.asked == 1.0 and any(f.startswith(("entity:", "role:"))
                                             for f in closest.check.failed)
    # "What year ...", "In what city ...": the answer type says what is asked, not the noun.
    if kind is AnswerType.ANY and (echoed or elsewhere) \
            and not any(c.asked == 1.0 and not c.failed_kinds & veto for c in cands):
        # The passage closest to the question names what it asks about only in passing ("...
        # that meet capability criteria."), or says which one of someone else ("OpenAI can
        # provide API access to US government customers" for Microsoft's customers): a sentence
        # without it can't say it either.
        for c in cands:
            if c.asked == 0.0:
                c.typed = False
    if yesno:  # a yes/no question is answered by a sentence that states what it asks
        for c in cands:
            if c.coverage < MIN_YES_NO_COVERAGE:
                c.typed = False
    if _ASKS_MAKEUP.search(question):
        # "What does the recorded investment include?", "How is the TCE rate derived?": what
        # a thing is made of, or how it is reckoned, is said in words; a row of its figures
        # names it without answering (a table's list of rows still may)
        for c in cands:
            if c.row is not None and c.row.kind == "row":
                c.typed = False


def _units(chunk: Chunk, lists: bool = False) -> list[tuple[int, int, Row | None]]:
    """The answer units of a chunk as (start, end, row) in chunk offsets: its sentences, and
    each data row of a table whole (a row is never cut at a full stop inside a cell); with
    ``lists`` (a question asking for several items) also each group of rows and each table."""
    rows = table_rows(chunk.text, chunk.start, chunk.tables) if chunk.tables else []
    if not lists:
        rows = [r for r in rows if r.kind == "row"]
    if not rows:
        return [(s, e, None) for s, e in quote_spans(chunk.text)]
    out: list[tuple[int, int, Row | None]] = [
        (r.start - chunk.start, r.end - chunk.start, r) for r in rows]
    tables = [(t.start - chunk.start, t.end - chunk.start) for t in chunk.tables]
    for s, e in quote_spans(chunk.text):
        if not any(a <= s < b for a, b in tables):  # inside a table only rows are units
            out.append((s, e, None))
    return sorted(out, key=lambda u: (u[0], u[1]))


# A table states the dates its figures are for once, in a caption, a heading or the sentence
# introducing it ("at December 31, 2019 and 2018:"), never in each row.
_ROW_SCOPE_KINDS = ("month:", "time:")
_ROW_HEADING_KINDS = frozenset({"measure", "measured"})
_JOINS = re.compile(r"(?i)\band\b|[,&]")


def _says_label(question: str, c: ScoredSentence) -> bool:
    """Does the question say the unit's row label word for word ("the total provision for
    income taxes": "Provision for income taxes")?"""
    if c.row is None or c.row.kind != "row" or not words(c.row.label):
        return False
    return f" {' '.join(words(c.row.label))} " in f" {' '.join(words(question))} "


def _same_table(a: ScoredSentence, b: ScoredSentence) -> bool:
    """Are both data rows of one table?"""
    return a.row is not None and b.row is not None and a.row.kind == b.row.kind == "row" \
        and a.hit.chunk.source == b.hit.chunk.source and a.row.table.start == b.row.table.start


def _row_check(check: Check, row: Row, passage: str) -> Check:
    """A row keeps to a month or time the question names when its table's headings or the
    passage around it name it; to a year, too, when its columns have no headings that say
    which years they are (a heading row the loader could not read); to a name when its
    table's headings give it, or the word of what it measures ("Revenue from external
    customers by country" heads the column of "UK": the UK row is revenue); to the day of a
    date when its headings or passage give the date."""
    headings = normalize(row.table.heading_line())
    scope = f"{headings}\n{normalize(passage)}"
    undated = not any(is_year(w) for col in row.table.columns for w in words(col))

    def met(failure: str) -> bool:
        kind, _, value = failure.partition(":")
        if failure.startswith(_ROW_SCOPE_KINDS):
            return value in scope
        if kind == "entity":
            return contains(headings, value)
        if kind in _ROW_HEADING_KINDS:  # a measure's word, or its stem
            return bool(re.search(rf"(?<!\w){re.escape(value)}", headings))
        if kind == "number" and value.isdigit() and 1 <= int(value) <= 31:
            # the day of a date the question names ("at December 31, 2019"), said by the
            # table's headings or its passage ("December31," as a PDF glues it)
            return bool(re.search(rf"\b(?:{FULL_MONTHS})\.?\s?{value}\b", scope))
        return kind == "number" and undated and is_year(value) and value in scope

    failed = tuple(f for f in check.failed if not met(f))
    return check if failed == check.failed else replace(check, ok=not failed, failed=failed)


def _unit_vector(stored: SentenceVectors | None, start: int, end: int,
                 row: Row | None) -> np.ndarray | None:
    """The stored vector of a unit; a group or table has the mean of its rows' vectors."""
    if stored is None:
        return None
    own = stored.get(start, end)
    if own is not None or row is None or row.kind == "row":
        return own
    inside = [stored.vectors[i] for i, (s, e) in enumerate(stored.spans)
              if start <= s and e <= end]
    if not inside:
        return None
    mean = np.mean(inside, axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm else None


_ABOUT_TABLE = re.compile(r"\b(?:in|of|by|does|do|under) (?:the|this) tables?\b|"
                          r"\bthe tables? (?:shows?|lists?|provides?|includes?|covers?|"
                          r"presents?|reports?)\b", re.IGNORECASE)
_EMPHASIS = re.compile(r"[*_]{1,3}(?=\S)|(?<=\S)[*_]{1,3}")


def _field_text(line: str, heading: str) -> str:
    """A field line as it is read and matched: under its heading or the document's title
    ("Travel policy — Valid from: 12 January 2025"), Markdown emphasis left out."""
    plain = " ".join(_EMPHASIS.sub("", line).split())
    return f"{heading} — {plain}" if heading and heading.lower() not in plain.lower() else plain


def cell_answer(row: Row, question: str) -> str:
    """A row as an answer: the cells of the columns the question names ("Annual, Team:
    $150"), or the whole row when it names none (or all) of them. A year or number the
    question names decides first: asked about 2018, the "Year ended 31 December 2019" column
    is not it, however many other words it shares with the question."""
    if row.kind != "row":
        return row.readable()
    asked = set(content_terms(question))
    asked_nums = {w for w in words(question) if w.isdigit()}
    asked_years = {w for w in asked_nums if is_year(w)} | _years_between(question)
    values = row.values()

    def fit(col: str) -> tuple[int, int, int]:
        nums = {w for w in words(col) if w.isdigit()}
        years = {w for w in nums if is_year(w)}
        if asked_years and years and not years & asked_years:
            return (-1, 0, 0)  # another year's column
        return (len(years & asked_years), len(nums & asked_nums),
                len(asked & set(content_terms(col))))

    fits = [fit(col) for col, _ in values]
    best = max(fits, default=(0, 0, 0))
    picked = [v for v, f in zip(values, fits, strict=True) if f == best and f > (0, 0, 0)]
    # "the respective values ... less than one year and between 2-5 years": every column the
    # question names outright (each of its numbers and words, "one" read as 1) is asked for
    spelled = set(asked) | asked_nums | {NUMBER_WORDS[w] for w in asked if w in NUMBER_WORDS}
    named = [v for v in values if _names_column(v[0], spelled)]
    if len(named) >= 2 and not asked_years:
        picked = named
    if len(asked_years) >= 2:
        # "in 2019 and 2018", "fiscal years 2019 to 2017": each year's best columns, though
        # one year's heading shares a word with the question that the other's lacks
        per_year = []
        for year in asked_years:
            own = [(f, v) for v, f in zip(values, fits, strict=True)
                   if f[0] > 0 and year in words(v[0])]
            top = max((f for f, _ in own), default=None)
            per_year += [v for f, v in own if f == top]
        if per_year:
            picked = [v for v in values if v in per_year]
    if not picked or len(picked) == len(values):
        return row.readable()
    if len(picked) == 1:
        col, cell = picked[0]
        return f"{col}, {row.label}: {cell}" if row.label else f"{col}: {cell}"
    return f"{row.label} — " + "; ".join(f"{col}: {cell}" for col, cell in picked)


_PERIOD_WORDS = frozenset(content_terms("year years month months day days period"))


def _names_column(heading: str, spelled: set[str]) -> bool:
    """Does the question name this column outright: each number and word of its heading but
    the period's unit ("Less Than 1 Year": less, 1)?"""
    own = (set(content_terms(heading)) | {w for w in words(heading) if w.isdigit()}) \
        - _PERIOD_WORDS
    return bool(own) and own <= spelled


_NUMBERS = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")
_YEAR_RANGE = re.compile(r"\b((?:19|20)\d\d)\s*(?:to|through|-|–)\s*((?:19|20)\d\d)\b")


def _years_between(question: str) -> set[str]:
    """The years a range in the question spans ("2019 to 2017": 2017, 2018 and 2019)."""
    out: set[str] = set()
    for a, b in _YEAR_RANGE.findall(question):
        lo, hi = sorted((int(a), int(b)))
        if hi - lo <= 10:
            out |= {str(y) for y in range(lo, hi + 1)}
    return out


@lru_cache(maxsize=PASSAGE_CACHE)
def topic_text(text: str, start: int, end: int) -> str:
    """The passage outside one of its sentences, without headlines and labels: where a name
    that only scopes the question may be found (rag/answer/constraints.py)."""
    rest = [line for line in (text[:start] + "\n" + text[end:]).splitlines()
            if line.strip() and not is_headline(line.strip())]
    return "\n".join(rest)


class ExtractiveGenerator(RuleBasedCondense):
    """Answers with up to ``max_sentences`` quoted sentences, or abstains; follow-ups are
    rewritten by the rule-based resolver (rag/answer/followup.py)."""

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder | None = None,
        max_sentences: int = 3,
        threshold: float | None = None,
        max_embedded: int = MAX_EMBEDDED,
        max_refined: int = MAX_REFINED,
        max_lexical: int = MAX_LEXICAL,
        scorer: AnswerScorer | None | Literal["bundled"] = "bundled",
        reader: Reader | None | Literal["bundled"] = "bundled",
        max_read: int = MAX_READ,
        veto: frozenset[str] = VETO_KINDS,
    ) -> None:
        self.embedder = embedder
        self.veto = veto  # check kinds that remove a sentence alone (rag/answer/checks.py)
        # The reader scores (question, sentence) pairs for the learned scorer; the hand-set
        # weights don't use it, and the learned scorer can't do without it (it was trained
        # with it), so a reader that can't load means the hand-set weights.
        self.reader: Reader | None = bundled_reader() if reader == "bundled" else reader  # type: ignore[assignment]
        self.max_read = max(0, max_read)
        # The learned scorer (rag/answer/scorer.py) when one is bundled; ``scorer=None`` keeps the
        # hand-set weights below (the comparison in BENCHMARKS.md, and the training features).
        if scorer == "bundled":
            try:
                scorer = AnswerScorer.load() if has_bundled() else None
            except ConfigError as exc:  # a stale file: answer with the hand-set weights
                log.warning("%s", exc)
                scorer = None
        self.scorer: AnswerScorer | None = scorer  # type: ignore[assignment]
        if self.scorer is not None and "reader" in self.scorer.features and self.reader is None:
            log.warning("the answer scorer needs the reader, which is not available; "
                        "answering with the hand-set weights")
            self.scorer = None
        default = self.scorer.threshold if self.scorer is not None else DEFAULT_THRESHOLD
        self.margin = SCORER_MARGIN if self.scorer is not None else MARGIN
        self.max_embedded = max_embedded if max_embedded > 0 else 10**9
        self.max_refined = max(0, max_refined)
        self.max_lexical = max(0, max_lexical)
        self.max_sentences = max(1, max_sentences)
        self.threshold = default if threshold is None else threshold
        # a threshold the user sets holds for every unit; the learned scorer's own has a
        # lower one for rows (ROW_THRESHOLD was calibrated on its probabilities)
        self.row_threshold = ROW_THRESHOLD if threshold is None and self.scorer is not None \
            else self.threshold
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    # ---- scoring ------------------------------------------------------------------------------
    @staticmethod
    def constraints(question: str, hits: list[Hit]) -> Constraints:
        """The question's constraints, with the aliases and names of the retrieved documents."""
        return parse(question, aliases=merge_aliases(h.aliases for h in hits),
                     known_names=known_names([h.chunk.text for h in hits]
                                             + [h.title for h in hits]))

    def candidates(self, question: str, hits: list[Hit]) -> list[ScoredSentence]:
        """Every distinct sentence of the hits, scored against the question, best first.
        ``typed`` is true only for sentences that have the asked-for kind of answer *and*
        keep to the question's constraints (rag/answer/constraints.py)."""
        # Read as meant: "whens" is "when is", "exclusivty" the documents' "exclusivity".
        question = tidy(question, [h.chunk.text for h in hits])
        kind = question_type(question)
        yesno = is_yes_no(question)
        cons = self.constraints(question, hits)
        cands = self._sentences(question, cons, hits)
        if not cands:
            return []
        # Acronyms the documents spell out count in both forms ("PBC" and "public benefit
        # corporation"), as in retrieval (citewise/app.py uses the same expansion).
        expanded = expand_query(question, merge_aliases(h.aliases for h in hits))
        folded = normalize(expanded)
        self._lexical(" ".join([expanded, *(e.label for e in cons.entities
                                            if e.label not in folded)]), cands)  # msft: microsoft
        _eligibility(cands, kind, question, yesno, self.veto)
        n = max(len(hits), 1)
        if self.embedder is None:  # lexical stands in for cosine
            for c in cands:
                c.cosine = c.lexical
            self._score(kind, cands, n, yesno)
        else:
            qvec = self._vectors([cons.canonical or expanded], query=True)[0]
            stored = all(c.vector is not None and c.vector.shape == qvec.shape for c in cands)
            if stored:
                cands = self._rank_by_stored_vectors(cands, qvec, kind, n, yesno)
            elif len(cands) > self.max_embedded:
                cands = self._cheapest_first(cands, n)
            if not stored or self.max_refined > 0:
                self._refine(cands, qvec, kind, n, yesno)
        # The reader reads the question as the embedder does: short forms written as the names
        # the documents use ("how much of oai does msft own" -> "... openai ... microsoft").
        if self._read(cons.canonical or expanded, cands):
            self._score(kind, cands, n, yesno)
        cands.sort(key=lambda c: -c.score)
        return cands

    def _read(self, question: str, cands: list[ScoredSentence]) -> bool:
        """The reader's logit for the best eligible sentences (one batch); False when it
        read nothing."""
        if self.reader is None or self.max_read == 0:
            return False
        chosen = sorted((c for c in cands if c.typed), key=lambda c: -c.cheap)[: self.max_read]
        if not chosen:
            return False
        logits = self.reader.score(question, [pair_text(c.text, c.before, c.hit.title)
                                              for c in chosen])
        for c, v in zip(chosen, logits, strict=True):
            c.reader = float(v)
        return True

    def _sentences(self, question: str, cons: Constraints, hits: list[Hit]
                   ) -> list[ScoredSentence]:
        """Each distinct sentence of the hits once, with its constraint check."""
        wh_noun = asked_noun(question)
        listing = asks_for_list(question)
        found: dict[tuple[str, int, int], ScoredSentence] = {}
        ends = {(h.chunk.source, h.chunk.end): h.chunk.text for h in hits}
        for rank, hit in enumerate(hits):
            chunk = hit.chunk
            before = ""
            # a chunk that starts in the middle of a paragraph (one space after the chunk
            # before it, when that one was retrieved too) leans on that chunk's sentences:
            # "The unrealized losses were primarily due to ..." are 2018's
            lead = ends.get((chunk.source, chunk.start - 1), "")
            lead = f"{lead} " if lead else ""
            voice = " | ".join(hit.voice)
            fields = field_lines(chunk.text)
            for s, e, row in _units(chunk, lists=listing):
                key = (chunk.source, chunk.start + s, chunk.start + e)
                quote = chunk.text[s:e]
                if key in found:
                    before = quote
                    continue
                stored = chunk.sentence_vectors
                field = row is None and any(a <= s and e <= b for a, b in fields)
                text = row.readable() if row is not None else \
                    _field_text(quote, chunk.section_at(chunk.start + s) or hit.title) if field \
                    else quote
                terms = content_terms(text)
                check = cons.check(text, lead + chunk.text[:s], topic=topic_text(chunk.text, s, e),
                                   title=hit.title, voice=voice, published=hit.published)
                if row is not None and check.failed:
                    check = _row_check(check, row, chunk.text)
                found[key] = ScoredSentence(
                    hit=hit, rank=rank, start=key[1], end=key[2], quote=quote,
                    terms=terms, typed=False,
                    # a form field or column line ("Owner: Jane Roe   Due: 30 Sept") states a
                    # fact though it has no full stop; a headline or label doesn't
                    headline=row is None and not field and is_headline(quote),
                    check=check,
                    asked=0.5 if wh_noun is None else float(wh_noun in terms),
                    vector=_unit_vector(stored, s, e, row),
                    # a row's context is its table's caption and headings
                    before=row.table.heading_line() if row is not None else before,
                    text=text, row=row,
                )
                before = quote
        return list(found.values())

    def _rank_by_stored_vectors(self, cands: list[ScoredSentence], qvec: np.ndarray,
                                kind: AnswerType, n: int, yesno: bool) -> list[ScoredSentence]:
        """Sentence vectors from ingest rank every candidate for free; the best few (possible
        answers first: a sentence that breaks a constraint can't be one) are refined."""
        for c in cands:
            c.cosine = float(c.vector @ qvec)  # type: ignore[operator]
        self._score(kind, cands, n, yesno)
        if self.max_refined == 0:  # stored vectors only
            return cands
        # A sentence that a question check vetoes can never be quoted: no forward pass for it.
        # (Its answer type is not asked here: a sentence beside the answer needs none, and the
        # LLM verifier lets such neighbours stand in a two-sentence span.)
        cands = [c for c in cands if not (c.failed_kinds - {ANSWER_TYPE}) & self.veto] or cands
        by_score = sorted(cands, key=lambda c: (not c.typed, -c.score))[: self.max_refined]
        # ... and the closest in words: a pooled vector can rank a sentence that states the
        # question's words in other company ("Microsoft can pursue AGI development alone")
        # below the shortlist.
        rest = sorted((c for c in cands if c not in by_score),
                      key=lambda c: (not c.typed, -c.lexical))[: self.max_lexical]
        return by_score + rest

    def _cheapest_first(self, cands: list[ScoredSentence], n: int) -> list[ScoredSentence]:
        """Without stored vectors, only the best by the cheap signals get a forward pass."""
        def cheap(c: ScoredSentence) -> float:
            return c.lexical + W_RANK * (1 - c.rank / n) + (TYPE_BONUS if c.typed else 0.0)

        return sorted(cands, key=lambda c: (c.typed, cheap(c)), reverse=True)[: self.max_embedded]

    def _refine(self, cands: list[ScoredSentence], qvec: np.ndarray, kind: AnswerType, n: int,
                yesno: bool) -> None:
        """A forward pass of each sentence of its own: the sharper cosine."""
        svecs = self._vectors([c.text for c in cands])
        for c, cos in zip(cands, svecs @ qvec, strict=True):
            c.cosine = float(cos)
        self._score(kind, cands, n, yesno)

    def _score(self, kind: AnswerType, cands: list[ScoredSentence], n: int,
               yesno: bool = False) -> None:
        for c in cands:
            c.rank_prior = 1 - c.rank / n
            if self.scorer is not None:
                c.score = self.scorer.probability(
                    feature_vector(c, kind is not AnswerType.ANY, c.coverage, yesno))
                continue
            score = W_COS * c.cosine + W_LEX * c.lexical + W_RANK * c.rank_prior
            if kind is not AnswerType.ANY:
                score += TYPE_BONUS if c.typed else -TYPE_PENALTY
            c.score = score * (HEADLINE_FACTOR if c.headline else 1.0)

    @staticmethod
    def _lexical(question: str, cands: list[ScoredSentence]) -> None:
        """Idf-weighted share of the question's content words that the sentence contains; idf
        is computed over the candidates, so a word found in none (e.g. "Tesla") weighs most."""
        qterms = set(content_terms(question))
        if not qterms:
            return
        df = Counter(t for c in cands for t in set(c.terms) & qterms)
        n = len(cands)
        idf = {t: math.log(1 + n / (df[t] + 0.5)) for t in qterms}
        total = sum(idf.values())
        for c in cands:
            shared = qterms.intersection(c.terms)
            c.lexical = sum(idf[t] for t in shared) / total
            c.coverage = len(shared) / len(qterms)
            own = set(c.terms)
            c.novelty = len(own - qterms) / len(own) if own else 0.0

    def _vectors(self, texts: list[str], query: bool = False) -> np.ndarray:
        """Embeddings, cached by text: the same passages come back question after question.
        Questions are cached by the embedder itself (retrieval has just embedded this one)."""
        assert self.embedder is not None
        if query:
            return np.stack([self.embedder.embed_query(t) for t in texts])
        with self._lock:
            cached = {t: self._cache[t] for t in texts if t in self._cache}
        missing = list(dict.fromkeys(t for t in texts if t not in cached))
        if missing:
            new = np.asarray(self.embedder.embed_documents(missing), dtype=np.float32)
            with self._lock:
                for t, v in zip(missing, new, strict=True):
                    cached[t] = self._cache[t] = v
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return np.stack([cached[t] for t in texts])

    def best_score(self, question: str, hits: list[Hit]) -> float:
        """The score the abstention threshold is compared with (for calibration)."""
        typed = [c for c in self.candidates(question, hits) if c.typed]
        return typed[0].score if typed else 0.0

    # ---- selection ----------------------------------------------------------------------------
    def select(self, question: str, hits: list[Hit]) -> list[ScoredSentence]:
        """The sentences to quote, in reading order; empty means abstain."""
        return self.select_dated(question, hits)[0]

    def select_dated(self, question: str, hits: list[Hit]) -> tuple[list[ScoredSentence], str]:
        """``select``'s sentences, from the newest of dated documents that disagree on the
        answer (or the older one, asked for the earlier value; rag/answer/newer.py), with the note
        that names the other document."""
        cands = self.candidates(question, hits)
        chosen = self._select(question, cands)
        plain = without_time(question)
        # only dates can decide between versions: an undated collection's "in 2019" question
        # ("What was revenue in 2019?", most of TAT-QA's) is not answered twice
        if plain != question and any(h.published for h in hits):
            # "What was the fare originally?": an old article says "the fare is", so the
            # earlier value is found as the plain question's, then chosen by its date; when no
            # dated documents disagree, the question is answered as asked
            p_cands = self.candidates(plain, hits)
            p_chosen = self._select(plain, p_cands)
            picked, note = prefer_newer(question, p_chosen, p_cands, self._answers)
            if note:
                return picked, note
            # "What did a pass cost in 2024?" with no sentence that names 2024: an article
            # published in 2024 that says what it costs answers, its date says the year its
            # present tense means (a sentence naming the year, as a report's table row does,
            # is preferred: it was chosen above)
            year = asked_year(question)
            if year and not chosen and p_chosen \
                    and all((c.hit.published or "")[:4] == year for c in p_chosen):
                return p_chosen, ""
        return prefer_newer(question, chosen, cands, self._answers)

    def _answers(self, c: ScoredSentence) -> bool:
        """May ``c`` answer on its own: the right kind, its constraints hold, no headline,
        scored at or above the threshold."""
        return c.typed and c.check.ok and not c.headline and c.score >= self._threshold(c)

    def _select(self, question: str, cands: list[ScoredSentence]) -> list[ScoredSentence]:
        typed = [c for c in cands if c.typed]
        if not typed or typed[0].score < self._threshold(typed[0]):
            if cands:
                log.debug("abstain: best %.3f < %.3f (typed: %d of %d) for %r",
                          typed[0].score if typed else 0.0, self.threshold, len(typed),
                          len(cands), question)
            return self._with_listing(question, cands, [])  # "Which years does the table show?"
        best = self._named_row(question, typed)
        chosen = [best]
        named = _says_label(question, best)
        # What a further sentence must add is judged on the words the question doesn't have:
        # "IP rights now exclude consumer hardware" adds to a sentence about what IP rights
        # keep, though both repeat "Microsoft's IP rights".
        asked_terms = set(content_terms(question))
        seen = set(best.terms) | asked_terms
        for c in cands:
            if len(chosen) >= self.max_sentences or c.score < best.score - self.margin:
                break
            if c is best or c.headline or c.score < self._threshold(c) or not c.terms \
                    or not c.check.ok:
                continue
            if named and _same_table(c, best) and not _says_label(question, c):
                continue  # the question names the quoted row: the rows beside it are not asked
            own = set(c.terms) - asked_terms
            novelty = len(own - seen) / len(own) if own else 0.0
            if novelty < MIN_NOVELTY:
                continue
            chosen.append(c)
            seen.update(c.terms)
        return self._with_listing(question, cands, chosen)

    def _named_row(self, question: str, typed: list[ScoredSentence]) -> ScoredSentence:
        """The best unit, or, when it is a table row, a row of its table scored near it whose
        own label the question says word for word: "the total provision for income taxes" is
        the row "Provision for income taxes", not "Total current" under "Current provision for
        income taxes", which the score ranks first."""
        best = typed[0]
        if best.row is None or best.row.kind != "row":
            return best
        near = [c for c in typed if _same_table(c, best)
                and c.score >= max(best.score - self.margin, self._threshold(c))]
        return max(near, key=lambda c: (_says_label(question, c), c.score))

    def _threshold(self, c: ScoredSentence) -> float:
        """The abstention threshold; a table row has its own (see ROW_THRESHOLD)."""
        return self.threshold if c.row is None else self.row_threshold

    def _with_listing(self, question: str, cands: list[ScoredSentence],
                      chosen: list[ScoredSentence]) -> list[ScoredSentence]:
        """Add a table's or group's list of rows to a list question's answer (see select).
        A question about "the table" ("Which years does the table show?") is answered by the
        table's own list even below the threshold: it asks about the table, not a fact."""
        about_table = bool(_ABOUT_TABLE.search(question))
        if asks_for_list(question) and len(chosen) < self.max_sentences:
            # Several items are asked for: a list of a table's rows that may answer is quoted
            # too, though a sentence that names the kind of item scores higher.
            listing = next((c for c in cands if c.typed and c.row is not None
                            and c.row.kind != "row" and c not in chosen
                            and (c.score >= self.threshold or about_table)), None)
            if listing is not None:
                chosen.append(listing)
        if not chosen:
            return []
        source_order = {c.hit.chunk.source: i for i, c in reversed(list(enumerate(chosen)))}
        chosen.sort(key=lambda c: (source_order[c.hit.chunk.source], c.start))
        return chosen

    # ---- comparisons within a table (rag/answer/table_ops.py) ----------------------------------
    def table_answer(self, question: str, hits: list[Hit]
                     ) -> list[tuple[ScoredSentence, str]] | None:
        """The units to quote with what each says, for a question a table answers by comparing
        its cells ("In which year was X less than 100?"); None for any other question, or when
        no row fits it well enough (the question is then answered as any other)."""
        tq = parse_table_question(question)
        if tq is None or not any(h.chunk.tables for h in hits):
            return None
        # the best units by score (what the question is about), and every unit of the hits
        # (the candidates are cut to the best few; a table's other rows are compared too)
        cands = self.candidates(tq.rest, hits)
        cons = self.constraints(tq.rest, hits)
        units = self._sentences(tq.rest, cons, hits)
        score = {(c.hit.chunk.source, c.start): c.score for c in cands}

        def scored(c: ScoredSentence) -> float:
            return score.get((c.hit.chunk.source, c.start), -1.0)

        # (a sentence ending in a colon has no full stop but is no headline: "... as follows:")
        intro = [c for c in units if c.row is None and introduces_table(c.quote)
                 and (not c.headline or c.quote.rstrip().endswith(":")
                      and len(c.quote.split()) >= 4)]
        if tq.op == "about":  # the sentence that says what the table is
            named = sorted(intro, key=lambda c: (-scored(c), c.start))
            return [(named[0], named[0].quote)] if named else None
        best = next((c for c in cands if c.row is not None and c.row.kind == "row"), None)
        if best is None or not self._table_states(tq, best, cons):
            return None
        if tq.op == "row_extreme":
            return self._row_extreme(tq, best, units)
        # what the table is about: its caption and headings, the sentences introducing it,
        # the headings of its passages ("In which years was X recorded?" of a table of X)
        table = best.row.table  # type: ignore[union-attr]
        about = " ".join([table.caption, *table.columns,
                          *(c.quote for c in intro), *(c.quote for c in units
                                                       if c.headline and c.row is None)])
        if tq.op == "years" and (names_no_row(tq.rest) or describes(tq.rest, about)):
            return self._table_years(best)
        # a row that holds most of what the question names, and no name it lacks
        rows = [c for c in units if c.row is not None and c.row.kind == "row"
                and row_matches(tq.rest, c.row)
                and not any(f.startswith(("entity:", "role:")) for f in c.check.failed)]
        rows.sort(key=lambda c: (row_fit(tq.rest, c.row), scored(c)), reverse=True)  # type: ignore[arg-type]
        for c in rows[:1]:
            row = c.row
            assert row is not None
            said = threshold_answer(row, tq) if tq.op == "threshold" else \
                extreme_answer(row, tq) if tq.op == "extreme" else years_answer(row)
            if said:
                return [(c, said)]
        return None

    def coordinated_rows(self, question: str, hits: list[Hit]
                         ) -> list[tuple[ScoredSentence, str]] | None:
        """"What were the net sales of the International and Foodservice segments?": a row per
        name the question joins with "and", each with the cells asked for. No one unit names
        them all, so the name check refuses each row on its own. None unless one table has a
        row for every name, the years asked among its columns and at least half of the
        question's other words in its headings or its document's retrieved passages (the
        question is then answered as any other)."""
        # names are joined by "and", "&" or a comma: without one, no parse is needed
        if not any(h.chunk.tables for h in hits) or not _JOINS.search(question):
            return None
        cons = self.constraints(question, hits)
        joined = coordinated(normalize(cons.question), [sorted(e.forms) for e in cons.entities])
        if not joined:
            return None
        names = [cons.entities[i] for i in joined]
        found: dict[tuple[str, int], dict[int, list[ScoredSentence]]] = {}
        for c in self._sentences(question, cons, hits):
            if c.row is None or c.row.kind != "row":
                continue
            own = [k for k, e in enumerate(names) if e.found_in(normalize(c.row.label))]
            if len(own) == 1:
                key = (c.hit.chunk.source, c.row.table.start)
                found.setdefault(key, {}).setdefault(own[0], []).append(c)
        rest = normalize(cons.question)
        for e in names:
            for f in e.forms:
                rest = re.sub(rf"(?<!\w){re.escape(f)}(?!\w)", " ", rest)
        asked_years = {w for w in words(rest) if is_year(w)}
        for per_name in sorted(found.values(), key=lambda t: min(c.rank for cs in t.values()
                                                                  for c in cs)):
            if len(per_name) < len(names):
                continue
            picked = [min(per_name[k], key=lambda c: (len(c.row.label), c.start))  # type: ignore[union-attr]
                      for k in range(len(names))]
            table = picked[0].row.table  # type: ignore[union-attr]
            if not asked_years <= set(words(" ".join(table.columns))):
                return None
            source = picked[0].hit.chunk.source
            around = " ".join([table.heading_line(), *(h.chunk.text for h in hits
                                                       if h.chunk.source == source)])
            words_asked = re.sub(r"\d+", " ", rest)  # the years are checked above
            if not names_no_row(words_asked) and not describes(words_asked, around, share=0.5):
                return None
            return [(c, cell_answer(c.row, question)) for c in picked]  # type: ignore[arg-type]
        return None

    @staticmethod
    def _table_states(tq: TableQuestion, best: ScoredSentence, cons: Constraints) -> bool:
        """The best row's table and passage have every name, year and number the question
        gives (outside its bound): "the U.S. Earnings" of a table of exchange rates to the
        dollar is not in it."""
        passage = f"{best.row.table.heading_line()} {best.hit.chunk.text}"  # type: ignore[union-attr]
        folded = normalize(passage)
        if not all(any(f in folded for f in e.forms) for e in cons.entities):
            return False
        have = {n.replace(",", "") for n in _NUMBERS.findall(passage)}
        asked = {n.replace(",", "") for n in _NUMBERS.findall(tq.rest)}
        return asked <= have

    @staticmethod
    def _table_years(best: ScoredSentence) -> list[tuple[ScoredSentence, str]] | None:
        """"Which years does the table cover?": its columns' years, citing its heading rows
        (the best row when they are not in the passage)."""
        table = best.row.table  # type: ignore[union-attr]
        years = table_years(table)
        if not years:
            return None
        chunk = best.hit.chunk
        unit = best
        if chunk.start <= table.start and table.body <= chunk.end:
            quote = chunk.text[table.start - chunk.start: table.body - chunk.start].rstrip()
            unit = replace(best, start=table.start, end=table.start + len(quote), quote=quote,
                           row=None)
        return [(unit, f"{years} ({table.caption})" if table.caption else years)]

    @staticmethod
    def _row_extreme(tq: TableQuestion, best: ScoredSentence, units: list[ScoredSentence]
                     ) -> list[tuple[ScoredSentence, str]] | None:
        """The row that leads the asked column of the best row's table."""
        table = best.row.table  # type: ignore[union-attr]
        source = best.hit.chunk.source
        rows = [c for c in units if c.row is not None and c.row.kind == "row"
                and c.hit.chunk.source == source and c.row.table.start == table.start]
        found = row_extreme([c.row for c in rows], tq)  # type: ignore[misc]
        if found is None:
            return None
        winner, lead = found
        unit = next(c for c in rows if c.row is winner)
        return [(unit, f"{lead}: {winner.readable()}")]

    # ---- Generator protocol -------------------------------------------------------------------
    def _build(self, question: str, hits: list[Hit]) -> tuple[list[str], Answer]:
        computed = self.table_answer(question, hits) or self.coordinated_rows(question, hits)
        if computed:
            chosen, note = [c for c, _ in computed], ""
            said_by = {id(c): said for c, said in computed}
        else:
            chosen, note = self.select_dated(question, hits)
            said_by = {}
        if not chosen:
            answer = Answer.abstention(question, hits)
            return [answer.answer], answer
        pieces, citations = [], []
        for n, c in enumerate(chosen, 1):
            said = said_by.get(id(c)) or (c.quote if c.row is None else cell_answer(c.row, question))
            pieces.append(f"{said} [{n}] ")
            citation = Citation.from_span(n, c.hit, c.start, c.end, c.quote)
            if c.row is not None:  # what the row's cells mean, shown with the quote
                citation.table = c.row.context_line()
            citations.append(citation)
        answer = Answer(question=question, answer="".join(pieces).rstrip(), abstained=False,
                        citations=citations, contexts=list(hits), note=note)
        return pieces, answer

    def generate(self, question: str, hits: list[Hit], history: list[Turn] | None = None) -> Answer:
        """``question`` is already standalone (follow-ups are resolved by the pipeline)."""
        return self._build(question, hits)[1]

    def stream(
        self, question: str, hits: list[Hit], history: list[Turn] | None = None
    ) -> Iterator[str | Answer]:
        """Sentence by sentence ("quote [n] "), then the Answer."""
        pieces, answer = self._build(question, hits)
        yield from pieces
        yield answer
