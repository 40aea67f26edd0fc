"""👍/👎 on answers, for the front ends: recording what was shown, ``POST /api/feedback``, and
the ``citewise feedback`` commands' text (the log itself is citewise/feedback.py).

Each front end records an answer as it shows it (``Recorder.record``, which sets the answer's
``id``); a rating names that id. The chat passes the id it kept for the rated message, Slack
the id it linked to the posted message, an API client the ``id`` of the ``/api/ask`` answer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from citewise.feedback import MAX_COMMENT_CHARS, FeedbackLog, Rated, fingerprint
from citewise.protocols import CitewiseApp
from rag.config import Settings
from rag.errors import CitewiseError, InputError
from rag.records import Answer, Turn
from ui.auth import user_of

log = logging.getLogger(__name__)


def feedback_path(settings: Settings) -> Path:
    return settings.feedback_db or settings.store / "feedback.sqlite3"


class Recorder:
    """Records answers as they are shown and takes ratings of them; off when
    ``CITEWISE_FEEDBACK=false`` (nothing is written, ratings are refused)."""

    def __init__(self, citewise: CitewiseApp, settings: Settings) -> None:
        self.citewise = citewise
        self.log = FeedbackLog(feedback_path(settings)) if settings.feedback else None

    @property
    def on(self) -> bool:
        return self.log is not None

    def record(self, answer: Answer, history: Sequence[Turn] | None, channel: str,
               user: str = "") -> str | None:
        """Store ``answer`` and set its ``id``; a failure to record never fails the answer
        (it is logged, and that answer cannot be rated)."""
        if self.log is None:
            return None
        try:
            print_ = fingerprint(answer, self.citewise.documents())
            answer.id = self.log.record(answer, history, print_, channel, user)
        except CitewiseError as exc:
            log.warning("could not record an answer for feedback: %s", exc)
            return None
        return str(answer.id)

    def rate(self, answer_id: str, rating: Any, comment: str = "", user: str = "",
             channel: str = "") -> int:
        if self.log is None:
            raise InputError("Feedback is off on this server (CITEWISE_FEEDBACK=false).")
        return self.log.rate(answer_id, rating, comment, user, channel)


# --------------------------------------------------------------------------------------------
# POST /api/feedback
# --------------------------------------------------------------------------------------------


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"answer_id": "3f2b...", "rating": "down", "comment": "It quoted last year's figure"}]})
    answer_id: str = Field(..., min_length=1, max_length=64,
                           description="The `id` of an /api/ask (or stream) answer")
    rating: str = Field(..., description="\"up\" or \"down\"", pattern=r"^(up|down)$")
    comment: str = Field("", max_length=MAX_COMMENT_CHARS)


class FeedbackOut(BaseModel):
    id: int = Field(description="The rating's number (`citewise feedback review ID`)")


router = APIRouter(tags=["feedback"])


@router.post("/api/feedback", response_model=FeedbackOut, status_code=201,
             summary="Rate an answer 👍/👎 (with an optional comment)",
             responses={404: {"description": "Unknown answer id"},
                        422: {"description": "Invalid request"}})
async def post_feedback(body: FeedbackIn, request: Request) -> JSONResponse:
    recorder: Recorder = request.app.state.feedback
    host = request.client.host if request.client else ""
    rid = await run_in_threadpool(recorder.rate, body.answer_id, body.rating, body.comment,
                                  user_of(request), f"api {host}".strip())
    return JSONResponse({"id": rid}, status_code=201)


def feedback_router() -> APIRouter:
    return router


# --------------------------------------------------------------------------------------------
# the CLI's text
# --------------------------------------------------------------------------------------------


def _one_line(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def list_lines(items: Sequence[Rated]) -> list[str]:
    """``citewise feedback list``: one line per rating."""
    import datetime as dt

    lines = [f"{'ID':>4}  {'WHEN':16}  {'RATING':6}  {'REVIEW':8}  QUESTION"]
    for it in items:
        when = dt.datetime.fromtimestamp(it.created).strftime("%Y-%m-%d %H:%M")
        review = it.review.verdict if it.review else ("-" if it.rating > 0 else "pending")
        line = (f"{it.id:>4}  {when:16}  {'up' if it.rating > 0 else 'down':6}  {review:8}  "
                f"{_one_line(it.question, 70)}")
        if it.comment:
            line += f"  ({_one_line(it.comment, 60)})"
        lines.append(line)
    return lines


def review_lines(item: Rated) -> list[str]:
    """``citewise feedback review ID`` with no verdict: the answer and the sentences a reviewer
    can pick (``--pick N``)."""
    lines = [f"Feedback #{item.id}: rated {'up' if item.rating > 0 else 'down'}"
             + (f", comment: {item.comment}" if item.comment else ""),
             f"Question: {item.question}"]
    for t in item.history:
        lines.append(f"  (after: {_one_line(t.question, 80)})")
    if item.as_of:
        lines.append(f"As of: {item.as_of}")
    lines.append(f"Answer given: {_one_line(item.answer.get('answer', ''), 400)}")
    for c in item.answer.get("citations", []):
        lines.append(f"  [{c['n']}] {c['source']} {c['start']}-{c['end']}: "
                     f"\"{_one_line(c['quote'], 160)}\"")
    if item.review:
        r = item.review
        lines.append(f"Reviewed: {r.verdict}"
                     + (f" -> {r.source} {r.start}-{r.end}: \"{_one_line(r.quote, 160)}\""
                        if r.verdict == "sentence" else ""))
    lines.append("")
    lines.append("Sentences of the passages retrieved then (review with --pick N, --abstain, or "
                 "--source SOURCE --quote TEXT for any sentence of a stored document):")
    for c in item.candidates():
        lines.append(f"  {c.n:>3}. {c.source} {c.start}-{c.end}: {_one_line(c.quote, 140)}")
    return lines
