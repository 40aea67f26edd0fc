"""What a loader is, and the registry of loaders by file extension.

A loader is a function ``(path, source, max_bytes) -> Document`` (one document per file), or,
for a file that holds many records (a JSONL feed), an iterable of ``Document | LoadFailure`` so
one bad record fails alone. Files over ``max_bytes`` are refused before a loader runs, unless
the loader ``streams`` (reads record by record and checks each record's size itself).
Register one in ``ingest/loaders/__init__.py`` or through the ``citewise.loaders`` entry-point
group (the entry point's name is the extension, e.g. ``".rst"``); see ARCHITECTURE.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from rag.plugins import Registry
from rag.records import Document


@dataclass
class LoadFailure:
    """A file (or JSONL line) that could not be loaded; the ingest reports it and goes on."""

    where: str  # file path (and ':LINE' for a JSONL line)
    reason: str  # human readable: what is wrong and what to do


LoadResult = Document | Iterable[Document | LoadFailure]


@dataclass(frozen=True)
class Loader:
    """How files of one type become documents."""

    load: Callable[[Path, str, int], LoadResult]  # (path, source id, max bytes)
    streams: bool = False  # True: reads record by record, so the file may exceed max_bytes


def _loader(obj: object) -> Loader:
    if isinstance(obj, Loader):
        return obj
    if callable(obj):
        return Loader(obj)
    raise TypeError(f"expected a Loader or a function (path, source, max_bytes) -> Document, "
                    f"got {type(obj).__name__}")


def _extension(name: str) -> str:
    name = name.strip().lower()
    return name if name.startswith(".") else f".{name}"


LOADERS: Registry[Loader] = Registry("loader", "citewise.loaders", normalize=_extension,
                                     coerce=_loader)


def supported_extensions() -> list[str]:
    """Every extension a loader is registered for (plugins included), sorted."""
    return sorted(LOADERS)
