"""Uploads, shared by the JSON API (``POST /api/documents``) and the chat's Documents tab.

Each uploaded file is ingested under its sanitised base name as source id (``../../x.txt`` is
stored as ``x.txt``), and a *different* document uploaded under the name of a stored one is
kept beside it (``notes (2).txt``) unless the caller asks to replace it. Every file gets its
own result, so one bad file never hides what happened to the others.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from rag.errors import CitewiseError, StoreError
from rag.records import IngestReport

log = logging.getLogger(__name__)


class FileResult(BaseModel):
    file: str
    source: str | None
    status: str = Field(description="added | updated | unchanged | failed | skipped")
    detail: str = ""


_UNSAFE = re.compile(r"[^\w.\- ()\[\]+,@]+", re.UNICODE)


def safe_filename(name: str) -> str:
    """A plain file name from a client-supplied one (no directories, no leading dots)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = _UNSAFE.sub("_", base).strip().lstrip(".").strip()
    return base[:200] or "upload"


@dataclass
class Upload:
    name: str  # as the client named it
    path: Path  # where its bytes are now


def _other_name(name: str, taken: Any) -> str:
    """``notes (2).txt``, ``notes (3).txt``...: the first name not in ``taken``."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    i = 1
    while name in taken:
        i += 1
        name = f"{stem} ({i}).{ext}" if ext else f"{stem} ({i})"
    return name


def _content_hash(citewise: Any, path: Path, source: str) -> str | None:
    """The content hash the file would be stored with; None when it does not load (the ingest
    that follows reports why)."""
    from ingest.loaders import load_file

    settings = getattr(citewise, "settings", None)
    max_bytes = int(getattr(settings, "max_file_mb", 25.0) * 2**20)
    try:
        docs = load_file(path, source, max_bytes)
    except CitewiseError:
        return None
    return docs[0].content_hash if len(docs) == 1 else None


def _keep_apart(
    citewise: Any, tmp: Path, names: dict[str, str], replace: bool
) -> dict[str, str]:
    """Same-name uploads of a *different* document are stored beside the one already stored
    (``notes (2).txt``), never over it, unless ``replace`` says so. Renames files in ``tmp``
    and ``names`` in place; returns stored name -> the message that says what happened."""
    stored = {d.source: d.content_hash for d in citewise.documents()}
    notes: dict[str, str] = {}
    for name in list(names):
        if name not in stored or name.lower().endswith(".jsonl"):  # feeds name their own ids
            continue
        if replace:
            notes[name] = f"replaced the stored document {name}"
            continue
        digest = _content_hash(citewise, tmp / name, name)
        if digest is None or digest == stored[name]:
            continue  # unreadable (reported by the ingest) or the same document again
        other = _other_name(name, set(stored) | set(names))
        (tmp / name).rename(tmp / other)
        names[other] = names.pop(name)
        notes[other] = (f"a different document named {name} is already stored, so this one was "
                        f"added as {other}; delete {name} if this one replaces it")
    return notes


def ingest_uploads(
    citewise: Any, uploads: list[Upload],
    progress: Callable[[str, int, int], None] | None = None, replace: bool = False,
) -> tuple[IngestReport, list[FileResult]]:
    """Ingest uploaded files one by one, each under its (sanitised, unique) file name as source
    id, and say what happened to each file. Returns the combined report and per-file results.
    A different document with the name of a stored one is kept beside it, unless ``replace``."""
    tmp = Path(tempfile.mkdtemp(prefix="citewise-upload-"))
    total = IngestReport()
    results: list[FileResult] = []
    try:
        names: dict[str, str] = {}  # stored name -> client name
        for up in uploads:
            name = _other_name(safe_filename(up.name), names)
            names[name] = up.name
            shutil.copyfile(up.path, tmp / name)
        notes = _keep_apart(citewise, tmp, names, replace)
        n = len(names)
        for i, (stored, client) in enumerate(names.items()):
            if progress:
                progress(f"Ingesting {client} ({i + 1}/{n})", i, n)
            try:
                report = citewise.ingest([tmp / stored], prune=False)
            except StoreError:
                raise  # the store is down or full: no file's fault, the whole upload is a 503
            except CitewiseError as exc:
                report = IngestReport(failed=[(stored, str(exc))])
            result = _file_result(client, report)
            if stored in notes and result.status != "failed":
                result.detail = "; ".join(d for d in (notes[stored], result.detail) if d)
            results.append(result)
            for key in ("added", "updated", "unchanged", "removed"):
                getattr(total, key).extend(getattr(report, key))
            # name places as the client named its file, never by our temporary folder
            total.failed.extend((_client_where(w, tmp, stored, client), r) for w, r in report.failed)
            total.chunks_embedded += report.chunks_embedded
            total.tokens_embedded += report.tokens_embedded
            total.seconds += report.seconds
        if progress:
            progress(f"Ingested {n} file(s)", n, n)
        return total, results
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _client_where(where: str, folder: Path, stored: str, client: str) -> str:
    for base in {str(folder.resolve()), str(folder)}:
        if where.startswith(base + os.sep):
            where = where[len(base) + 1:]
            break
    if where == stored or where.startswith(stored + ":"):
        where = client + where[len(stored):]
    return where


def _file_result(client: str, report: IngestReport) -> FileResult:
    """One file's outcome; a feed (.jsonl) file may hold several documents."""
    for status in ("added", "updated", "unchanged"):
        sources = getattr(report, status)
        if sources:
            detail = "" if len(sources) == 1 else f"{len(sources)} documents"
            if report.failed:
                detail = (detail + "; " if detail else "") + f"{len(report.failed)} failed"
            return FileResult(file=client, source=sources[0], status=status, detail=detail)
    if report.failed:
        return FileResult(file=client, source=None, status="failed",
                          detail="; ".join(r for _, r in report.failed))
    return FileResult(file=client, source=None, status="skipped", detail="no documents in the file")


async def save_upload(upload: Any, path: Path, max_bytes: int) -> bool:
    """Write an uploaded file (a Starlette ``UploadFile``) to ``path`` in 1 MB pieces; False
    as soon as it is over ``max_bytes`` (the caller answers 413), so a huge upload is never
    held in memory or written whole."""
    size = 0
    with open(path, "wb") as out:
        while chunk := await upload.read(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                return False
            out.write(chunk)
    return True
