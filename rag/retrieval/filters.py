"""Validation of what narrows an answer (``k`` and the metadata filters), in one place.

The CLI and the API both go through ``Citewise.ask``, so they refuse the same requests with
the same messages. A filter that names an unknown source or an impossible date is an error,
never a silent empty answer; a date filter that leaves out undated documents says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from rag.errors import InputError
from rag.records import Filters

K_MIN, K_MAX = 1, 50
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_LISTED = 5  # names quoted in a message before "and N more"


def check_k(k: int | None) -> None:
    """``k`` passages per answer: None means the configured default."""
    if k is not None and (isinstance(k, bool) or not K_MIN <= k <= K_MAX):
        raise InputError(f"k must be between {K_MIN} and {K_MAX} (got {k}): it is how many "
                         "passages an answer is drawn from; leave it out for the default.")


def parse_day(value: str, name: str) -> str:
    """A YYYY-MM-DD date that exists, returned as given; InputError naming the field otherwise."""
    value = value.strip()
    if not _ISO_DAY.fullmatch(value):
        raise InputError(f"{name} {value!r} is not a date in YYYY-MM-DD form; write it like "
                         "2024-01-31.")
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"{name} {value!r} is not a real date ({exc}); write it as YYYY-MM-DD, "
                         "e.g. 2024-01-31.") from None
    return value


def _names(items: list[str]) -> str:
    shown = ", ".join(repr(s) for s in items[:_LISTED])
    return shown + (f" and {len(items) - _LISTED} more" if len(items) > _LISTED else "")


def check_filters(filters: Filters | None, published: Mapping[str, str]) -> tuple[Filters | None, str]:
    """Validate ``filters`` against the stored documents (source id -> published date).

    Returns the filters with dates normalized (None when empty) and a note for the answer: which
    undated documents a date filter left out, or that nothing matches at all.
    """
    if filters is None or filters.is_empty():
        return None, ""
    date_from = parse_day(filters.date_from, "date_from") if filters.date_from else None
    date_to = parse_day(filters.date_to, "date_to") if filters.date_to else None
    if date_from and date_to and date_from > date_to:
        raise InputError(f"date_from {date_from} is after date_to {date_to}; swap them or widen "
                         "the range.")
    sources = [s for s in (filters.sources or []) if s]
    unknown = [s for s in sources if s not in published]
    if unknown:
        raise InputError(f"Unknown source{'s' if len(unknown) > 1 else ''} in the filter: "
                         f"{_names(unknown)}. `citewise docs` (GET /api/documents) lists the "
                         "stored source ids.")
    checked = Filters(sources or None, date_from, date_to)
    if not (date_from or date_to):
        return checked, ""
    pool = sources or sorted(published)
    undated = [s for s in pool if not published[s]]
    in_range = [s for s in pool if published[s] and (not date_from or published[s][:10] >= date_from)
                and (not date_to or published[s][:10] <= date_to)]
    notes = []
    if undated:
        notes.append(f"The date filter left out {len(undated)} document"
                     f"{'s' if len(undated) > 1 else ''} without a published date "
                     f"({_names(undated)}).")
    if not in_range:
        span = f"{date_from or '…'} to {date_to or '…'}"
        notes.append(f"No stored document was published in {span}; widen the dates or drop "
                     "the filter.")
    return checked, " ".join(notes)
