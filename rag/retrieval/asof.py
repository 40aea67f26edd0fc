"""Time in a question, resolved against an as-of date into a window of publication dates.

"Who was named chief executive this week?" means the week before the day it is asked (as_of,
default today), not whichever year's article matches best. ``resolve`` turns the question's
time words into a ``Window``; the retriever prefers documents published inside it (a boost, not
a filter: BENCHMARKS.md, "Answers as of a date") and documents published after as_of are never
cited.

Dates written in the question ("on August 14", "in March", "on Sunday", "since 2024") are found
and parsed by ``dateparser`` relative to as_of; the period words dateparser gives only a point
for ("this week", "last month", "recently") are read from ``PERIODS``, one line each.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any

from dateutil.relativedelta import relativedelta

from rag.language.textrules import MONTHS

RECENT_DAYS = 30  # "recently", "latest", "now": the month before as_of
DAY_SLACK = 6  # an event on a day is reported that day or in the week after


def _week(as_of: date, weeks_back: int) -> tuple[date, date]:
    end = as_of - timedelta(days=7 * weeks_back)
    return end - timedelta(days=6), end


def _month(as_of: date, months_back: int) -> tuple[date, date]:
    first = as_of.replace(day=1) - relativedelta(months=months_back)
    last = first + relativedelta(months=1) - timedelta(days=1)
    return first, min(last, as_of)


def _year(as_of: date, years_back: int) -> tuple[date, date]:
    first = date(as_of.year - years_back, 1, 1)
    return first, min(date(first.year, 12, 31), as_of)


def _recent(as_of: date) -> tuple[date, date]:
    return as_of - timedelta(days=RECENT_DAYS), as_of


# Period words, longest first where one contains another; each maps as_of to (first, last day).
PERIODS: dict[str, Callable[[date], tuple[date, date]]] = {
    "today": lambda d: (d, d),
    "tonight": lambda d: (d, d),
    "yesterday": lambda d: (d - timedelta(days=1), d - timedelta(days=1)),
    "this past week": lambda d: _week(d, 0),
    "this week": lambda d: _week(d, 0),
    "past week": lambda d: _week(d, 0),
    "this weekend": lambda d: _week(d, 0),
    "last week": lambda d: _week(d, 1),
    "last weekend": lambda d: _week(d, 1),
    "this month": lambda d: _month(d, 0),
    "past month": lambda d: (d - timedelta(days=30), d),
    "last month": lambda d: _month(d, 1),
    "this year": lambda d: _year(d, 0),
    "past year": lambda d: (d - relativedelta(years=1), d),
    "last year": lambda d: _year(d, 1),
    "so far": _recent,
    "recently": _recent,
    "recent": _recent,
    "latest": _recent,
    "currently": _recent,  # not "current": "current assets" is no time
    "right now": _recent,
    "now": _recent,
}
_PERIOD = re.compile(r"\b(" + "|".join(re.escape(p) for p in PERIODS) + r")\b", re.IGNORECASE)
_YEAR_WINDOW = re.compile(r"\b(in|during|since|from)\s+((?:19|20)\d\d)\b", re.IGNORECASE)
# the project's month names (rag/language/textrules.py), capitalised, without "may" (handled below)
_MONTHS = "|".join(m.capitalize() for m in MONTHS.split("|") if m != "may")
_WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
# where a date is written: "on Aug. 14", "on Sunday", "in March", "May 3" (capitalised: "a
# march" is no month; "May" only with a day or after "in", since "may" is mostly a verb)
_DATE_HINT = re.compile(rf"\b(?:{_MONTHS})\b\.?(?:\s+\d{{1,2}}\b)?|\bMay\s+\d{{1,2}}\b"
                        rf"|(?<=\bin )May\b|\b(?:{_WEEKDAYS})\b")


@dataclass(frozen=True)
class Window:
    """Publication dates the question's time words point at (both ends inclusive)."""

    first: date
    last: date
    phrase: str  # the words it came from, as written

    @cached_property
    def _iso(self) -> tuple[str, str]:  # compared with every stored document's date
        return self.first.isoformat(), self.last.isoformat()

    def holds(self, published: str) -> bool:
        """Is an ISO ``published`` date (or datetime) inside? Undated is never inside."""
        day = published[:10]
        return bool(day) and self._iso[0] <= day <= self._iso[1]

    def describe(self) -> str:
        span = (self.first.isoformat() if self.first == self.last
                else f"{self.first.isoformat()} to {self.last.isoformat()}")
        return f"{span} (“{self.phrase}”)"


def resolve(question: str, as_of: date) -> Window | None:
    """The window the question's time words point at, as of ``as_of``; None when it names no
    time. A period word wins over a written date; a year counts only after "in", "since",
    "during" or "from" ("the 2025 Super Bowl" names an event, not when it was reported)."""
    m = _PERIOD.search(question)
    if m:
        first, last = PERIODS[m.group(1).lower()](as_of)
        return Window(first, last, m.group(1))
    m = _YEAR_WINDOW.search(question)
    if m:
        year = int(m.group(2))
        if year > as_of.year:
            return None
        last = as_of if m.group(1).lower() == "since" or year == as_of.year else date(year, 12, 31)
        return Window(date(year, 1, 1), last, m.group(0))
    hint = _DATE_HINT.search(question)
    if hint:
        return _written_date(hint.group(0), as_of)
    return None


def _written_date(text: str, as_of: date) -> Window | None:
    """A month, a month and day, or a weekday, parsed by dateparser relative to as_of."""
    parsed = _parse(text.replace(".", ""), as_of)
    if parsed is None or parsed > as_of:
        return None
    if re.search(r"\d", text) or re.fullmatch(_WEEKDAYS, text.strip()):
        return Window(parsed, min(parsed + timedelta(days=DAY_SLACK), as_of), text)
    first = parsed.replace(day=1)
    return Window(first, min(first + relativedelta(months=1) - timedelta(days=1), as_of), text)


@lru_cache(maxsize=4096)
def _parse(text: str, as_of: date) -> date | None:
    import dateparser

    got = dateparser.parse(text, languages=["en"], settings={
        "RELATIVE_BASE": datetime(as_of.year, as_of.month, as_of.day),
        "PREFER_DATES_FROM": "past", "PREFER_DAY_OF_MONTH": "first"})
    return got.date() if got is not None else None


@dataclass(frozen=True)
class AsOf:
    """When a question is asked: nothing published after ``day`` is cited, and documents inside
    ``window`` (from the question's time words) are preferred."""

    day: date
    window: Window | None = None

    @classmethod
    def of(cls, question: str, day: date) -> AsOf:
        return cls(day, resolve(question, day))

    def allows(self, published: str) -> bool:
        """May a document published then be cited? Not after the day; undated, yes."""
        return not published or published[:10] <= self.day.isoformat()

    def inside(self, records: Mapping[str, Any]) -> set[str]:
        """The documents (source ids) published inside the window."""
        if self.window is None:
            return set()
        return {s for s, r in records.items() if self.window.holds(r.published)}
