"""Replacing one stored document with an uploaded file, when the user says so.

A same-name upload never overwrites a different document (ui.api keeps both, as
``notes (2).txt``); replacing is a request of its own: ``PUT /api/documents/{source}`` in the
API, "Replace…" in the Documents tab. The new file goes through the ordinary ingest under the
stored source id, so the store's per-document replace applies (new chunks written, then the old
ones dropped; a crash leaves one version or the other, never a mix), and a file that cannot be
read leaves the stored document as it was.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ingest.loaders import supported_extensions
from rag.config import Settings
from rag.errors import InputError, LoadError, NotFoundError
from ui.auth import audited
from ui.uploads import save_upload

log = logging.getLogger(__name__)

#: suffixes read by the same loader
_SAME_KIND = {".htm": ".html", ".markdown": ".md"}


def _kind(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    return _SAME_KIND.get(suffix, suffix)


def _chunks(n: int) -> str:
    return f"{n} chunk" if n == 1 else f"{n} chunks"


@dataclass
class Replacement:
    """What a replace did: ``replaced``, or ``unchanged`` when the file holds the same text."""

    source: str
    file: str  # the uploaded file's name, as the client gave it
    status: str
    chunks_before: int
    chunks_after: int

    @property
    def detail(self) -> str:
        if self.status == "unchanged":
            return (f"{self.file} holds the same text as {self.source}; nothing changed "
                    f"({_chunks(self.chunks_after)})")
        return (f"replaced {self.source}: {_chunks(self.chunks_before)} → "
                f"{_chunks(self.chunks_after)}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "detail": self.detail}


def check_replaceable(source: str, filename: str) -> None:
    """Refuse, before anything is read, a replace the ingest could not do faithfully: a source
    id that is not a plain file name (JSONL feed entries are changed by uploading the feed) or a
    file of another kind than the stored document (its loader follows the source id)."""
    path = PurePosixPath(source)
    plain = (str(path) == source and not path.is_absolute()
             and not any(p in ("", ".", "..") or p.startswith(".") for p in path.parts))
    if not plain or _kind(source) not in supported_extensions() or _kind(source) == ".jsonl":
        raise InputError(
            f"{source} did not come from a file of its own (JSONL feed entries are named by "
            "their id or url), so it cannot be replaced by a file; upload the feed again "
            "instead (POST /api/documents, or Upload in the Documents tab).")
    if _kind(filename) != _kind(source):
        got = PurePosixPath(filename).suffix or "a file without a suffix"
        raise InputError(
            f"{source} is a {_kind(source)} document, so its replacement must be one too "
            f"(got {got}). To store the {got} file instead, upload it as a new document and "
            f"delete {source}.")


def replace_document(citewise: Any, source: str, path: Path, filename: str) -> Replacement:
    """Replace the stored document ``source`` by the file at ``path`` (named ``filename`` by
    the client). Raises NotFoundError, InputError, LoadError (the file cannot be read: nothing
    changed) or StoreError."""
    before = {d.source: d.chunks for d in citewise.documents()}
    if source not in before:
        raise NotFoundError(f"No document {source!r} in the store; GET /api/documents (or the "
                            "Documents tab) lists them.")
    check_replaceable(source, filename)
    tmp = Path(tempfile.mkdtemp(prefix="citewise-replace-"))
    try:
        target = tmp / source  # ingesting the folder stores the file under its relative path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        report = citewise.ingest([tmp], prune=False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if report.failed:
        reasons = "; ".join(reason for _, reason in report.failed)
        raise LoadError(filename, f"{reasons}. {source} was left as it was.")
    after = {d.source: d.chunks for d in citewise.documents()}
    status = "unchanged" if source in report.unchanged else "replaced"
    result = Replacement(source, filename, status, before[source], after.get(source, 0))
    log.info("%s", result.detail)
    return result


# --------------------------------------------------------------------------------------------
# the API route
# --------------------------------------------------------------------------------------------


class ReplaceOut(BaseModel):
    source: str
    file: str
    status: str = Field(description="replaced | unchanged")
    chunks_before: int
    chunks_after: int
    detail: str = Field(description="What happened, e.g. 'replaced notes.txt: 3 chunks → 4 "
                        "chunks'")


class _ErrorOut(BaseModel):
    error: str


def replace_router(citewise: Any, settings: Settings) -> APIRouter:
    """``PUT /api/documents/{source}``. Include it before ui.api's router, whose catch-all
    answers 405 to every other method on that path."""
    router = APIRouter()
    max_file = int(settings.max_upload_mb * 2**20)

    @router.put(
        "/api/documents/{source:path}", tags=["documents"], response_model=ReplaceOut,
        responses={code: {"model": _ErrorOut} for code in (400, 404, 413, 422)},
        summary="Replace a stored document's content with an uploaded file (multipart field "
                "`file`, of the same kind as the document)",
    )
    async def replace_document_route(
        source: str, file: Annotated[UploadFile, File(description="The new version")],
        request: Request,
    ) -> JSONResponse:
        name = re.split(r"[\\/]", file.filename or "")[-1] or "upload"  # never a client's folders
        tmp = Path(tempfile.mkdtemp(prefix="citewise-recv-"))
        try:
            path = tmp / "upload"
            if not await save_upload(file, path, max_file):
                return JSONResponse(
                    {"error": f"{name} is larger than {max_file / 2**20:.1f} MB."},
                    status_code=413)
            result = await run_in_threadpool(replace_document, audited(request, citewise),
                                             source, path, name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return JSONResponse(result.to_dict())

    return router
