"""Turn an elliptical follow-up into a standalone question, without an LLM.

Retrieval and the answer-type check see only the resolved question, so "and until when?" after
"What rights does Microsoft keep?" must carry both the new ask ("until when") and the old
topic. Two rules:

* "what about X?" / "and X?" re-asks the previous question about X: the last name (or
  number) of the previous question is replaced by X, or X is appended when there is none.
* a short or anaphoric question ("how much did it pay?", "who verifies it?") is prefixed to
  the previous question: "until when: What rights does Microsoft keep?". The follow-up comes
  first so that its wh-word decides the answer type.

Anything else is a standalone question and is returned unchanged.
"""

from __future__ import annotations

import re

from rag.records import Turn
from rag.support import content_terms

MAX_DEPTH = 8  # earlier turns consulted when the previous question was itself a follow-up

_LEAD = re.compile(r"(?i)^(?:(?:and|but|so|also|then|ok|okay|and then|what else)\b[\s,]*)+")
_ABOUT = re.compile(
    r"(?i)^(?:(?:and|but|so|ok|okay)[\s,]+)?(?:what|how) about\s+(?P<x>.+?)[\s?.!]*$"
)
_WH = re.compile(r"(?i)\b(?:who|whom|whose|what|when|where|which|why|how)\b")
_VERBISH = re.compile(
    r"(?i)^(?:is|are|was|were|do|does|did|can|could|will|would|should|has|have|had|may|might|"
    r"must)\b"
)
_PRONOUN = re.compile(
    r"(?i)\b(?:it|its|itself|they|them|their|theirs|themselves|he|him|his|she|her|hers)\b"
)
# Pronouns that point at the articles or at nothing: "does it say", "is it true that".
_DUMMY = re.compile(
    r"(?i)\b(?:(?:does|do|did) (?:it|they) (?:say|mention|state|tell)|is it (?:true|possible|"
    r"likely|the case|known)|they say)\b"
)
# "this deal", "that one", "about that?": a demonstrative before a lower-case word or at the end.
_DEMONSTRATIVE = re.compile(r"\b(?i:this|that|these|those)\b(?=\s+[a-z]|\s*[?.!]*$)")
_NAME = re.compile(r"\b[A-Z][\w&-]*(?:\.[\w&-]+)*(?:\s+[A-Z][\w&-]*(?:\.[\w&-]+)*)*")
_NUMBER = re.compile(r"[$€£]?\d+(?:[.,]\d+)*%?")
MAX_SHORT_TERMS = 1  # a question with at most this many content words can't stand alone


def _strip(text: str) -> str:
    return text.strip().rstrip("?.! ").strip()


def is_followup(question: str) -> bool:
    """True when the question leans on an earlier turn."""
    q = " ".join(question.split())
    if _ABOUT.match(q) or _LEAD.match(q):
        return True
    if _PRONOUN.search(_DUMMY.sub(" ", q)) or _DEMONSTRATIVE.search(q):
        return True
    return len(content_terms(q)) <= MAX_SHORT_TERMS


def _substitute(previous: str, x: str) -> str:
    """``previous`` asked about ``x`` instead: replace its last number or name by x."""
    x = _strip(x)
    first = re.match(r"\s*\S+", previous)
    body_start = first.end() if first else 0  # the first word is the wh-word or auxiliary
    pattern = _NUMBER if _NUMBER.fullmatch(x) else _NAME if x[:1].isupper() else None
    if pattern is not None:
        found = [m for m in pattern.finditer(previous, body_start)
                 if m.group().lower() != x.lower()]
        if found:
            m = found[-1]
            return previous[: m.start()] + x + previous[m.end():]
    return f"{_strip(previous)}, and what about {x}?"


def _resolve(question: str, history: list[Turn], depth: int) -> tuple[str, str]:
    """(resolved question, the standalone question it builds on)."""
    q = " ".join(question.split())
    earlier = [t for t in history if t.question and t.question.strip()]
    if not earlier or depth >= MAX_DEPTH or not is_followup(q):
        return q, q
    _, base = _resolve(earlier[-1].question, earlier[:-1], depth + 1)
    m = _ABOUT.match(q)
    if m is None:
        lead = _LEAD.match(q)
        rest = _strip(q[lead.end():] if lead else q)
        if lead and rest and not _WH.search(rest) and not _VERBISH.match(rest) \
                and len(rest.split()) <= 4:
            m = re.match(r"(?P<x>.+)", rest)  # "and Amazon?" reads as "what about Amazon?"
        elif rest:
            return f"{rest}: {base}", base
        else:
            return base, base
    resolved = _substitute(base, m.group("x"))
    return resolved, resolved


def resolve_followup(question: str, history: list[Turn]) -> str:
    """A standalone version of ``question`` given the earlier turns (most recent last)."""
    return _resolve(question, history or [], 0)[0]
