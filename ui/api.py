"""The JSON API: ``/api/ask`` (and its server-sent-events variant), ``/api/documents``, ``/healthz``.

Every Citewise call runs in a worker thread, so the event loop never waits on the model.
Errors become ``{"error": message}`` with a 4xx status for anything the client can fix.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citewise.protocols import CitewiseApp
from rag.config import Settings
from rag.errors import CitewiseError, InputError, StoreError
from rag.filters import K_MAX, K_MIN, check_filters, check_k, parse_day
from rag.records import Answer, Filters, IngestReport, Turn

log = logging.getLogger(__name__)

#: Largest JSON body accepted by /api/ask and the Slack endpoints.
MAX_JSON_BYTES = 256 * 1024
MAX_QUESTION_CHARS = 2000
MAX_HISTORY_TURNS = 50
DATE = r"^\d{4}-\d{2}-\d{2}$"


# --------------------------------------------------------------------------------------------
# request / response models (they also make the OpenAPI docs at /docs)
# --------------------------------------------------------------------------------------------


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(..., max_length=MAX_QUESTION_CHARS)
    answer: str = Field("", max_length=20_000)


def _library_rule(check: Callable[[], Any]) -> Any:
    """Run one of rag.filters' checks, as a pydantic validation error with the same message
    the CLI prints (the API and the CLI refuse the same values with the same words)."""
    try:
        return check()
    except InputError as exc:
        raise ValueError(str(exc)) from None


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: list[str] | None = Field(None, description="Only cite these source ids (unknown "
                                      "ids are refused)")
    date_from: str | None = Field(None, description="Published on/after (YYYY-MM-DD)",
                                  json_schema_extra={"format": "date"})
    date_to: str | None = Field(None, description="Published on/before (YYYY-MM-DD)",
                                json_schema_extra={"format": "date"})

    @field_validator("date_from", "date_to")
    @classmethod
    def _real_date(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        return _library_rule(lambda: parse_day(value, str(info.field_name)))

    @model_validator(mode="after")
    def _ordered(self) -> FiltersIn:
        probe = Filters(None, self.date_from, self.date_to)
        _library_rule(lambda: check_filters(probe, {}))
        return self


class AskRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": "What stake does Microsoft hold in OpenAI Group PBC?"},
                {
                    "question": "Until when?",
                    "history": [
                        {"question": "What IP rights does Microsoft keep?", "answer": "..."}
                    ],
                    "k": 5,
                },
            ]
        },
    )
    question: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS)
    history: list[TurnIn] = Field(
        default_factory=list, max_length=MAX_HISTORY_TURNS,
        description="Earlier turns of the conversation, oldest first",
    )
    k: int | None = Field(None, description="Passages used to answer",
                          json_schema_extra={"minimum": K_MIN, "maximum": K_MAX})
    filters: FiltersIn | None = None

    @field_validator("k")
    @classmethod
    def _k_in_range(cls, value: int | None) -> int | None:
        _library_rule(lambda: check_k(value))
        return value

    def turns(self) -> list[Turn]:
        return [Turn(t.question, t.answer) for t in self.history]

    def to_filters(self) -> Filters | None:
        if self.filters is None:
            return None
        f = Filters(self.filters.sources or None, self.filters.date_from, self.filters.date_to)
        return None if f.is_empty() else f


class CitationOut(BaseModel):
    n: int
    source: str
    title: str
    url: str
    quote: str = Field(description="Exactly document.text[start:end]")
    start: int
    end: int
    published: str
    page: int | None
    section: str = Field("", description="The Markdown heading the quote falls under")


class ContextOut(BaseModel):
    source: str
    title: str
    section: str = ""
    text: str
    score: float
    start: int
    end: int


class AnswerOut(BaseModel):
    """The same object as `citewise ask --json`."""

    id: Any = None
    question: str
    answer: str = Field(description="Answer text with [n] markers")
    abstained: bool
    citations: list[CitationOut]
    contexts: list[ContextOut]
    related: list[ContextOut] = Field(description="Closest passages, shown on abstention")
    standalone_question: str
    note: str
    latency_ms: float


class DocumentOut(BaseModel):
    source: str
    title: str
    url: str
    published: str
    authors: list[str]
    chunks: int
    ingested_at: str
    content_hash: str


class FileResult(BaseModel):
    file: str
    source: str | None
    status: str = Field(description="added | updated | unchanged | failed | skipped")
    detail: str = ""


class UploadOut(BaseModel):
    files: list[FileResult]
    report: dict[str, Any]


class ErrorOut(BaseModel):
    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Bad request"},
    413: {"model": ErrorOut, "description": "Body too large"},
    422: {"model": ErrorOut, "description": "Invalid request"},
}


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _loc(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


async def validation_error_handler(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "Malformed JSON in the request body.")
    details = [
        {"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", "")),
         "type": str(e.get("type", ""))}
        for e in errors
    ]
    message = "; ".join(f"{_loc(e.get('loc', ()))}: {e.get('msg')}" for e in errors)
    return error_response(422, f"Invalid request: {message}", detail=details)


async def http_error_handler(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    return JSONResponse({"error": detail}, status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def citewise_error_handler(_: Request, exc: CitewiseError) -> JSONResponse:
    return error_response(exc.http_status, str(exc))


async def unexpected_error_handler(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error: %s", exc)
    return error_response(500, f"Internal error ({type(exc).__name__}); see the server log.")


class BodyLimitMiddleware:
    """413 for request bodies over a per-path-prefix limit (checked on Content-Length and on
    the bytes actually received). Paths under no prefix are left alone (Gradio has its own)."""

    def __init__(self, app: ASGIApp, limits: list[tuple[str, int]]) -> None:
        self.app = app
        self.limits = sorted(limits, key=lambda t: -len(t[0]))

    def _limit(self, path: str) -> int | None:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self._limit(scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        message = f"Request body too large; the limit is {_human(limit)}."
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = False
                if too_big:
                    await error_response(413, message)(scope, receive, send)
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > limit:
                    raise StarletteHTTPException(413, message)
            return msg

        await self.app(scope, limited_receive, send)


def _human(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n // 1024} KB"


# --------------------------------------------------------------------------------------------
# uploads (shared with the Documents tab)
# --------------------------------------------------------------------------------------------

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


def _progress_adapter(cb: Callable[[str, int, int], None] | None, total: int) -> Callable[..., None] | None:
    """Citewise.ingest's progress callback, whatever its arity, as (message, done, total)."""
    if cb is None:
        return None

    def progress(*args: Any) -> None:
        try:
            if args and isinstance(args[0], str):
                msg, done, tot = args[0], int(args[1]), int(args[2])
            else:
                done = int(args[0]) if args else 0
                chunks = int(args[1]) if len(args) > 1 else 0
                msg, tot = f"{done}/{total} files read, {chunks} chunks embedded", total
            cb(msg, done, tot)
        except Exception:  # progress must never break an ingest
            log.debug("progress callback failed", exc_info=True)

    return progress


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


def _content_hash(citewise: CitewiseApp, path: Path, source: str) -> str | None:
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
    citewise: CitewiseApp, tmp: Path, names: dict[str, str], replace: bool
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
    citewise: CitewiseApp, uploads: list[Upload],
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


# --------------------------------------------------------------------------------------------
# routes
# --------------------------------------------------------------------------------------------


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


_END = object()


def api_router(citewise: CitewiseApp, settings: Settings) -> APIRouter:
    router = APIRouter()
    max_file = int(settings.max_upload_mb * 2**20)

    @router.get("/healthz", tags=["health"], summary="Liveness and store check")
    async def healthz() -> JSONResponse:
        try:
            docs = await run_in_threadpool(citewise.documents)
        except CitewiseError as exc:
            return JSONResponse({"status": "error", "error": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "documents": len(docs)})

    @router.post(
        "/api/ask", tags=["ask"], response_model=AnswerOut, responses=ERRORS,
        summary="Answer a question with exact-quote citations (or abstain)",
    )
    async def ask(req: AskRequest) -> JSONResponse:
        answer: Answer = await run_in_threadpool(
            citewise.ask, req.question, req.turns() or None, req.k, req.to_filters()
        )
        return JSONResponse(answer.to_dict())

    @router.post(
        "/api/ask/stream", tags=["ask"], responses={
            200: {"description": "Server-sent events: `delta` events ({\"text\": piece}) as the "
                  "answer is written, then one `answer` event (the /api/ask object); `error` "
                  "({\"error\", \"status\"}) if it fails midway.",
                  "content": {"text/event-stream": {}}},
            **ERRORS,
        },
        summary="Streaming variant of /api/ask (server-sent events)",
    )
    async def ask_stream(req: AskRequest) -> Any:
        it: Iterator[str | Answer] = citewise.stream(
            req.question, req.turns() or None, req.k, req.to_filters()
        )
        # pull the first item before answering, so a bad question is a 4xx, not a broken stream
        first = await run_in_threadpool(next, it, _END)

        def rest() -> Iterator[str | Answer | object]:
            yield first
            yield from it

        async def events() -> AsyncIterator[str]:
            try:
                async for item in iterate_in_threadpool(rest()):
                    if item is _END:
                        break
                    if isinstance(item, Answer):
                        yield _sse("answer", item.to_dict())
                    else:
                        yield _sse("delta", {"text": str(item)})
            except CitewiseError as exc:
                yield _sse("error", {"error": str(exc), "status": exc.http_status})
            except Exception as exc:  # the status line is gone: report in-band
                log.exception("stream failed")
                yield _sse("error", {"error": f"Internal error ({type(exc).__name__})",
                                     "status": 500})

        return StreamingResponse(
            events(), media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.get("/api/documents", tags=["documents"], response_model=list[DocumentOut],
                summary="List stored documents")
    async def list_documents() -> JSONResponse:
        docs = await run_in_threadpool(citewise.documents)
        return JSONResponse([d.to_dict() for d in docs])

    @router.post(
        "/api/documents", tags=["documents"], response_model=UploadOut, responses=ERRORS,
        summary="Upload files to ingest (multipart field `files`); per-file result",
    )
    async def upload_documents(
        files: Annotated[list[UploadFile], File(description="Files to ingest")],
        replace: Annotated[bool, Query(description="Let a file replace a different stored "
                                       "document of the same name (default: keep both)")] = False,
    ) -> JSONResponse:
        if not files:
            return error_response(400, "No files in the upload (multipart field `files`).")
        tmp = Path(tempfile.mkdtemp(prefix="citewise-recv-"))
        try:
            uploads: list[Upload] = []
            for i, f in enumerate(files):
                path = tmp / str(i)
                size = 0
                with open(path, "wb") as out:
                    while chunk := await f.read(1 << 20):
                        size += len(chunk)
                        if size > max_file:
                            return error_response(
                                413, f"{f.filename or 'file'} is larger than {_human(max_file)}.")
                        out.write(chunk)
                uploads.append(Upload(f.filename or f"upload-{i}", path))
            report, results = await run_in_threadpool(ingest_uploads, citewise, uploads, None,
                                                      replace)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for r in results:
            if "is already stored, so this one was added as" in r.detail:
                r.detail += " (or upload it again with ?replace=true)"
        body = UploadOut(files=results, report=report.to_dict()).model_dump()
        ok = any(r.status in ("added", "updated", "unchanged") for r in results)
        if not ok:
            reasons = "; ".join(f"{r.file}: {r.detail}" for r in results)
            return JSONResponse({"error": f"Nothing could be ingested: {reasons}", **body},
                                status_code=422)
        return JSONResponse(body)

    @router.delete(
        "/api/documents/{source:path}", tags=["documents"], responses={404: {"model": ErrorOut}},
        summary="Delete a document; it is never cited again",
    )
    async def delete_document(source: str) -> JSONResponse:
        await run_in_threadpool(citewise.delete, source)
        return JSONResponse({"deleted": source})

    allowed = {"ask": "POST", "ask/stream": "POST", "documents": "GET, POST"}

    @router.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                      include_in_schema=False)
    async def api_fallback(rest: str, request: Request) -> JSONResponse:
        """Unknown /api paths and wrong methods get a JSON answer, not the chat UI's 404."""
        methods = allowed.get(rest.strip("/"))
        if methods is None and rest.startswith("documents/"):
            methods = "DELETE"
        if methods:
            return JSONResponse(
                {"error": f"{request.method} is not allowed on /api/{rest}; use {methods}."},
                status_code=405, headers={"Allow": methods})
        return error_response(404, f"No API endpoint /api/{rest}; see /docs.")

    return router
