"""Newer facts over older ones (issue 26): when dated documents disagree on what was asked.

A figure corrected by a later story, a policy's new version, this quarter's number, a role that
changed hands: the older and the newer document both answer, in nearly the same words, with
different values. Asked plainly ("What is the ferry fare?"), the answer comes from the newest
document (nothing published after the question's as-of day is retrieved at all) and a note names
the older one and what it said. Asked for the earlier value ("What was the fare originally?",
"... before the change?", "... in 2024?"), the answer comes from the older one.

Two sentences disagree when both answer (right kind of answer, the question's constraints
hold, scored at or above the abstention threshold), they come from different documents with
different dates, they say nearly the same thing (cosine of their sentence vectors, or the words
they share when a vector is missing) and the values in them (numbers for amounts, dates and
shares; names for who and where) differ. Undated documents never take part.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rag.answer.answer_types import AnswerType, question_type
from rag.language.text import normalize
from rag.language.textrules import NUMBER_WORDS, content_terms, names, numbers

SAME_COSINE = 0.6  # two sentences' vectors at least this close say the same thing
SAME_TERMS = 0.4  # ... or this share of their content words (values left out) in common
# The question asks for the value before a change, not the current one.
_EARLIER = re.compile(
    r"\b(?:originally|initially|at first|at the start|first (?:announced|reported|planned|set|"
    r"proposed|stated|published)|previously|formerly|prior to|used to|earlier|"
    r"before (?:the|it|its|they|their|this) (?:was |were )?(?:change|changed|update|updated|"
    r"revision|revised|correction|corrected|amendment|amended|increase|cut|rise|new))\b")
_YEAR_ASKED = re.compile(r"\b(?:in|during|for|as of) ((?:19|20)\d\d)\b")
# what without_time removes: "first" of "first reported", the other cues whole, "in 2024"
_EARLIER_FIRST = re.compile(r"(?i)\bfirst(?= (?:announced|reported|planned|set|proposed|"
                            r"stated|published)\b)")
_EARLIER_DROP = re.compile(
    r"(?i)\b(?:originally|initially|at first|at the start|previously|formerly|earlier|"
    r"before (?:the|it|its|they|their|this) (?:was |were )?(?:change|changed|update|updated|"
    r"revision|revised|correction|corrected|amendment|amended|increase|cut|rise|new))\b")
_YEAR_DROP = re.compile(r"(?i)\b(?:in|during|for|as of) (?:19|20)\d\d\b")


def asks_earlier(question: str) -> bool:
    return bool(_EARLIER.search(normalize(question)))


def asked_year(question: str) -> str:
    """The year a question asks about ("in 2024"), or ""."""
    m = _YEAR_ASKED.search(normalize(question))
    return m.group(1) if m else ""


def _values(kind: AnswerType, sentence: str, question: str) -> set[str]:
    """What in ``sentence`` may be the answer: numbers for amounts, shares and dates (and for
    questions of no particular kind), names for people and places; minus what the question
    itself says."""
    if kind in (AnswerType.PERSON, AnswerType.PLACE):
        asked = names(question) | set(content_terms(question))
        return names(sentence) - asked
    return _numbers(sentence) - _numbers(question)


def _numbers(text: str) -> set[str]:
    """Numbers, written in digits or as words ("three days" is 3 days; the lexicon's
    NUMBER_WORDS)."""
    words = {NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", normalize(text)) if w in NUMBER_WORDS}
    return numbers(text) | words


def _same_claim(a: Any, b: Any, kind: AnswerType, question: str) -> bool:
    va, vb = getattr(a, "vector", None), getattr(b, "vector", None)
    if va is not None and vb is not None:
        denom = float(np.linalg.norm(va) * np.linalg.norm(vb)) or 1.0
        if float(np.dot(va, vb)) / denom >= SAME_COSINE:
            return True
    skip = _values(kind, a.text, question) | _values(kind, b.text, question)
    ta, tb = set(a.terms) - skip, set(b.terms) - skip
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) >= SAME_TERMS


def _date(c: Any) -> str:
    return (c.hit.published or "")[:10]


def prefer_newer(question: str, chosen: list[Any], cands: Sequence[Any],
                 answers: Callable[[Any], bool]) -> tuple[list[Any], str]:
    """``chosen`` (the extractive answerer's sentences) or the sentence of a newer (or, when
    asked, older) document that disagrees with it; and the note that names the other one.
    ``answers(c)``: the answerer's own test that ``c`` may answer (kind, constraints, score)."""
    if not chosen:
        return chosen, ""
    best = max(chosen, key=lambda c: c.score)
    if not _date(best):
        return chosen, ""
    kind = question_type(question)
    mine = _values(kind, best.text, question)
    if not mine:
        return chosen, ""
    rivals = [c for c in cands
              if c.hit.chunk.source != best.hit.chunk.source and _date(c) and _date(c) != _date(best)
              and answers(c) and (v := _values(kind, c.text, question)) and v != mine
              and _same_claim(best, c, kind, question)]
    if not rivals:
        return chosen, ""
    dated = [best, *rivals]
    year = asked_year(question)
    in_year = [c for c in dated if year and _date(c)[:4] == year]
    if in_year:
        pick = max(in_year, key=_date)
    elif asks_earlier(question):
        pick = min(dated, key=_date)
    else:
        pick = max(dated, key=_date)
    others = sorted((c for c in dated if c.hit.chunk.source != pick.hit.chunk.source),
                    key=_date, reverse=True)
    other = others[0]
    when = "An earlier" if _date(other) < _date(pick) else "A later"
    title = other.hit.title or other.hit.chunk.source
    note = (f"{when} article, “{title}” ({_date(other)}), said: “{' '.join(other.quote.split())}”")
    # the disagreeing documents' sentences go; the picked one's stay beside it
    gone = {c.hit.chunk.source for c in dated} - {pick.hit.chunk.source}
    kept = [c for c in chosen if c.hit.chunk.source not in gone and c is not pick]
    return [pick, *kept], note


def without_time(question: str) -> str:
    """The question without what asks for an earlier value or a year ("originally", "before
    the change", "in 2024"): which of the dated versions answers is decided by their dates
    (prefer_newer), not by the words of a sentence, which an old article doesn't write in the
    past tense."""
    q = _EARLIER_FIRST.sub("", question)
    q = _EARLIER_DROP.sub("", q)
    q = _YEAR_DROP.sub("", q)
    return re.sub(r"\s+([?.!,])", r"\1", " ".join(q.split()))


# "now" in a question: not a bare "current", which reports use for "due within a year"
# ("current receivables", measured on TAT-QA)
_NOW = re.compile(r"\b(?:currently|now|today|at present|presently|latest|still|these days|"
                  r"right now|as it stands|the current)\b")
STALE_DAYS = 365  # an answer about "now" from a document older than this says its date


def stale_note(question: str, published: Sequence[str], as_of: str) -> str:
    """For a question about the current state answered only from documents published more than
    STALE_DAYS before ``as_of``: a note with the newest one's date (the answer may be out of
    date; nothing newer in the documents says otherwise)."""
    from datetime import date

    dates = [p[:10] for p in published if p]
    if not dates or len(dates) != len(published) or not _NOW.search(normalize(question)):
        return ""
    newest = max(dates)
    try:
        age = (date.fromisoformat(as_of[:10]) - date.fromisoformat(newest)).days
    except ValueError:
        return ""
    if age <= STALE_DAYS:
        return ""
    return (f"This answer is as of {newest}, the date of the newest document that answers it; "
            "nothing newer in the documents says otherwise.")
