"""Slack over HTTP webhooks (``POST /slack/events``, ``POST /slack/commands``) and Socket Mode.

Socket Mode (``CITEWISE_SLACK_APP_TOKEN=xapp-…``) is for workspaces where citewise has no public
URL: slack-bolt's Socket Mode handler opens an outgoing WebSocket to Slack and receives the same
events and commands through it, handled by the same listeners, dedupe and thread memory as the
webhook (which still works beside it when the signing secret is set too).

Over HTTP, slack-bolt verifies every request (signature over the raw body, 5-minute timestamp window;
anything else gets 401 before a listener runs), acknowledges at once, and runs the listeners
in its thread pool, where citewise answers and posts into the thread of the question
(``chat.postMessage`` with Block Kit). Slack's retries of an event (same ``event_id``) are
dropped, so a question never gets two answers; a signed request replayed inside the 5-minute
window (same signature seen before) gets 401. Each thread's turns are remembered (in memory,
bounded) so follow-ups in the thread are answered in context; in a direct message's main
view, consecutive messages are one conversation (answered in the main view, not in threads).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from citewise.protocols import CitewiseApp
from rag.config import Settings
from rag.errors import CitewiseError, ConfigError
from rag.records import Answer, Turn
from ui.feedback import Recorder
from ui.render import slack_answer, slack_error, slack_escape, strip_mentions

log = logging.getLogger(__name__)

#: reactions that rate an answer (Slack's names for 👍 and 👎)
SLACK_RATINGS = {"+1": "up", "thumbsup": "up", "-1": "down", "thumbsdown": "down"}

HELP = (
    "Ask me about the documents citewise has ingested, e.g. "
    "`/ask What stake does Microsoft hold in OpenAI?` or mention me with a question. "
    "Every answer quotes its sources; when they don't answer, I say so."
)


class TTLCache:
    """A bounded, thread-safe map whose entries expire: event ids seen, thread histories."""

    def __init__(self, maxsize: int = 10_000, ttl: float = 3600.0) -> None:
        self.maxsize = maxsize
        self.ttl = ttl
        self._data: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._data:
            key, (t, _) = next(iter(self._data.items()))
            if now - t <= self.ttl and len(self._data) <= self.maxsize:
                break
            self._data.popitem(last=False)

    def add_if_absent(self, key: Any, value: Any = True) -> bool:
        """Store ``key`` unless present; True when it was added (the first time it's seen)."""
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            if key in self._data:
                return False
            self._data[key] = (now, value)
            self._expire(now)
            return True

    def get(self, key: Any, default: Any = None) -> Any:
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            item = self._data.get(key)
            return default if item is None else item[1]

    def set(self, key: Any, value: Any) -> None:
        now = time.monotonic()
        with self._lock:
            self._data.pop(key, None)
            self._data[key] = (now, value)
            self._expire(now)

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)


class SlackBot:
    """The bolt App plus citewise's listeners; ``dispatch`` serves one HTTP request."""

    MAX_TURNS = 10  # turns of a thread kept as conversation history
    #: a DM conversation (main view) ends after this long without a message
    DM_IDLE_SECONDS = 2 * 3600.0

    def __init__(self, citewise: CitewiseApp, settings: Settings, workers: int = 8,
                 recorder: Recorder | None = None) -> None:
        from slack_bolt import App
        from slack_sdk import WebClient
        from slack_sdk.signature import SignatureVerifier

        if not settings.slack_bot_token or not (settings.slack_signing_secret
                                                or settings.slack_app_token):
            raise ConfigError(
                "Slack needs CITEWISE_SLACK_BOT_TOKEN plus CITEWISE_SLACK_SIGNING_SECRET (webhook) "
                "or CITEWISE_SLACK_APP_TOKEN (Socket Mode).")
        if settings.slack_app_token and not settings.slack_app_token.startswith("xapp-"):
            raise ConfigError(
                "CITEWISE_SLACK_APP_TOKEN must be an app-level token starting with 'xapp-' "
                "(Basic Information > App-Level Tokens, scope connections:write).")
        self.citewise = citewise
        self.recorder = recorder  # answers posted, so a 👍/👎 reaction can rate them
        self.webhook_enabled = bool(settings.slack_signing_secret)
        self.app_token = settings.slack_app_token
        self.socket_handler: Any = None
        self._closing = threading.Event()
        base_url = settings.slack_api_url
        if not base_url.endswith("/"):
            base_url += "/"
        self.client = WebClient(token=settings.slack_bot_token, base_url=base_url, timeout=30)
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="citewise-slack")
        self.app = App(
            # Socket Mode only: no secret, and the HTTP routes refuse every request (503)
            signing_secret=settings.slack_signing_secret or "socket-mode-only",
            request_verification_enabled=self.webhook_enabled,
            client=self.client,
            # no call to Slack at start: the token is checked on the first event instead
            token_verification_enabled=False,
            process_before_response=False,
            listener_executor=self.executor,
            name="citewise",
        )
        self.verifier = SignatureVerifier(settings.slack_signing_secret or "socket-mode-only")
        # signatures of verified requests, kept past Slack's 5-minute timestamp window
        self.seen_signatures = TTLCache(maxsize=200_000, ttl=6 * 60.0)
        self.seen_events = TTLCache(maxsize=20_000, ttl=3600.0)
        self.seen_messages = TTLCache(maxsize=20_000, ttl=3600.0)
        self.threads = TTLCache(maxsize=2_000, ttl=7 * 24 * 3600.0)
        self.dm_turns = TTLCache(maxsize=2_000, ttl=self.DM_IDLE_SECONDS)  # DM main views
        # one answer at a time per conversation, so a quick second message sees the first turn
        self._conversation_locks = TTLCache(maxsize=2_000, ttl=3600.0)
        self._locks_lock = threading.Lock()
        self._register()

    # ---- bolt wiring -------------------------------------------------------------------
    def _register(self) -> None:
        from slack_bolt import BoltResponse

        app = self.app

        @app.middleware
        def drop_retries(body: dict[str, Any], next: Any, request: Any) -> Any:  # noqa: A002
            """One answer per event: Slack retries (X-Slack-Retry-Num) repeat the event_id."""
            if body.get("type") == "event_callback":
                event_id = body.get("event_id") or _event_key(body.get("event") or {})
                if event_id and not (self.seen_events.add_if_absent(event_id)
                                     and self._first_on_any_replica(event_id)):
                    retry = (request.headers.get("x-slack-retry-num") or ["0"])[0]
                    log.info("slack: dropping duplicate event %s (retry %s)", event_id, retry)
                    return BoltResponse(status=200, body="",
                                        headers={"x-slack-no-retry": "1"})
            return next()

        @app.event("app_mention")
        def on_mention(event: dict[str, Any]) -> None:
            self._answer_event(event)

        @app.event("message")
        def on_message(event: dict[str, Any]) -> None:
            # direct messages only; in channels the bot answers when mentioned (app_mention)
            if event.get("channel_type") != "im":
                return
            if event.get("subtype") or event.get("bot_id"):
                return  # edits, joins, bot posts (including our own answers)
            self._answer_event(event)

        @app.event("reaction_added")
        def on_reaction(event: dict[str, Any]) -> None:
            self._rate(event)

        @app.event("reaction_removed")
        def on_unreaction(event: dict[str, Any]) -> None:
            pass  # the feedback log is append-only: a rating taken back stays recorded

        @app.command("/ask")
        def on_ask(ack: Any, command: dict[str, Any], respond: Any) -> None:
            question = (command.get("text") or "").strip()
            if not question:
                ack(text=HELP)
                return
            ack(text=f":hourglass_flowing_sand: Looking that up: _{slack_escape(question)}_")
            self._answer_command(command, question, respond)

    def _first_on_any_replica(self, event_id: str) -> bool:
        """A retry may land on another replica behind the load balancer: the event id is also
        claimed in the shared store (Citewise.claim_once). If the store fails, answer anyway:
        a rare duplicate beats a lost question."""
        try:
            return self.citewise.claim_once(f"slack-event:{event_id}")
        except CitewiseError as exc:
            log.warning("slack: could not record event %s in the shared store: %s", event_id, exc)
            return True

    # ---- answering ---------------------------------------------------------------------
    def _ask(self, question: str, history: list[Turn] | None) -> tuple[Answer | None, str, list]:
        try:
            answer = self.citewise.ask(question, history=history or None)
        except CitewiseError as exc:
            text, blocks = slack_error(str(exc))
            return None, text, blocks
        except Exception as exc:
            log.exception("slack: answering failed")
            text, blocks = slack_error(f"Something went wrong answering this ({type(exc).__name__}).")
            return None, text, blocks
        text, blocks = slack_answer(answer)
        return answer, text, blocks

    def _remember(self, channel: str, thread_ts: str | None, question: str,
                  answer: Answer | None) -> None:
        """Add a turn to a thread's history (``thread_ts`` None: a DM's main view)."""
        if answer is None:
            return
        cache = self.threads if thread_ts else self.dm_turns
        turns = list(cache.get((channel, thread_ts), []))
        turns.append(Turn(question=question, answer=answer.answer))
        cache.set((channel, thread_ts), turns[-self.MAX_TURNS:])

    def _answer_event(self, event: dict[str, Any]) -> None:
        channel = event.get("channel")
        ts = event.get("ts")
        if not channel or not ts:
            return
        if not self.seen_messages.add_if_absent((channel, ts)):
            return  # the same message as another event (app_mention and message.*)
        is_dm = event.get("channel_type") == "im" or str(channel).startswith("D")
        # a DM's main view is one conversation, answered in place; elsewhere, in the thread
        thread_ts = event.get("thread_ts") or (None if is_dm else ts)
        question = strip_mentions(event.get("text") or "")
        if not question:
            self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=HELP)
            return
        cache = self.threads if thread_ts else self.dm_turns
        with self._conversation_lock((channel, thread_ts)):
            history = cache.get((channel, thread_ts), [])
            answer, text, blocks = self._ask(question, history)
            resp = self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text,
                                                blocks=blocks, unfurl_links=False,
                                                unfurl_media=False)
            self._remember(channel, thread_ts, question, answer)
        self._record(answer, history, resp.get("channel") or channel, resp.get("ts"),
                     event.get("user") or "")

    def _conversation_lock(self, key: tuple[str, str | None]) -> threading.Lock:
        with self._locks_lock:
            lock = self._conversation_locks.get(key)
            if lock is None:
                lock = threading.Lock()
            self._conversation_locks.set(key, lock)  # refreshes its expiry
            return lock

    def _answer_command(self, command: dict[str, Any], question: str, respond: Any) -> None:
        from slack_sdk.errors import SlackApiError

        channel = command.get("channel_id") or ""
        user = command.get("user_id") or ""
        answer, text, blocks = self._ask(question, None)
        asked = {"type": "context", "elements": [{
            "type": "mrkdwn", "text": f"<@{slack_escape(user)}> asked: {slack_escape(question)}"[:2000],
        }]}
        blocks = [asked, *blocks][:50]
        try:
            resp = self.client.chat_postMessage(channel=channel, text=text, blocks=blocks,
                                                unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            # e.g. not_in_channel: answer through the command's response_url instead
            log.info("slack: chat.postMessage failed (%s); using response_url",
                     exc.response.get("error"))
            respond(text=text, blocks=blocks, response_type="in_channel")
            return
        ts = resp.get("ts")
        if ts:  # follow-ups in the answer's thread continue this conversation
            self._remember(resp.get("channel") or channel, ts, question, answer)
            self._record(answer, None, resp.get("channel") or channel, ts, user)

    # ---- feedback ----------------------------------------------------------------------
    def _record(self, answer: Answer | None, history: list[Turn] | None, channel: str,
                ts: str | None, user: str) -> None:
        """Record a posted answer and link it to its message, for reactions to rate."""
        if answer is None or not ts or self.recorder is None or self.recorder.log is None:
            return
        answer_id = self.recorder.record(answer, history, "slack", user)
        if answer_id:
            try:
                self.recorder.log.link(f"{channel}:{ts}", answer_id)
            except CitewiseError as exc:
                log.warning("slack: could not link message %s to its answer: %s", ts, exc)

    def _rate(self, event: dict[str, Any]) -> None:
        """A 👍 (``+1``, ``thumbsup``) or 👎 (``-1``, ``thumbsdown``) reaction on one of our
        answers is a rating; other reactions and other messages are not."""
        reaction = str(event.get("reaction") or "").split("::")[0]  # "+1::skin-tone-3"
        item = event.get("item") or {}
        if (reaction not in SLACK_RATINGS or item.get("type") != "message"
                or self.recorder is None or self.recorder.log is None):
            return
        key = f"{item.get('channel')}:{item.get('ts')}"
        try:
            answer_id = self.recorder.log.linked(key)
            if answer_id:
                self.recorder.rate(answer_id, SLACK_RATINGS[reaction], user=event.get("user", ""),
                                   channel="slack")
        except CitewiseError as exc:
            log.warning("slack: could not record the %s reaction on %s: %s", reaction, key, exc)

    # ---- HTTP --------------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response

        body = await request.body()
        refusal = self._refusal(request, body)
        if refusal:
            log.warning("slack: refusing a request to %s: %s", request.url.path, refusal)
            return JSONResponse({"error": refusal}, status_code=401)
        try:
            bolt_request = to_bolt_request(request, body)
        except Exception:
            if not self._signed(request, body):  # say nothing about the body to a stranger
                return JSONResponse({"error": "Invalid Slack signature."}, status_code=401)
            return JSONResponse({"error": "Malformed Slack request body."}, status_code=400)
        # dispatch verifies, acks and hands listeners to the pool; it may wait up to 3 s for
        # a command's ack(), so it runs off the event loop
        bolt_response = await run_in_threadpool(self.app.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    def _refusal(self, request: Request, body: bytes) -> str | None:
        """Why a request must get 401 before bolt sees it, or None to let bolt verify it.

        * A timestamp header that is not a number would make bolt's verifier raise (a 500).
        * A validly signed request whose signature was seen before is a replay: without this,
          a captured /ask command could be re-sent for 5 minutes, each time posting an answer.
          Slack's own event retries (X-Slack-Retry-Num) pass; drop_retries answers each event
          once. Unsigned, forged and stale requests are left to bolt, which answers 401.
        """
        timestamp = request.headers.get("x-slack-request-timestamp")
        signature = request.headers.get("x-slack-signature")
        if timestamp is None or signature is None:
            return None
        if not (timestamp.isascii() and timestamp.isdigit()):
            return "Invalid Slack request timestamp."
        if not self._signed(request, body):
            return None
        if request.headers.get("x-slack-retry-num") and request.url.path.endswith("/events"):
            return None
        if not self.seen_signatures.add_if_absent(signature):
            return "Replayed Slack request."
        return None

    def _signed(self, request: Request, body: bytes) -> bool:
        """True when the signature headers are valid for this body, now."""
        timestamp = request.headers.get("x-slack-request-timestamp") or ""
        signature = request.headers.get("x-slack-signature") or ""
        if not (timestamp.isascii() and timestamp.isdigit()) or not signature:
            return False
        return self.verifier.is_valid(body, timestamp, signature)

    # ---- Socket Mode -------------------------------------------------------------------
    def start_socket_mode(self) -> None:
        """Connect to Slack over Socket Mode in the background (retrying until it works)."""
        if not self.app_token or self.socket_handler is not None:
            return
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        self.socket_handler = SocketModeHandler(self.app, self.app_token, web_client=self.client,
                                                logger=logging.getLogger(__name__ + ".socket"))
        threading.Thread(target=self._connect_loop, name="citewise-slack-socket",
                         daemon=True).start()

    def _connect_loop(self) -> None:
        delay = 1.0
        while not self._closing.is_set():
            try:
                self.socket_handler.connect()
                log.info("slack: Socket Mode connected")
                return
            except Exception as exc:
                log.error("slack: Socket Mode could not connect (%s: %s); retrying in %.0f s. "
                          "Check CITEWISE_SLACK_APP_TOKEN (an xapp- token with connections:write), "
                          "that Socket Mode is on for the app, and CITEWISE_SLACK_API_URL.",
                          type(exc).__name__, exc, delay)
                self._closing.wait(delay)
                delay = min(delay * 2, 60.0)

    def socket_connected(self) -> bool:
        return self.socket_handler is not None and self.socket_handler.client.is_connected()

    def close(self) -> None:
        self._closing.set()
        if self.socket_handler is not None:
            try:
                self.socket_handler.close()
            except Exception:  # shutting down: nothing left to tell Slack
                log.debug("slack: closing Socket Mode failed", exc_info=True)
        self.executor.shutdown(wait=False, cancel_futures=True)


def _event_key(event: dict[str, Any]) -> str | None:
    """Fallback identity of an event without event_id: its channel and message ts."""
    if event.get("channel") and event.get("ts"):
        return f"{event['channel']}:{event['ts']}:{event.get('type', '')}"
    return None


def slack_router(bot: SlackBot | None) -> APIRouter:
    router = APIRouter(tags=["slack"])

    async def handler(request: Request) -> Response:
        if bot is None or not bot.webhook_enabled:
            return JSONResponse(
                {"error": "The Slack webhook is not configured: set CITEWISE_SLACK_SIGNING_SECRET "
                          "and CITEWISE_SLACK_BOT_TOKEN and restart `citewise serve` (or use "
                          "Socket Mode: CITEWISE_SLACK_APP_TOKEN, no public URL needed)."},
                status_code=503,
            )
        return await bot.handle(request)

    router.add_api_route(
        "/slack/events", handler, methods=["POST"],
        summary="Slack Events API (url_verification, app_mention, direct messages)",
    )
    router.add_api_route("/slack/commands", handler, methods=["POST"],
                         summary="Slack slash command /ask")
    return router
