"""Reading questions typed in a hurry: "whens msft's azure api exclusivty end".

Two repairs, both made only for matching (the question shown to the user is never changed):

* glued wh-contractions ("whens", "whats", "wheres", "whos", "hows") become "when is" ...,
  so the answer type (a date, a place) is still recognised;
* a word the documents never use, one edit (insert, delete, substitute or swap two letters)
  away from exactly one word they do use, is read as that word ("exclusivty" ->
  "exclusivity"). Only words of five letters or more that are not English words themselves
  (the bundled embedding model's WordPiece vocabulary serves as the dictionary), never words
  written with a capital, numbers or stop words: "county" is not a misspelt "country", and a
  short word has too many neighbours to guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from rag.answer.constraints import PASSAGE_TEXT_CACHE
from rag.language.textrules import STOPWORDS_ALL, english_words

_CONTRACTION = re.compile(r"\b(when|what|where|who|how)s\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][a-z]{4,}")
MIN_LENGTH = 5


def expand_contractions(question: str) -> str:
    """"whens X" -> "when is X"."""
    return _CONTRACTION.sub(lambda m: f"{m.group(1)} is", question)


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by exactly one insertion, deletion, substitution or
    swap of two neighbouring letters."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] \
            and a[diff[1]] == b[diff[0]]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1:]


def vocabulary(texts: Iterable[str]) -> set[str]:
    """The lower-case words of ``texts`` that a misspelling may be read as."""
    out: set[str] = set()
    for t in texts:
        out |= _words(t or "")
    return out


@lru_cache(maxsize=PASSAGE_TEXT_CACHE)
def _words(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in re.findall(r"[A-Za-z][a-z]{3,}", text))


def correct_spelling(question: str, vocab: set[str]) -> str:
    """``question`` with each misspelt word replaced by the one document word it is one edit
    from (left alone when there are none, or several)."""
    def fix(m: re.Match[str]) -> str:
        word = m.group()
        low = word.lower()
        if word[0].isupper() or low in vocab or low in STOPWORDS_ALL or len(low) < MIN_LENGTH:
            return word
        english = english_words()
        if not english or low in english:
            return word
        near = {v for v in vocab if v[0] == low[0] and abs(len(v) - len(low)) <= 1
                and len(v) >= MIN_LENGTH and _one_edit(low, v)}
        return near.pop() if len(near) == 1 else word

    return _WORD.sub(fix, question)


def tidy(question: str, texts: Iterable[str]) -> str:
    """The question as it is matched against ``texts`` (the retrieved passages)."""
    question = expand_contractions(question)
    if not any(len(w) >= MIN_LENGTH and not w[0].isupper() for w in _WORD.findall(question)):
        return question
    return correct_spelling(question, vocabulary(texts))
