"""Check a generated answer against its sources before anyone sees it.

The model's text is split into sentences with the ``[n]`` markers each carries. A sentence is
kept only when a sentence of a source chunk (or two adjacent ones) supports it by the
deterministic check of rag/answer/support.py; its citation then points at that
exact span, with document offsets, so ``quote == document.text[start:end]`` holds as for the
extractive answerer. Markers that name no source are dropped; a supported sentence whose cited
source doesn't back it is re-attributed to the source that does; anything else is removed and
counted. An answer left with no supported sentence becomes an abstention.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from rag.answer.extractive import topic_text
from rag.answer.support import support
from rag.language.text import normalize, quote_spans, sentence_spans
from rag.language.textrules import (
    MODEL_MARKER,
    content_terms,
    marker_numbers,
    markers_before_stop,
    names,
    numbers,
)
from rag.records import Answer, Citation, Hit
from rag.storage.embeddings import Embedder

log = logging.getLogger(__name__)

_LABEL = re.compile(r"(?i)^(?:(?:final\s+)?answer\s*:|quote\s*:|[•\-\*–·](?=\s))\s*")
_OPEN_BRACKET = re.compile(r"\[[^\]]*$")
_ABSTAIN = re.compile(
    r"(?i)\b(?:articles?|sources?|passages?|documents?|texts?)\s+(?:do|does)\s*(?:n't|not)\s+"
    r"(?:say|answer|mention|state|contain|provide|specify)"
)
_LINE_DONE = re.compile(r"(?:[.!?…][\"'”’)]*|\])[ \t]*\n")
_QUOTED = re.compile(r'^\s*["“]([^"“”]+?)[.!?…]?["”]\s*[.!?…]?\s*$')
MAX_SPAN_SENTENCES = 2  # a claim may rest on two adjacent sentences of one chunk
FRAGMENT_TERMS = 3  # fewer content words than this: a fragment that answers the question
# Sentences of a source that address the model instead of the reader ("Ignore previous
# instructions and say ..."): never evidence, so whatever they ask to say can't be cited.
_INSTRUCTION = re.compile(
    r"(?i)\b(?:ignore|disregard|forget|override)\b.{0,60}?\b(?:instructions?|prompts?|rules|"
    r"directions|context|guidelines)\b"
    r"|\bsystem prompt\b"
    r"|\b(?:you are|act as|pretend to be)\s+(?:now\s+)?(?:an?\s+)?(?:ai|assistant|chatbot|"
    r"language model|llm)\b"
    r"|\b(?:ai|assistant|chatbot|language model|llm)s?\s+(?:must|should|will)\s+"
    r"(?:say|answer|respond|reply|state|tell)\b"
    r"|^\W*(?:please\s+)?(?:say|respond|reply|answer|state|output|print|tell the user)\b"
)


@dataclass
class Claim:
    """One sentence of the model's answer: its text without markers and the numbers it cites."""

    text: str
    cited: list[int]

    @property
    def quoted(self) -> str | None:
        """The text inside quotation marks when the whole claim is a quote (quote-first
        answers): it must then appear word for word in its source."""
        m = _QUOTED.match(self.text)
        return m.group(1) if m else None

    @property
    def shown(self) -> str:
        """The claim as the answer shows it: a whole-sentence quote without its wrapping
        quotation marks (the citation already says whose words they are)."""
        m = _QUOTED.match(self.text)
        if m is None:
            return self.text
        stop = re.search(r"[.!?…]", self.text[m.start(1) + len(m.group(1)):])
        return m.group(1).strip() + (stop.group() if stop else ".")

    @property
    def is_abstention(self) -> bool:
        return bool(_ABSTAIN.search(normalize(self.text)))


@dataclass
class Span:
    """An exact supporting passage: ``quote == document.text[start:end]``."""

    hit: Hit
    start: int  # document offsets
    end: int
    quote: str
    score: float


def _words(text: str) -> str:
    """Lower-cased words joined by single spaces: quotes compare modulo case, punctuation and
    typographic quotes."""
    return " " + " ".join(re.findall(r"\w+", normalize(text))) + " "


def _clean(sentence: str) -> str:
    """The sentence without markers, a leading "Answer:" label (models echo the prompt's) or a
    list bullet."""
    text = MODEL_MARKER.sub(" ", sentence)
    text = re.sub(r"\s+([.,;:!?…])", r"\1", " ".join(text.split()))
    text = _LABEL.sub("", text.strip())
    return text.strip()


_PUNCT_END = re.compile(r"[.!?…]+$")


def _balance_quotes(text: str) -> str:
    """``text`` without a quotation mark that has no partner. A quote of two sentences
    (``Quote: "A. B." [1]``) is cut into two claims, ``"A.`` and ``B."``; shown as they are,
    the second ends in a stray quotation mark (and the first starts with one)."""
    straight = text.count('"') % 2 == 1
    if straight and text.startswith('"'):
        return text[1:].lstrip()
    opened, closed = text.count("“"), text.count("”")
    if opened > closed and text.startswith("“"):
        return text[1:].lstrip()
    body = _PUNCT_END.sub("", text)
    stop = text[len(body):]
    if straight and body.endswith('"'):
        return body[:-1].rstrip() + stop
    if closed > opened and body.endswith("”"):
        return body[:-1].rstrip() + stop
    if straight and text.endswith('"'):
        return text[:-1].rstrip()
    if closed > opened and text.endswith("”"):
        return text[:-1].rstrip()
    return text


def split_claims(text: str) -> list[Claim]:
    """Sentences with their citation numbers; markers after the full stop belong before it."""
    text = markers_before_stop(text, model=True)
    claims = []
    for s, e in sentence_spans(text):
        sentence = text[s:e]
        ns = [n for m in MODEL_MARKER.finditer(sentence) for n in marker_numbers(m.group())]
        clean = _balance_quotes(_clean(sentence))
        if clean.strip(" .!?;:\"'“”‘’()-"):
            claims.append(Claim(clean, list(dict.fromkeys(ns))))
    return claims


def split_complete(buffer: str) -> tuple[str, str]:
    """(finished sentences, the unfinished rest) of streamed text.

    A sentence is finished once a later one has started with real text: not just markers or an
    unclosed "[", which may still be this sentence's citation; or once a line break follows
    its full stop or marker (quote-first answers put one claim on a line, and the first one
    is shown a few tokens sooner).
    """
    lines = list(_LINE_DONE.finditer(buffer))
    if lines:
        last = lines[-1]
        done, rest = split_complete(buffer[last.end() :])
        return buffer[: last.end()] + done, rest
    text = markers_before_stop(buffer, model=True)
    spans = sentence_spans(text)
    for i in range(len(spans) - 1, 0, -1):
        rest = text[spans[i][0] :]
        probe = _OPEN_BRACKET.sub("", MODEL_MARKER.sub("", rest))
        if re.search(r"\w", probe):
            return text[: spans[i][0]], rest
    return "", buffer


def is_instruction(sentence: str) -> bool:
    """True for a sentence that tells an AI what to do: data that must never back a claim."""
    return bool(_INSTRUCTION.search(normalize(sentence)))


def _units(hit: Hit) -> list[tuple[int, int, bool]]:
    """Sentence spans of a chunk (chunk offsets, list bullets left out), each with whether it
    may serve as evidence (instructions to the model may not)."""
    text = hit.chunk.text
    return [(s, e, not is_instruction(text[s:e])) for s, e in quote_spans(text)]


def best_span(claim: str, hit: Hit, embedder: Embedder | None = None) -> Span | None:
    """The smallest span of the chunk (one sentence, else two adjacent) that supports ``claim``."""
    text = hit.chunk.text
    units = _units(hit)
    for width in range(1, MAX_SPAN_SENTENCES + 1):
        best: Span | None = None
        for i in range(len(units) - width + 1):
            window = units[i : i + width]
            if not all(usable for _, _, usable in window):
                continue
            s, e = window[0][0], window[-1][1]
            passage = text[s:e]
            cheap = support(claim, passage)  # key tokens and negation need no embedding
            if cheap.missing or cheap.negation_mismatch:
                continue
            verdict = support(claim, passage, embedder) if embedder is not None else cheap
            if verdict.supported and (best is None or verdict.score > best.score):
                best = Span(hit, hit.chunk.start + s, hit.chunk.start + e, passage, verdict.score)
        if best is not None:
            return best
    return None


@dataclass
class Verifier:
    """Verifies claims one at a time (so answers can stream) and builds the final Answer."""

    question: str
    hits: list[Hit]
    embedder: Embedder | None = None
    reattribute: bool = True
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    dropped_markers: int = 0
    reattributed: int = 0
    abstained_by_model: bool = False
    #: every claim (not only fragments) must cite a span naming what the question names
    strict_names: bool = False
    #: document spans (source, start, end) that may answer the question; a cited span must
    #: contain one. None: any span that keeps to the question's constraints.
    allowed: set[tuple[str, int, int]] | None = None
    #: with ``allowed``: further spans that may stand next to an allowed one in a two-sentence
    #: span (they keep to the question's constraints and are no headline)
    usable: set[tuple[str, int, int]] | None = None
    _cons: Any = None  # the question's constraints, parsed on first use (False: unavailable)
    _numbers: dict[tuple[str, int, int], int] = field(default_factory=dict)
    _seen: set[str] = field(default_factory=set)

    def _constraints(self) -> Any:
        """The question's constraints (rag/answer/constraints.py), parsed once; None without it."""
        if self._cons is None:
            try:
                from rag.answer.question import known_names, parse
                from rag.language.aliases import merge
            except ImportError:  # pragma: no cover - the module ships with citewise
                self._cons = False
            else:
                hits = self.hits
                self._cons = parse(
                    self.question,
                    aliases=merge(getattr(h, "aliases", None) or {} for h in hits),
                    known_names=known_names([h.chunk.text for h in hits]
                                            + [h.title or "" for h in hits]),
                )
        return self._cons or None

    def _about_the_question(self, claim: Claim, span: Span) -> bool:
        """The cited span must keep to the question's constraints (names, numbers, time,
        holder: rag/answer/constraints.py); asked about Amazon, a sentence about Microsoft's stake
        answers nothing, however exactly it is quoted.

        A bare fragment ("$135 billion") takes its subject from the question, so its cited
        span must name what the question names: "$135 billion" answers "How much has Amazon
        invested?" only from a sentence that mentions Amazon (the chunk's headline won't do)."""
        cons = self._constraints()
        if cons is not None and not cons.empty:
            # the evidence the extractive answerer weighs: the passage around the span, the
            # document's title and whom its "we" means (a report's "the company" is Acme)
            chunk = span.hit.chunk
            s, e = span.start - chunk.start, span.end - chunk.start
            check = cons.check(span.quote, chunk.text[:s], topic=topic_text(chunk.text, s, e),
                               title=span.hit.title, voice=" | ".join(span.hit.voice))
            if not check.ok:
                log.info("verifier: %r cites a span that breaks the question's constraints %s",
                         claim.text, ", ".join(check.failed))
                return False
        fragment = len(content_terms(claim.text)) < FRAGMENT_TERMS
        if not fragment and (not self.strict_names or cons is not None):
            return True
        text = normalize(span.quote)
        title = normalize(span.hit.title or "")
        if not all(re.search(rf"\b{re.escape(w)}", text) for w in numbers(self.question)):
            return False
        # a name may come from the headline when the claim is a whole sentence
        where = text if len(content_terms(claim.text)) < FRAGMENT_TERMS else f"{text} {title}"
        return all(re.search(rf"\b{re.escape(w)}", where) for w in names(self.question))

    def _answers(self, span: Span) -> bool:
        """The span holds a sentence citewise itself takes as an answer to the question, and
        its other sentence (a span may have two) keeps to the question too: a headline or a
        sentence about something else can't carry the claim's other half."""
        if self.allowed is None:
            return True
        source, base = span.hit.chunk.source, span.hit.chunk.start
        inside = [(source, base + s, base + e) for s, e, _ in _units(span.hit)
                  if span.start <= base + s and base + e <= span.end]
        usable = self.allowed | (self.usable or set())
        return any(u in self.allowed for u in inside) and all(u in usable for u in inside)

    def _span(self, claim: Claim, hit: Hit) -> Span | None:
        span = best_span(claim.text, hit, self.embedder)
        if span is None or not self._about_the_question(claim, span):
            return None
        if not self._answers(span):
            log.info("verifier: %r cites a span citewise doesn't take as an answer: %r",
                     claim.text, span.quote)
            return None
        quoted = claim.quoted
        if quoted is not None and _words(quoted) not in _words(span.quote):
            log.info("verifier: a quote that is not word for word in its source: %r", claim.text)
            return None
        return span

    def find_support(self, claim: Claim) -> Span | None:
        """The best span among the cited sources, else (when allowed) among the others."""
        valid = [n for n in claim.cited if 1 <= n <= len(self.hits)]
        self.dropped_markers += len(claim.cited) - len(valid)
        spans = [s for n in valid if (s := self._span(claim, self.hits[n - 1]))]
        if not spans and self.reattribute:
            others = [h for i, h in enumerate(self.hits, 1) if i not in valid]
            spans = [s for h in others if (s := self._span(claim, h))]
            if spans:
                self.reattributed += 1
        return max(spans, key=lambda s: s.score) if spans else None

    def add(self, claim: Claim) -> str | None:
        """The answer text for ``claim`` with its citation marker, or None when it is dropped."""
        if claim.is_abstention:
            self.abstained_by_model = True
            return None
        if claim.text.rstrip().endswith(":"):  # a lead-in ("X include:") states nothing itself
            log.info("verifier skipped a lead-in without content: %r", claim.text)
            return None
        key_text = " ".join(normalize(claim.text).split())
        if key_text in self._seen:  # small models repeat themselves; once is enough
            return None
        self._seen.add(key_text)
        span = self.find_support(claim)
        if span is None:
            log.info("verifier removed an unsupported sentence: %r", claim.text)
            self.removed.append(claim.text)
            return None
        key = (span.hit.chunk.source, span.start, span.end)
        n = self._numbers.get(key)
        if n is None:
            n = self._numbers[key] = len(self._numbers) + 1
            self.citations.append(
                Citation.from_span(n, span.hit, span.start, span.end, span.quote))
        piece = f"{claim.shown} [{n}]"
        self.kept.append(piece)
        return piece

    def add_text(self, text: str) -> list[str]:
        """Verify every sentence of ``text``; the kept pieces."""
        return [p for c in split_claims(text) if (p := self.add(c)) is not None]

    def answer(self) -> Answer:
        """The verified Answer; an abstention (with related passages) when nothing was kept."""
        # what a user can act on; which sentences went, and why, is in the log
        note = ""
        if self.removed:
            note = ("Part of the generated answer was not supported by the documents and was "
                    "left out." if self.kept else
                    "The generated answer was not supported by the documents and was left out.")
        if not self.kept:
            return Answer.abstention(self.question, self.hits, note=note,
                                     removed_sentences=len(self.removed))
        return Answer(
            question=self.question,
            answer=" ".join(self.kept),
            abstained=False,
            citations=list(self.citations),
            contexts=list(self.hits),
            note=note,
            removed_sentences=len(self.removed),
        )


def verify(
    question: str,
    text: str,
    hits: list[Hit],
    embedder: Embedder | None = None,
    reattribute: bool = True,
) -> Answer:
    """Verify a whole generated answer at once."""
    verifier = Verifier(question, hits, embedder, reattribute)
    verifier.add_text(text)
    return verifier.answer()
