"""Sentence spans and word tokens, shared by chunking, BM25 and the extractive answerer.

Sentences are returned as (start, end) character offsets so that quotes are always exact
slices of the stored text.
"""

from __future__ import annotations

import re
import unicodedata

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "etc", "inc", "ltd", "co",
    "corp", "no", "fig", "al", "gen", "gov", "sen", "rep", "col", "lt", "sgt", "capt", "jan",
    "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "approx",
    "e.g", "i.e", "u.s", "u.k", "u.n", "a.m", "p.m", "ca", "cf", "ed", "eds", "vol", "pp",
}

# A candidate boundary: terminal punctuation, optional closing quotes/brackets, then whitespace.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_LINE_BREAK = re.compile(r"\n\s*\n|\n(?=\s*(?:[•\-\*–·]|\d+[.)])\s)|\n")
_WORD = re.compile(r"\w+(?:[.'’]\w+)*", re.UNICODE)


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the '.' at ``dot`` ends a known abbreviation or an initial ("J. Smith")."""
    start = dot
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "."):
        start -= 1
    word = text[start:dot].lower()
    if not word:
        return False
    if word in _ABBREVIATIONS:
        return True
    return len(word) == 1 and word.isalpha() and text[start].isupper()


def _split_block(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = start
    for m in _BOUNDARY.finditer(text, start, end):
        cut = m.end()
        if text[m.start()] == "." and m.end() - m.start() == 1 and _is_abbreviation(text, m.start()):
            continue
        nxt = cut
        while nxt < end and text[nxt].isspace():
            nxt += 1
        if nxt < end and text[nxt].islower():
            continue  # "e.g. the" or an ellipsis inside a sentence
        spans.append((pos, cut))
        pos = nxt
    if pos < end:
        spans.append((pos, end))
    return spans


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Split into sentences; lines (headlines, list items) never merge with their neighbours."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _LINE_BREAK.finditer(text):
        spans.extend(_split_block(text, pos, m.start()))
        pos = m.end()
    spans.extend(_split_block(text, pos, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


_BULLET = re.compile(r"(?:[•\-\*–·]|\d+[.)])\s+")  # used with .match(text, pos)


def quote_spans(text: str) -> list[tuple[int, int]]:
    """The spans an answer may quote: sentences with list bullets left out. Ingest stores a
    vector per span and the answerers quote them, so both must cut text the same way."""
    out = []
    for s, e in sentence_spans(text):
        bullet = _BULLET.match(text, s, e)
        if bullet:
            s = bullet.end()
        if s < e:
            out.append((s, e))
    return out


def normalize(text: str) -> str:
    """Fold case, accents and typographic quotes/dashes for matching (never for quoting)."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = text.replace("–", "-").replace("—", "-")
    return text.lower()


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return _WORD.findall(normalize(text))


_FOREIGN_FUNCTION_WORDS = frozenset(
    """el la los las de del que y en un una por para con es está qué cuál cuánto quién dónde
    le les des du et est une pour avec qui quoi où combien pourquoi der die das und ist nicht
    ein eine wer wie wo warum wieviel il lo gli di che è per chi come dove perché quanto o os
    as um uma não quem onde porquê""".split()
)


def looks_non_english(text: str) -> bool:
    """True for a question that is plainly not English (another script, or only the function
    words of another language), so an abstention can say why instead of just "not found"."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    latin = sum(1 for ch in letters if "LATIN" in unicodedata.name(ch, ""))
    if latin / len(letters) < 0.5:
        return True
    toks = words(text)
    if len(toks) < 3:
        return False
    english = {"the", "a", "an", "of", "is", "are", "was", "does", "do", "did", "what", "who",
               "how", "when", "which", "where", "why", "in", "to", "and", "for", "on", "with"}
    foreign = sum(t in _FOREIGN_FUNCTION_WORDS for t in toks)
    return foreign >= 2 and not any(t in english for t in toks)
