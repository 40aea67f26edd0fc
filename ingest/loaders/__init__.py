"""Files -> cleaned Documents, or a LoadFailure that names the file and says what to do.

One bad file never stops an ingest: ``iter_documents`` turns every problem into a
``LoadFailure`` and goes on with the next file (or the next line of a JSONL feed).
Every text goes through ``ingest.clean`` so offsets always point into the cleaned text.
Each file type is one module here, registered by extension below (rag/plugins.py; other
packages register through the ``citewise.loaders`` entry-point group). A loader's module is
imported only when a file of its type is loaded.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ingest.loaders.base import LOADERS, Loader, LoadFailure, supported_extensions
from ingest.loaders.meta import MB, check_size, iso_date
from ingest.loaders.text import decode_text, markdown_sections
from rag.errors import LoadError, PluginError
from rag.records import Document

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- the built-in loaders

LOADERS.add(".txt", "ingest.loaders.text:load_text", ".md", ".markdown")
LOADERS.add(".html", "ingest.loaders.html:load_html", ".htm")
LOADERS.add(".pdf", "ingest.loaders.pdf:load_pdf")
LOADERS.add(".docx", "ingest.loaders.office:load_docx")
LOADERS.add(".jsonl", "ingest.loaders.jsonl:LOADER")

__all__ = ["LOADERS", "LoadFailure", "Loader", "decode_text", "iso_date", "iter_documents",
           "iter_files", "load_file", "load_safely", "markdown_sections", "supported_extensions"]


# ---------------------------------------------------------------- walking


def iter_documents(
    paths: Iterable[Path | str], max_bytes: int = 25 * MB
) -> Iterator[Document | LoadFailure]:
    """Every document under ``paths`` (files or folders), in a deterministic order."""
    for item in iter_files(paths):
        if isinstance(item, LoadFailure):
            yield item
        else:
            yield from _load_safely(*item, max_bytes)


def iter_files(paths: Iterable[Path | str]) -> Iterator[tuple[Path, str] | LoadFailure]:
    """(file, source id) for every file ``iter_documents`` would load, in the same order; a
    distributed ingest (ingest/ray_pipeline.py) loads them elsewhere with ``load_safely``."""
    for given in paths:
        path = Path(given)
        if not path.exists():
            yield LoadFailure(str(path), "no such file or directory")
        elif path.is_dir():
            files, failures = _files_under(path)
            yield from failures
            for file in files:
                yield file, file.relative_to(path).as_posix()
        else:
            yield path, path.name


def load_safely(path: Path, source: str, max_bytes: int) -> list[Document | LoadFailure]:
    """One file's documents, or the LoadFailure that names it; never raises."""
    return list(_load_safely(path, source, max_bytes))


def _files_under(root: Path) -> tuple[list[Path], list[LoadFailure]]:
    """Supported, non-hidden files below ``root``, sorted; symlinks never lead outside it."""
    real_root = root.resolve()
    files: list[Path] = []
    failures: list[LoadFailure] = []

    def on_error(err: OSError) -> None:
        failures.append(
            LoadFailure(str(err.filename or root), f"cannot read folder: {err.strerror}")
        )

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error):  # never follows dir links
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            file = Path(dirpath, name)
            if name.startswith(".") or file.suffix.lower() not in LOADERS:
                log.debug("skipping %s (hidden or unsupported type)", file)
            elif file.is_symlink() and not file.resolve().is_relative_to(real_root):
                log.warning("skipping %s: symlink to outside %s", file, root)
            else:
                files.append(file)
    files.sort(key=lambda f: f.relative_to(root).as_posix())
    return files, failures


def _load_safely(path: Path, source: str, max_bytes: int) -> Iterator[Document | LoadFailure]:
    """Load one file, turning every error into a LoadFailure so the ingest can go on."""
    yield from _guarded(path, lambda: _documents(path, source, max_bytes))


def _guarded(
    path: Path, produce: Callable[[], Iterable[Document | LoadFailure]]
) -> Iterator[Document | LoadFailure]:
    """Yield what ``produce`` yields; any exception ends this file with a LoadFailure."""
    try:
        yield from produce()
    except LoadError as err:
        yield LoadFailure(err.where, err.reason)
    except OSError as err:
        yield LoadFailure(str(path), f"cannot read file: {err.strerror or err}")
    except Exception as err:  # a parser bug must not stop the whole ingest
        log.exception("unexpected error loading %s", path)
        yield LoadFailure(
            str(path), f"unexpected error ({type(err).__name__}: {err}); please report it"
        )


# ---------------------------------------------------------------- one file


def load_file(path: Path, source: str, max_bytes: int) -> list[Document]:
    """The documents of one file (a JSONL feed: all of them, failing on its first bad line)."""
    path = Path(path)
    try:
        return [_raise_failure(item) for item in _documents(path, source, max_bytes)]
    except OSError as err:
        raise LoadError(str(path), f"cannot read file: {err.strerror or err}") from err


def _documents(path: Path, source: str, max_bytes: int) -> Iterator[Document | LoadFailure]:
    """What the loader registered for the file's extension makes of it, checked the same way
    for every loader: size (unless it streams), no empty documents, ``path`` set."""
    ext = path.suffix.lower()
    if ext not in LOADERS:
        raise LoadError(str(path), f"unsupported file type {ext or '(none)'!r}; "
                                   f"supported: {', '.join(supported_extensions())}")
    try:
        loader = LOADERS[ext]
    except PluginError as err:  # a broken third-party loader fails its files, not the ingest
        raise LoadError(str(path), str(err)) from err
    if not loader.streams:
        check_size(path, max_bytes)
    made = loader.load(path, source, max_bytes)
    for item in [made] if isinstance(made, Document) else made:
        if isinstance(item, Document):
            if not item.text.strip():
                item = LoadFailure(str(path), "empty document (no text after cleaning)")
            else:
                item.path = str(path)
        yield item


def _raise_failure(item: Document | LoadFailure) -> Document:
    """load_file is all-or-nothing: a failed record becomes a LoadError."""
    if isinstance(item, LoadFailure):
        raise LoadError(item.where, item.reason)
    return item
