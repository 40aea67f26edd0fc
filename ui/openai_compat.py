"""An OpenAI-compatible chat endpoint: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Why: Open WebUI, LibreChat, IDE assistants and agent frameworks all speak the OpenAI chat API;
pointing their base URL at ``http://HOST:PORT/v1`` makes citewise one of their models without
any citewise-specific code on their side.

The last user message is the question and earlier user/assistant turns are its history (so
follow-ups work as in the chat); system messages are instructions for a generating model and
are ignored, like any instruction found in a document. The assistant's message is the cited
answer with its ``[n]`` markers and a short Sources list (for clients that only show text);
the structured citations are in the response's ``citations`` field, each exactly
``document.text[start:end]`` as in ``/api/ask``. ``stream: true`` sends OpenAI-format
``chat.completion.chunk`` events, the citations in the last one, then ``[DONE]``. Errors have
OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, so the official SDKs raise
their usual exceptions with citewise's message.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from citewise.protocols import CitewiseApp
from rag.errors import CitewiseError
from rag.records import Answer, Filters, Turn
from ui.render import safe_url

log = logging.getLogger(__name__)

MODEL_ID = "citewise"
PREFIX = "/v1/"
#: Largest body accepted (a long conversation's history travels with every request).
MAX_BODY_BYTES = 1024 * 1024
SOURCES_HEADING = "**Sources**"
_CREATED = int(time.time())


def is_openai_path(path: str) -> bool:
    return path.startswith(PREFIX)


def openai_error(status: int, message: str, param: str | None = None,
                 code: str | None = None) -> JSONResponse:
    """An error in OpenAI's shape; the SDKs show ``message`` in the exception they raise."""
    kind = {401: "authentication_error", 403: "permission_error", 404: "invalid_request_error",
            413: "invalid_request_error", 429: "rate_limit_error"}.get(
                status, "invalid_request_error" if status < 500 else "server_error")
    return JSONResponse({"error": {"message": message, "type": kind, "param": param,
                                   "code": code}}, status_code=status)


def error_for(path: str, status: int, message: str) -> JSONResponse:
    """An error in the shape the route's clients read: OpenAI's under /v1/, citewise's
    ``{"error": message}`` everywhere else."""
    if is_openai_path(path):
        return openai_error(status, message)
    return JSONResponse({"error": message}, status_code=status)


# --------------------------------------------------------------------------------------------
# the request
# --------------------------------------------------------------------------------------------


class ChatMessage(BaseModel):
    """One message; clients send more fields (name, tool_calls, ...), which are ignored."""

    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The text of the message; image and audio parts are not read."""
        if isinstance(self.content, str):
            return self.content
        parts = self.content or []
        return "\n".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")


class ChatRequest(BaseModel):
    """OpenAI's chat request. Sampling parameters (temperature, max_tokens, ...) are accepted
    and ignored: answers are quotes, not samples. ``as_of``, ``k`` and ``filters`` are
    citewise's own (the SDKs send them with ``extra_body``)."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(..., description=f"`{MODEL_ID}` (GET /v1/models)")
    messages: list[ChatMessage] = Field(..., min_length=1)
    stream: bool = False
    as_of: str | None = None
    k: int | None = None
    filters: dict[str, Any] | None = None
    n: int = 1

    @field_validator("n")
    @classmethod
    def _one_choice(cls, value: int) -> int:
        if value != 1:
            raise ValueError("citewise gives one answer per question; use n=1")
        return value

    @model_validator(mode="after")
    def _ends_with_a_question(self) -> ChatRequest:
        last = self.messages[-1]
        if last.role != "user" or not last.text().strip():
            raise ValueError("the last message must be the user's question (role \"user\", "
                             "non-empty text)")
        return self

    def question(self) -> str:
        return self.messages[-1].text()

    def history(self) -> list[Turn]:
        """Earlier user/assistant pairs, oldest first; the Sources list citewise appended to
        its own earlier answers is left out."""
        turns: list[Turn] = []
        for msg in self.messages[:-1]:
            if msg.role == "user":
                turns.append(Turn(msg.text(), ""))
            elif msg.role == "assistant" and turns and not turns[-1].answer:
                turns[-1] = Turn(turns[-1].question, strip_sources(msg.text()))
        return turns[-50:]

    def to_filters(self) -> Filters | None:
        from ui.api import FiltersIn

        if not self.filters:
            return None
        f = FiltersIn.model_validate(self.filters)
        out = Filters(f.sources or None, f.date_from, f.date_to)
        return None if out.is_empty() else out


def _parse(body: bytes) -> ChatRequest | JSONResponse:
    try:
        raw = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        return openai_error(400, "Malformed JSON in the request body.")
    if not isinstance(raw, dict):
        return openai_error(400, "The request body must be a JSON object with `model` and "
                            "`messages`.")
    try:
        req = ChatRequest.model_validate(raw)
        req.to_filters()  # a bad filter is a 400 now, not a failure later
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first.get("loc", ())) or None
        message = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())) or 'body'}: "
            f"{str(e.get('msg', '')).removeprefix('Value error, ')}"
            for e in exc.errors())
        return openai_error(400, f"Invalid request: {message}", param=param)
    if req.model != MODEL_ID:
        return openai_error(404, f"The model `{req.model}` does not exist; GET /v1/models "
                            f"lists `{MODEL_ID}`.", param="model", code="model_not_found")
    return req


# --------------------------------------------------------------------------------------------
# the answer as text
# --------------------------------------------------------------------------------------------


def sources_text(answer: Answer) -> str:
    """The Sources list appended to the message, in Markdown; empty for an abstention."""
    lines = []
    for c in answer.citations:
        where = c.title or c.source
        url = safe_url(c.url)
        link = f" ({url})" if url else f" ({c.source})"
        quote = " ".join(c.quote.split())
        lines.append(f"[{c.n}] {where}{link}: \"{quote}\"")
    if not lines:
        return ""
    return "\n\n" + SOURCES_HEADING + "\n" + "\n".join(lines)


def strip_sources(text: str) -> str:
    """An earlier answer without the Sources list (what citewise's follow-ups read)."""
    return text.split("\n\n" + SOURCES_HEADING + "\n", 1)[0].strip()


def message_text(answer: Answer) -> str:
    note = f"\n\n_Note: {answer.note}_" if answer.note else ""
    return answer.answer + note + sources_text(answer)


def _completion(cid: str, answer: Answer) -> dict[str, Any]:
    return {
        "id": cid, "object": "chat.completion", "created": int(time.time()), "model": MODEL_ID,
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": message_text(answer),
                                 "refusal": None}}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "citations": [c.to_dict() for c in answer.citations],
        "abstained": answer.abstained,
    }


def _chunk(cid: str, delta: dict[str, Any], finish: str | None = None,
           **extra: Any) -> str:
    body = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **extra}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


_END = object()


async def _chunks(cid: str, first: Any, rest: Iterator[str | Answer]) -> AsyncIterator[str]:
    """The answer's pieces as OpenAI chunks; what the final answer says beyond the pieces
    (its note, Sources) comes last, with the citations. A failure midway is an ``error``
    event, as OpenAI's own streams report one."""

    def items() -> Iterator[Any]:
        yield first
        yield from rest

    yield _chunk(cid, {"role": "assistant", "content": ""})
    sent = held = ""
    try:
        async for item in iterate_in_threadpool(items()):
            if item is _END:
                break
            if isinstance(item, Answer):
                full = message_text(item)
                # the pieces are the answer's text as it was written; send what is left of it
                # (an LLM answer the verifier shortened ends with a correction note instead)
                tail = full[len(sent):] if full.startswith(sent) else _rest_of(sent, full)
                if tail:
                    yield _chunk(cid, {"content": tail})
                yield _chunk(cid, {}, "stop",
                             citations=[c.to_dict() for c in item.citations],
                             abstained=item.abstained)
            else:  # whitespace after a piece waits for the next one: the answer ends without
                text = held + str(item)
                piece = text.rstrip()
                held = text[len(piece):]
                if piece:
                    sent += piece
                    yield _chunk(cid, {"content": piece})
    except CitewiseError as exc:
        yield f"data: {json.dumps({'error': {'message': str(exc), 'type': 'server_error'}})}\n\n"
    except Exception as exc:
        log.exception("stream failed")
        message = f"Internal error ({type(exc).__name__}); see the server log."
        yield f"data: {json.dumps({'error': {'message': message, 'type': 'server_error'}})}\n\n"
    yield "data: [DONE]\n\n"


def _rest_of(sent: str, full: str) -> str:
    """When the streamed text is not a prefix of the final message (whitespace between pieces
    differs, or sentences were withdrawn), what follows it: the final message's tail after the
    streamed words when they match word for word, else the whole final message on a new line."""
    words = re.findall(r"\S+", sent)
    pattern = r"\s*".join(re.escape(w) for w in words)
    m = re.match(pattern, full) if words else None
    if m:
        return full[m.end():]
    return "\n\n" + full


# --------------------------------------------------------------------------------------------
# routes
# --------------------------------------------------------------------------------------------


router = APIRouter(tags=["openai"])


@router.get("/v1/models", summary="OpenAI-compatible model list: the one model `citewise`")
async def models() -> JSONResponse:
    return JSONResponse({"object": "list", "data": [
        {"id": MODEL_ID, "object": "model", "created": _CREATED, "owned_by": "citewise"}]})


@router.post(
    "/v1/chat/completions",
    summary="OpenAI-compatible chat: the last user message is answered with citations",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"type": "object", "required": ["model", "messages"], "properties": {
            "model": {"type": "string", "enum": [MODEL_ID]},
            "messages": {"type": "array", "items": {"type": "object"}},
            "stream": {"type": "boolean"},
            "as_of": {"type": "string", "format": "date"},
            "k": {"type": "integer"},
            "filters": {"type": "object"}}}}}}},
)
async def chat_completions(request: Request) -> Any:
    req = _parse(await request.body())
    if isinstance(req, JSONResponse):
        return req
    citewise: CitewiseApp = request.app.state.citewise
    cid = f"chatcmpl-{uuid.uuid4().hex}"
    question, history, filters = req.question(), req.history() or None, req.to_filters()
    try:
        if not req.stream:
            answer = await run_in_threadpool(citewise.ask, question, history, req.k, filters,
                                             req.as_of)
            return JSONResponse(_completion(cid, answer))
        it = citewise.stream(question, history, req.k, filters, req.as_of)
        # the first piece before the status line, so a bad question is a 4xx, not a broken stream
        first = await run_in_threadpool(next, it, _END)
    except CitewiseError as exc:
        return openai_error(exc.http_status, str(exc))
    return StreamingResponse(_chunks(cid, first, it), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                  include_in_schema=False)
async def v1_fallback(rest: str, request: Request) -> JSONResponse:
    if rest.strip("/") in ("models", "chat/completions"):
        allowed = "GET" if rest.strip("/") == "models" else "POST"
        return openai_error(405, f"{request.method} is not allowed on /v1/{rest}; use "
                            f"{allowed}.")
    return openai_error(404, f"citewise serves /v1/chat/completions and /v1/models; there is "
                        f"no /v1/{rest}.", code="unknown_url")


def openai_router() -> APIRouter:
    return router
