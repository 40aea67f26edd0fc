"""Small helpers every loader shares: metadata strings, dates, sizes and error text."""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from rag.errors import LoadError

MB = 2**20
_DATE_FORMATS = [
    "%Y/%m/%d",
    "%d %B %Y",
    "%d %b %Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%B %d %Y",
    "%b %d %Y",
    "%d.%m.%Y",
]


def human_size(n: int) -> str:
    """Human size for messages: MB (as CITEWISE_MAX_FILE_MB counts them), bytes when tiny."""
    if n < MB // 10:
        return f"{n:,} bytes"
    return f"{n / MB:.1f}".removesuffix(".0") + " MB"


def check_size(path: Path, max_bytes: int) -> None:
    """Refuse big files before reading them, so one huge file cannot exhaust memory."""
    size = path.stat().st_size
    if size > max_bytes:
        raise LoadError(
            str(path),
            f"file is {human_size(size)}, over the {human_size(max_bytes)} limit; "
            "raise CITEWISE_MAX_FILE_MB to ingest it",
        )


def short_error(err: BaseException) -> str:
    """First line of an error message, capped, for a one-line failure reason."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:200]


def one_line(value: Any) -> str:
    """A metadata string on one line, or "" when it is missing or not a string."""
    return " ".join(value.split()) if isinstance(value, str) else ""


def authors(value: Any) -> list[str]:
    """Authors from a list of names or one string ("A; B" as trafilatura and Office write them)."""
    if isinstance(value, str):
        value = value.split(";")
    if not isinstance(value, list):
        return []
    return [name for name in (one_line(v) for v in value) if name]


# Authors that generators and templates write on their own, not a person who wrote the text
GENERATOR_AUTHORS = frozenset({"python-docx", "microsoft office user", "unknown", "author",
                               "administrator", "user", "anonymous"})
_ABBREVIATED_MONTH = re.compile(r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.")


def real_authors(value: Any) -> list[str]:
    """``authors(value)`` without a generator's or template's own default ("python-docx")."""
    return [a for a in authors(value) if a.casefold() not in GENERATOR_AUTHORS]


def stated_date(*lines: str) -> str:
    """The first full date (day, month and year) written in ``lines`` - a title, the first
    line - as YYYY-MM-DD, else "". The date a document gives itself ("Board minutes, 14
    February 2024"); a file's created/modified property is when a file was made, not this."""
    from dateparser.search import search_dates

    for line in lines:
        line = _ABBREVIATED_MONTH.sub(r"\1", " ".join(line.split())[:300])
        if not any(c.isdigit() for c in line):
            continue
        found = search_dates(line, languages=["en"], settings={
            "REQUIRE_PARTS": ["day", "month", "year"], "PREFER_DATES_FROM": "past"})
        if found:
            return str(found[0][1].strftime("%Y-%m-%d"))
    return ""


DATELINE_CHARS = 80  # a line under the headline this short may be its dateline


def date_lines(title: str, text: str) -> list[str]:
    """Where a document states its own date: its title, its first line and, when the first
    line is the headline, the short line under it (a dateline: "Harbour Gazette, 14 February
    2024")."""
    lines = [line.strip() for line in text.splitlines() if line.strip()][:2]
    out = [title, *lines[:1]]
    if len(lines) == 2 and " ".join(lines[0].split()) == " ".join(title.split()) \
            and len(lines[1]) <= DATELINE_CHARS:
        out.append(lines[1])
    return out


def first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")


def iso_date(value: Any) -> str:
    """YYYY-MM-DD from a date, datetime, epoch number or common date string; "" if unparseable."""
    if isinstance(value, date):  # datetime too
        return value.strftime("%Y-%m-%d")
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value  # epoch milliseconds
        try:
            return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d")
        except (OverflowError, OSError, ValueError):
            return ""
    text = value.strip() if isinstance(value, str) else ""
    return _parse_date_string(text) if text else ""


def _parse_date_string(text: str) -> str:
    """ISO 8601, RFC 2822 (RSS) and a few written-out formats."""
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%d")
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(text).strftime("%Y-%m-%d")
    except (TypeError, ValueError, IndexError):
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).strftime("%Y-%m-%d")
        except ValueError:
            continue
    return ""
