"""Lines that state a fact without being a sentence: form fields, front matter, column lists.

"Owner: Jane Roe   Due: 30 Sept", "**Valid from:** 12 January 2025" and an attendee list of
"Name    Role" lines carry no full stop, so the answerer would take them for headlines or
labels and never quote them. A line is a *field line* when it is one of a run of two or more
"Key: value" lines (a form, front matter, an action list), holds two fields itself, or is one
of two or more lines whose words are set in columns by runs of spaces or tabs. A lone
"Analysis: why rates rose" (a headline) is none of these.
"""

from __future__ import annotations

import re
from functools import lru_cache

_FIELD = re.compile(r"^[\W_]*[A-Za-z][\w ()/&'’.-]{0,40}?[*_]*\s*:[*_]*\s+\S")
_TWO_FIELDS = re.compile(r"[A-Za-z][\w ()/&'’.-]{0,30}:\s+\S.*?(?:\t|\s{2,})[A-Za-z][\w ()/&'’.-]{0,30}"
                         r":\s+\S")
_COLUMNS = re.compile(r"\S(?:\t+|\s{3,})\S")
MAX_FIELD_WORDS = 30


def _kind(line: str) -> str:
    body = line.strip()
    if not body or len(body.split()) > MAX_FIELD_WORDS or body.startswith("|"):
        return ""
    if _TWO_FIELDS.search(body):
        return "fields"
    if _FIELD.match(body):
        return "field"
    if _COLUMNS.search(body):
        return "columns"
    return ""


@lru_cache(maxsize=512)
def field_lines(text: str) -> frozenset[tuple[int, int]]:
    """(start, end) of every field line of ``text`` (line spans without edge spaces)."""
    spans: list[tuple[int, int, str]] = []
    pos = 0
    for line in text.split("\n"):
        s = pos + len(line) - len(line.lstrip())
        e = pos + len(line.rstrip())
        spans.append((s, e, _kind(line)))
        pos += len(line) + 1
    out: set[tuple[int, int]] = set()
    for i, (s, e, kind) in enumerate(spans):
        if not kind:
            continue
        if kind == "fields":
            out.add((s, e))
            continue
        # a run: the nearest non-blank lines above or below are of the same kind
        for j in (i - 1, i + 1):
            while 0 <= j < len(spans) and spans[j][0] == spans[j][1]:
                j += -1 if j < i else 1
            if 0 <= j < len(spans) and spans[j][2] in (kind, "fields" if kind == "field" else ""):
                out.add((s, e))
                break
    return frozenset(out)
