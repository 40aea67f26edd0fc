"""The JSON API: ``/api/ask`` (and its server-sent-events variant), ``/api/documents``, ``/healthz``.

Route handlers are plain module-level functions; the Citewise and Settings they work with come
from ``app.state`` (set by ``ui.server.create_app``) through FastAPI dependencies. Upload
handling shared with the chat lives in ui/uploads.py.

Every Citewise call runs in a worker thread, so the event loop never waits on the model.
Errors become ``{"error": message}`` with a 4xx status for anything the client can fix.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.config import Settings
from rag.errors import CitewiseError, InputError
from rag.records import Answer, Filters, IngestReport, Turn
from rag.retrieval.filters import K_MAX, K_MIN, check_filters, check_k, parse_day
from ui.auth import audited, user_of
from ui.openai_compat import error_for
from ui.uploads import FileResult, Upload, ingest_uploads, save_upload

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
    """Run one of rag.retrieval.filters' checks, as a pydantic validation error with the same message
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
    as_of: str | None = Field(None, description="Answer as of this day (YYYY-MM-DD; default "
                              "today): nothing published later is cited, and the question's "
                              "'this week' or 'recently' mean the days before it",
                              json_schema_extra={"format": "date"})

    @field_validator("as_of")
    @classmethod
    def _real_day(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _library_rule(lambda: parse_day(value, "as_of"))

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
    as_of: str = Field("", description="The day the question was answered as of (YYYY-MM-DD)")
    window: str = Field("", description="The publication dates the question's time words "
                        "pointed at, when documents inside them were preferred")
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
    dated_by: str = Field("", description="Where the published date came from: \"metadata\" "
                          "(the page's or feed's own), \"title or first line\", or \"\" when "
                          "undated; a file's created date is never used")


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


async def http_error_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    response = error_for(request.url.path, exc.status_code, detail)
    response.headers.update(getattr(exc, "headers", None) or {})
    return response


async def citewise_error_handler(_: Request, exc: CitewiseError) -> JSONResponse:
    return error_response(exc.http_status, str(exc))


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error: %s", exc)
    return error_for(request.url.path, 500,
                   f"Internal error ({type(exc).__name__}); see the server log.")


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
                    await error_for(scope.get("path", ""), 413, message)(scope, receive, send)
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
# routes
# --------------------------------------------------------------------------------------------


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


_END = object()


def _citewise(request: Request) -> Any:
    """The application object ``create_app`` put in ``app.state`` (shared by every request)."""
    return request.app.state.citewise


def _settings(request: Request) -> Settings:
    return request.app.state.settings


CitewiseDep = Annotated[Any, Depends(_citewise)]
SettingsDep = Annotated[Settings, Depends(_settings)]
router = APIRouter()


@router.get("/healthz", tags=["health"], summary="Liveness and store check")
async def healthz(citewise: CitewiseDep) -> JSONResponse:
    try:
        docs = await run_in_threadpool(citewise.documents)
    except CitewiseError as exc:
        return JSONResponse({"status": "error", "error": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok", "documents": len(docs)})


@router.post(
    "/api/ask", tags=["ask"], response_model=AnswerOut, responses=ERRORS,
    summary="Answer a question with exact-quote citations (or abstain)",
)
async def ask(req: AskRequest, citewise: CitewiseDep, request: Request) -> JSONResponse:
    recorder = request.app.state.feedback

    def answer_and_record() -> Answer:
        answer: Answer = citewise.ask(req.question, req.turns() or None, req.k,
                                      req.to_filters(), req.as_of)
        # its id is what /api/feedback rates
        recorder.record(answer, req.turns(), "api", user_of(request))
        return answer

    answer = await run_in_threadpool(answer_and_record)
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
async def ask_stream(req: AskRequest, citewise: CitewiseDep, request: Request) -> Any:
    it: Iterator[str | Answer] = citewise.stream(
        req.question, req.turns() or None, req.k, req.to_filters(), req.as_of
    )
    # pull the first item before answering, so a bad question is a 4xx, not a broken stream
    first = await run_in_threadpool(next, it, _END)
    recorder = request.app.state.feedback
    return StreamingResponse(
        _events(first, it, lambda a: recorder.record(a, req.turns(), "api", user_of(request))),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(first: Any, rest: Iterator[str | Answer],
                  record: Callable[[Answer], Any]) -> AsyncIterator[str]:
    """The answer's pieces as server-sent events, the final answer recorded (``record``) so
    its ``id`` can be rated; a failure midway is reported in-band (the status line is already
    sent)."""

    def items() -> Iterator[Any]:
        yield first
        yield from rest

    try:
        async for item in iterate_in_threadpool(items()):
            if item is _END:
                break
            if isinstance(item, Answer):
                await run_in_threadpool(record, item)
                yield _sse("answer", item.to_dict())
            else:
                yield _sse("delta", {"text": str(item)})
    except CitewiseError as exc:
        yield _sse("error", {"error": str(exc), "status": exc.http_status})
    except Exception as exc:
        log.exception("stream failed")
        yield _sse("error", {"error": f"Internal error ({type(exc).__name__})", "status": 500})


@router.get("/api/documents", tags=["documents"], response_model=list[DocumentOut],
            summary="List stored documents")
async def list_documents(citewise: CitewiseDep) -> JSONResponse:
    docs = await run_in_threadpool(citewise.documents)
    return JSONResponse([d.to_dict() for d in docs])


@router.post(
    "/api/documents", tags=["documents"], response_model=UploadOut, responses=ERRORS,
    summary="Upload files to ingest (multipart field `files`); per-file result",
)
async def upload_documents(
    files: Annotated[list[UploadFile], File(description="Files to ingest")],
    citewise: CitewiseDep,
    settings: SettingsDep,
    request: Request,
    replace: Annotated[bool, Query(description="Let a file replace a different stored "
                                   "document of the same name (default: keep both)")] = False,
) -> JSONResponse:
    if not files:
        return error_response(400, "No files in the upload (multipart field `files`).")
    max_file = int(settings.max_upload_mb * 2**20)
    tmp = Path(tempfile.mkdtemp(prefix="citewise-recv-"))
    try:
        uploads = await _receive(files, tmp, max_file)
        if isinstance(uploads, JSONResponse):
            return uploads
        report, results = await run_in_threadpool(ingest_uploads, audited(request, citewise),
                                                  uploads, None, replace)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _upload_response(report, results)


async def _receive(files: list[UploadFile], tmp: Path, max_file: int) -> list[Upload] | JSONResponse:
    """Each uploaded file's bytes in ``tmp``, read in 1 MB pieces; a 413 response as soon as
    one is over ``max_file``."""
    uploads: list[Upload] = []
    for i, f in enumerate(files):
        path = tmp / str(i)
        if not await save_upload(f, path, max_file):
            return error_response(413, f"{f.filename or 'file'} is larger than {_human(max_file)}.")
        uploads.append(Upload(f.filename or f"upload-{i}", path))
    return uploads


def _upload_response(report: IngestReport, results: list[FileResult]) -> JSONResponse:
    """Per-file results; a 422 when no file could be ingested at all."""
    for r in results:
        if "is already stored, so this one was added as" in r.detail:
            r.detail += " (or upload it again with ?replace=true)"
    body = UploadOut(files=results, report=report.to_dict()).model_dump()
    if not any(r.status in ("added", "updated", "unchanged") for r in results):
        reasons = "; ".join(f"{r.file}: {r.detail}" for r in results)
        return JSONResponse({"error": f"Nothing could be ingested: {reasons}", **body},
                            status_code=422)
    return JSONResponse(body)


class DocumentTextOut(DocumentOut):
    text: str = Field(description="The stored text every citation's start/end index into")


@router.get(
    "/api/documents/{source:path}", tags=["documents"], response_model=DocumentTextOut,
    responses={404: {"model": ErrorOut}},
    summary="One document with its stored text (what citation offsets point into)",
)
async def get_document(source: str, citewise: CitewiseDep) -> JSONResponse:
    def read() -> dict[str, Any]:
        text = citewise.document_text(source)  # NotFoundError (404) names the source
        info = next(d for d in citewise.documents() if d.source == source)
        return {**info.to_dict(), "text": text}

    return JSONResponse(await run_in_threadpool(read))


@router.delete(
    "/api/documents/{source:path}", tags=["documents"], responses={404: {"model": ErrorOut}},
    summary="Delete a document; it is never cited again",
)
async def delete_document(source: str, citewise: CitewiseDep, request: Request) -> JSONResponse:
    await run_in_threadpool(audited(request, citewise).delete, source)
    return JSONResponse({"deleted": source})


class FeedIn(BaseModel):
    url: str = Field(description="An RSS 2.0, Atom or sitemap.xml URL (http or https)",
                     min_length=1, max_length=2000)
    prune: bool = Field(False, description="Delete documents whose items left the feed")


class FeedOut(BaseModel):
    url: str
    added_at: str
    polled_at: str
    ok_at: str = Field(description="Last poll that read the feed (UTC); empty if none did")
    failures: int = Field(description="Failed polls in a row (retried with backoff)")
    next_try: str
    last_error: str
    items: int


@router.get("/api/feeds", tags=["feeds"], response_model=list[FeedOut],
            summary="The followed feeds and how their last polls went")
async def list_feeds(citewise: CitewiseDep) -> JSONResponse:
    feeds = await run_in_threadpool(citewise.feeds)
    return JSONResponse([f.to_dict() for f in feeds])


@router.post(
    "/api/feeds", tags=["feeds"], responses=ERRORS,
    summary="Follow a feed and poll it now: what was added, updated, unchanged or failed",
)
async def add_feed(feed: FeedIn, citewise: CitewiseDep, request: Request) -> JSONResponse:
    run = await run_in_threadpool(audited(request, citewise).ingest_feeds, [feed.url],
                                  feed.prune)
    body = run.to_dict()
    if run.polls and run.polls[0].error:  # the feed itself could not be read
        return JSONResponse({"error": f"{feed.url}: {run.polls[0].error}", **body},
                            status_code=422)
    return JSONResponse(body)


ALLOWED_METHODS = {"ask": "POST", "ask/stream": "POST", "documents": "GET, POST",
                   "feedback": "POST", "feeds": "GET, POST"}


@router.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                  include_in_schema=False)
async def api_fallback(rest: str, request: Request) -> JSONResponse:
    """Unknown /api paths and wrong methods get a JSON answer, not the chat UI's 404."""
    methods = ALLOWED_METHODS.get(rest.strip("/"))
    if methods is None and rest.startswith("documents/"):
        methods = "GET, PUT, DELETE"
    if methods:
        return JSONResponse(
            {"error": f"{request.method} is not allowed on /api/{rest}; use {methods}."},
            status_code=405, headers={"Allow": methods})
    return error_response(404, f"No API endpoint /api/{rest}; see /docs.")


def api_router() -> APIRouter:
    """The API's routes; they read the Citewise and Settings from ``app.state`` (create_app)."""
    return router
