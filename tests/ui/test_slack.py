"""Slack webhooks: signature checks, url_verification, answers in threads, retries, /ask.

Requests are signed with the signing secret exactly as Slack signs them; the real slack-sdk
client posts to a local "Slack API" (``SlackAPIRecorder``) that records every call.
"""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient

from rag.config import Settings
from tests.ui.conftest import (
    BOT_TOKEN,
    BOT_USER,
    SAMPLE_DIR,
    SIGNING_SECRET,
    SlackAPIRecorder,
    sample_fake,
    slack_sign,
    stop_server,
)
from ui.server import create_app
from ui.slack import TTLCache

SAMPLE_TEXT = (SAMPLE_DIR / "microsoft-openai-partnership.txt").read_text(encoding="utf-8")
QUESTION = "What stake does Microsoft hold in OpenAI Group PBC?"


def event_body(text: str, *, channel: str = "C1", ts: str | None = None, thread_ts: str | None = None,
               kind: str = "app_mention", channel_type: str | None = None,
               event_id: str | None = None, **extra) -> dict:
    event = {"type": kind, "user": "U123", "text": text, "channel": channel,
             "ts": ts or f"{time.time():.6f}", **extra}
    if thread_ts:
        event["thread_ts"] = thread_ts
    if channel_type:
        event["channel_type"] = channel_type
    return {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10]}", "event_time": int(time.time()),
            "event": event}


def post_json(http, url: str, body: dict, headers: dict | None = None, sign: bool = True,
              **sign_kw) -> httpx.Response:
    raw = json.dumps(body).encode()
    h = {"Content-Type": "application/json", **(slack_sign(raw, **sign_kw) if sign else {}),
         **(headers or {})}
    return http.post(url, content=raw, headers=h)


def post_command(http, url: str, text: str, channel: str = "C9") -> httpx.Response:
    raw = urlencode({"token": "legacy", "team_id": "T1", "channel_id": channel, "user_id": "U123",
                     "command": "/ask", "text": text, "response_url": "http://127.0.0.1:9/x",
                     "trigger_id": "1.2.3"}).encode()
    h = {"Content-Type": "application/x-www-form-urlencoded", **slack_sign(raw)}
    return http.post(url, content=raw, headers=h)


def blocks_text(post: dict) -> str:
    return json.dumps(post.get("blocks"))


# ---- in-process app over a FakeCitewise -----------------------------------------------------


@pytest.fixture(scope="module")
def recorder():
    rec = SlackAPIRecorder()
    yield rec
    rec.close()


@pytest.fixture(scope="module")
def fake():
    return sample_fake()


@pytest.fixture(scope="module")
def client(fake, recorder, tmp_path_factory):
    settings = Settings(store=tmp_path_factory.mktemp("slack-store"),
                        slack_signing_secret=SIGNING_SECRET, slack_bot_token=BOT_TOKEN,
                        slack_api_url=recorder.url)
    with TestClient(create_app(fake, settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(autouse=True)
def _clear(recorder):
    recorder.clear()


def test_url_verification(client):
    r = post_json(client, "/slack/events", {"type": "url_verification", "challenge": "abc123",
                                            "token": "legacy"})
    assert r.status_code == 200
    assert r.json() == {"challenge": "abc123"} or r.text == "abc123"


@pytest.mark.parametrize("case", ["unsigned", "forged", "stale", "wrong-secret", "tampered"])
def test_bad_signatures_get_401_and_do_nothing(client, recorder, fake, case):
    body = event_body(f"<@{BOT_USER}> {QUESTION}")
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if case == "forged":
        headers.update({"X-Slack-Request-Timestamp": str(int(time.time())),
                        "X-Slack-Signature": "v0=" + "0" * 64})
    elif case == "stale":
        headers.update(slack_sign(raw, timestamp=int(time.time()) - 6 * 60))
    elif case == "wrong-secret":
        headers.update(slack_sign(raw, secret="not-the-secret"))
    elif case == "tampered":
        headers.update(slack_sign(raw))
        raw = raw.replace(b"stake", b"STAKE")
    calls = len(fake.calls)
    r = client.post("/slack/events", content=raw, headers=headers)
    assert r.status_code == 401
    r = client.post("/slack/commands", content=b"text=hi&command=%2Fask",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 401
    time.sleep(0.3)
    assert recorder.posts() == [] and len(fake.calls) == calls


def test_mention_is_answered_in_its_thread_with_block_kit(client, recorder):
    body = event_body(f"<@{BOT_USER}> {QUESTION}", ts="1700000000.000100")
    t0 = time.perf_counter()
    r = post_json(client, "/slack/events", body)
    assert r.status_code == 200 and time.perf_counter() - t0 < 3
    (post,) = recorder.wait_posts(1)
    assert post["channel"] == "C1" and post["thread_ts"] == "1700000000.000100"
    blocks = post["blocks"] if isinstance(post["blocks"], list) else json.loads(post["blocks"])
    assert blocks[0]["type"] == "section" and "[1]" in blocks[0]["text"]["text"]
    dumped = json.dumps(blocks)
    assert "*[1]*" in dumped and "https://example.com/article" in dumped
    assert "27 per cent" in dumped and post["text"]


def test_retries_never_produce_a_second_answer(client, recorder, fake):
    body = event_body(f"<@{BOT_USER}> {QUESTION}", event_id="EvRETRY1")
    assert post_json(client, "/slack/events", body).status_code == 200
    for n in (1, 2, 3):
        r = post_json(client, "/slack/events", body,
                      headers={"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"})
        assert r.status_code == 200
    recorder.wait_posts(1)
    time.sleep(0.5)
    assert len(recorder.posts()) == 1


def test_follow_up_in_thread_uses_earlier_turns(client, recorder, fake):
    root = "1700000100.000100"
    post_json(client, "/slack/events", event_body(f"<@{BOT_USER}> {QUESTION}", ts=root,
                                                  channel="C7"))
    recorder.wait_posts(1)
    fake.calls.clear()
    post_json(client, "/slack/events", event_body(f"<@{BOT_USER}> and what was it before?",
                                                  ts="1700000101.000100", thread_ts=root,
                                                  channel="C7"))
    posts = recorder.wait_posts(2)
    assert len(posts) == 2 and posts[1]["thread_ts"] == root
    question, history = fake.calls[-1]
    assert question == "and what was it before?"
    assert [t.question for t in history] == [QUESTION]
    assert history[0].answer  # the earlier answer's text


def test_direct_message_is_answered(client, recorder):
    body = event_body(QUESTION, kind="message", channel="D1", channel_type="im")
    post_json(client, "/slack/events", body)
    (post,) = recorder.wait_posts(1)
    assert post["channel"] == "D1" and "thread_ts" not in post  # in the DM's main view


def test_consecutive_direct_messages_are_one_conversation(client, recorder, fake):
    post_json(client, "/slack/events", event_body(QUESTION, kind="message", channel="D3",
                                                  channel_type="im"))
    recorder.wait_posts(1)
    fake.calls.clear()
    post_json(client, "/slack/events", event_body("and what was it before?", kind="message",
                                                  channel="D3", channel_type="im"))
    posts = recorder.wait_posts(2)
    assert len(posts) == 2 and all("thread_ts" not in p for p in posts)
    question, history = fake.calls[-1]
    assert question == "and what was it before?"
    assert [t.question for t in history] == [QUESTION] and history[0].answer
    # another DM channel (another person) is another conversation
    post_json(client, "/slack/events", event_body("and what was it before?", kind="message",
                                                  channel="D4", channel_type="im"))
    recorder.wait_posts(3)
    assert fake.calls[-1][1] == []
    # a thread inside the DM keeps its own history, apart from the main view
    root = "1700000300.000100"
    post_json(client, "/slack/events", event_body("walrus?", kind="message", channel="D3",
                                                  channel_type="im", ts="1700000301.000100",
                                                  thread_ts=root))
    posts = recorder.wait_posts(4)
    assert posts[-1]["thread_ts"] == root and fake.calls[-1][1] == []


def test_not_found_reply_is_short(client, recorder, fake):
    question = "boiling tungsten Microsoft"  # the fake abstains, with 3 related passages
    assert len(fake.ask(question).related) == 3
    post_json(client, "/slack/events", event_body(f"<@{BOT_USER}> {question}", channel="C8"))
    (post,) = recorder.wait_posts(1)
    blocks = post["blocks"]
    head = blocks[0]["text"]["text"]
    assert "Not found" in head and "\n" not in head  # one line
    passages = [b for b in blocks[1:] if b["type"] == "section"]
    assert 1 <= len(passages) <= 2
    assert all(len(b["text"]["text"]) <= 400 for b in passages)
    assert len(json.dumps(blocks)) < 2500



@pytest.mark.parametrize("extra", [{"bot_id": "B9"}, {"subtype": "message_changed"},
                                   {"channel_type": "channel"}])
def test_bot_edits_and_channel_messages_are_ignored(client, recorder, extra):
    kw = {"channel_type": "im", **extra}
    body = event_body(QUESTION, kind="message", channel="D2", **kw)
    assert post_json(client, "/slack/events", body).status_code == 200
    time.sleep(0.5)
    assert recorder.posts() == []


def test_slash_command_acks_fast_and_posts_the_answer(client, recorder):
    t0 = time.perf_counter()
    r = post_command(client, "/slack/commands", QUESTION)
    assert r.status_code == 200 and time.perf_counter() - t0 < 3
    assert "Looking that up" in r.text
    (post,) = recorder.wait_posts(1)
    assert post["channel"] == "C9"
    dumped = blocks_text(post)
    assert "asked:" in dumped and "27 per cent" in dumped and "*[1]*" in dumped


def test_empty_slash_command_gets_help(client, recorder):
    r = post_command(client, "/slack/commands", "  ")
    assert r.status_code == 200 and "/ask" in r.text
    time.sleep(0.3)
    assert recorder.posts() == []


def test_hostile_text_cannot_mention_or_break_blocks(client, recorder, fake):
    fake.add("evil.txt", "The walrus password is <@U999> <script>x</script> <!channel> ok.",
             "Walrus <b>", "javascript:alert(1)")
    post_json(client, "/slack/events", event_body(f"<@{BOT_USER}> walrus password"))
    (post,) = recorder.wait_posts(1)
    dumped = blocks_text(post)
    assert "<!channel>" not in dumped and "<@U999>" not in dumped and "javascript:" not in dumped
    assert "&lt;!" in dumped  # shown as text
    del fake.docs["evil.txt"]


def test_slack_not_configured_is_503(tmp_path):
    with TestClient(create_app(sample_fake(), Settings(store=tmp_path))) as c:
        r = c.post("/slack/events", json={"type": "url_verification", "challenge": "x"})
        assert r.status_code == 503 and "CITEWISE_SLACK_SIGNING_SECRET" in r.json()["error"]


def test_ttl_cache_bounds_and_expiry():
    c = TTLCache(maxsize=3, ttl=0.2)
    assert c.add_if_absent("a") and not c.add_if_absent("a")
    for k in "bcd":
        c.add_if_absent(k)
    assert len(c) == 3 and c.add_if_absent("a")  # "a" was evicted by size
    time.sleep(0.25)
    assert c.add_if_absent("b")  # expired


# ---- the real server over HTTP --------------------------------------------------------------


@pytest.mark.slow
def test_live_slack_flow(live_server):
    url = live_server.url
    rec = live_server.slack
    rec.clear()
    with httpx.Client(base_url=url, timeout=30) as http:
        r = post_json(http, "/slack/events", {"type": "url_verification", "challenge": "chal-42",
                                              "token": "x"})
        assert r.status_code == 200 and "chal-42" in r.text

        body = event_body(f"<@{BOT_USER}> {QUESTION}", channel="CLIVE", ts="1700000200.000100",
                          event_id="EvLIVE1")
        raw = json.dumps(body).encode()
        assert http.post("/slack/events", content=raw,
                         headers={"Content-Type": "application/json"}).status_code == 401
        assert http.post("/slack/events", content=raw, headers={
            "Content-Type": "application/json",
            **slack_sign(raw, timestamp=int(time.time()) - 600)}).status_code == 401
        assert http.post("/slack/events", content=raw, headers={
            "Content-Type": "application/json",
            **slack_sign(raw, secret="forged")}).status_code == 401

        t0 = time.perf_counter()
        assert post_json(http, "/slack/events", body).status_code == 200
        assert time.perf_counter() - t0 < 3
        for n in (1, 2):
            assert post_json(http, "/slack/events", body,
                             headers={"X-Slack-Retry-Num": str(n)}).status_code == 200
        posts = rec.wait_posts(1, timeout=60)
        time.sleep(1.0)
        posts = [p for p in rec.posts() if p.get("channel") == "CLIVE"]
        assert len(posts) == 1
        post = posts[0]
        assert post["thread_ts"] == "1700000200.000100"
        blocks = post["blocks"]
        assert blocks[0]["type"] == "section" and blocks[1]["type"] == "divider"
        sources = [b["text"]["text"] for b in blocks[2:] if b["type"] == "section"]
        assert sources and sources[0].startswith("*[1]*")
        quote = sources[0].split("\n> ", 1)[1].rstrip("…")
        assert " ".join(quote.split())[:60] in " ".join(SAMPLE_TEXT.split())

        r = post_command(http, "/slack/commands", QUESTION, channel="CCMD")
        assert r.status_code == 200
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not [p for p in rec.posts() if p.get("channel") == "CCMD"]:
            time.sleep(0.1)
        (cmd,) = [p for p in rec.posts() if p.get("channel") == "CCMD"]
        assert "*[1]*" in blocks_text(cmd)
    assert live_server.outbound() == []


def test_one_answer_per_message_even_as_two_events(client, recorder):
    """A DM that mentions the bot can arrive as message.im and app_mention (two event ids)."""
    ts = f"{time.time():.6f}"
    post_json(client, "/slack/events", event_body(f"<@{BOT_USER}> {QUESTION}", channel="D5", ts=ts))
    post_json(client, "/slack/events", event_body(f"<@{BOT_USER}> {QUESTION}", channel="D5", ts=ts,
                                                  kind="message", channel_type="im"))
    recorder.wait_posts(1)
    time.sleep(0.5)
    assert len(recorder.posts()) == 1


# ---- Socket Mode: slack-sdk's client against a local WebSocket server ------------------------


APP_TOKEN = "xapp-1-A1-test"


@pytest.fixture(scope="module")
def socket_mode(fake, recorder, tmp_path_factory):
    """The app with only a bot token and an app token (no signing secret, no public URL)."""
    from tests.ui.conftest import SocketModeServer

    ws = SocketModeServer()
    recorder.ws_url = ws.url
    settings = Settings(store=tmp_path_factory.mktemp("socket-store"), slack_bot_token=BOT_TOKEN,
                        slack_app_token=APP_TOKEN, slack_api_url=recorder.url)
    app = create_app(fake, settings)
    with TestClient(app, raise_server_exceptions=False) as c:
        bot = app.state.slack
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not bot.socket_connected():
            time.sleep(0.05)
        assert bot.socket_connected(), "Socket Mode did not connect to the local server"
        yield ws, c, bot
    recorder.ws_url = None
    ws.close()


def test_socket_mode_connects_with_the_app_token(socket_mode, recorder):
    ws, http, _bot = socket_mode
    assert ws.connections >= 1 and recorder.opened_with[-1] == APP_TOKEN
    # the webhook is not configured (no signing secret): Socket Mode needs no public URL
    r = http.post("/slack/events", json={"type": "url_verification", "challenge": "x"})
    assert r.status_code == 503 and "CITEWISE_SLACK_APP_TOKEN" in r.json()["error"]


def test_socket_mode_events_are_acknowledged_and_answered_once(socket_mode, recorder, fake):
    ws, _http, _bot = socket_mode
    body = event_body(f"<@{BOT_USER}> {QUESTION}", channel="CSOCK", ts="1700000400.000100",
                      event_id="EvSOCK1")
    first = ws.send_envelope(body)
    retry = ws.send_envelope(body, retry_attempt=1)  # Slack redelivers: same event_id
    acks = ws.wait_acks(2)
    assert {a["envelope_id"] for a in acks} >= {first, retry}
    (post,) = recorder.wait_posts(1)
    time.sleep(0.5)
    assert len(recorder.posts()) == 1
    assert post["channel"] == "CSOCK" and post["thread_ts"] == "1700000400.000100"
    assert "27 per cent" in blocks_text(post) and "*[1]*" in blocks_text(post)
    # a follow-up in the thread uses the earlier turn, as over the webhook
    fake.calls.clear()
    ws.send_envelope(event_body(f"<@{BOT_USER}> and what was it before?", channel="CSOCK",
                                ts="1700000401.000100", thread_ts="1700000400.000100"))
    posts = recorder.wait_posts(2)
    assert len(posts) == 2 and posts[1]["thread_ts"] == "1700000400.000100"
    assert [t.question for t in fake.calls[-1][1]] == [QUESTION]


def test_socket_mode_direct_messages_and_commands(socket_mode, recorder, fake):
    ws, _http, _bot = socket_mode
    n = len(ws.acks)
    ws.send_envelope(event_body(QUESTION, kind="message", channel="DSOCK", channel_type="im"))
    ws.send_envelope(event_body("and what was it before?", kind="message", channel="DSOCK",
                                channel_type="im"))
    posts = recorder.wait_posts(2)
    assert [p["channel"] for p in posts] == ["DSOCK", "DSOCK"]
    assert [t.question for t in fake.calls[-1][1]] == [QUESTION]
    command = {"token": "legacy", "team_id": "T1", "channel_id": "CSCMD", "user_id": "U123",
               "command": "/ask", "text": QUESTION, "response_url": "http://127.0.0.1:9/x",
               "trigger_id": "1.2.3"}
    env = ws.send_envelope(command, kind="slash_commands")
    acks = ws.wait_acks(n + 3)
    (ack,) = [a for a in acks if a["envelope_id"] == env]
    assert "Looking that up" in json.dumps(ack.get("payload"))  # the command's ack message
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not [p for p in recorder.posts()
                                               if p.get("channel") == "CSCMD"]:
        time.sleep(0.05)
    (cmd,) = [p for p in recorder.posts() if p.get("channel") == "CSCMD"]
    assert "27 per cent" in blocks_text(cmd)


def test_socket_mode_refuses_a_bot_token_as_app_token(tmp_path):
    from rag.errors import ConfigError

    settings = Settings(store=tmp_path, slack_bot_token=BOT_TOKEN, slack_app_token=BOT_TOKEN)
    with pytest.raises(ConfigError, match="xapp-"):
        create_app(sample_fake(), settings)


@pytest.mark.slow
def test_live_socket_mode_with_the_real_server(tmp_path):
    """`CITEWISE_SLACK_APP_TOKEN=xapp-… citewise serve` (real model and index, no signing secret, no
    public URL) answers a mention that arrives over Socket Mode, and acknowledges it."""
    import os
    import subprocess
    import sys

    from tests.ui.conftest import ROOT, SocketModeServer, _wait_healthy, free_port

    rec = SlackAPIRecorder()
    ws = SocketModeServer()
    rec.ws_url = ws.url
    port = free_port()
    log = tmp_path / "server.log"
    env = {**os.environ, "CITEWISE_SLACK_BOT_TOKEN": BOT_TOKEN,
           "CITEWISE_SLACK_API_URL": rec.url, "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
           "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT)}
    env.pop("CITEWISE_SLACK_SIGNING_SECRET", None)
    env["CITEWISE_SLACK_APP_TOKEN"] = APP_TOKEN  # a secret: environment only, never a flag
    cmd = [sys.executable, "-m", "ui.cli", "serve", "--store", str(tmp_path / "store"),
           "--port", str(port), "--ingest", str(SAMPLE_DIR), "-v"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, proc, log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not ws.connections:
            time.sleep(0.1)
        assert ws.connections == 1 and rec.opened_with == [APP_TOKEN], log.read_text()[-3000:]
        assert "Socket Mode connected" in log.read_text()
        body = event_body(f"<@{BOT_USER}> {QUESTION}", channel="CLIVESOCK",
                          ts="1700000500.000100", event_id="EvLIVESOCK")
        env_id = ws.send_envelope(body)
        ws.send_envelope(body, retry_attempt=1)
        assert env_id in {a["envelope_id"] for a in ws.wait_acks(2, timeout=30)}
        (post,) = rec.wait_posts(1, timeout=120)
        time.sleep(1.0)
        assert len(rec.posts()) == 1  # the redelivery was acknowledged, not answered again
        assert post["channel"] == "CLIVESOCK" and post["thread_ts"] == "1700000500.000100"
        sources = [b["text"]["text"] for b in post["blocks"][2:] if b["type"] == "section"]
        assert sources and sources[0].startswith("*[1]*")
        quote = sources[0].split("\n> ", 1)[1].rstrip("…")
        assert " ".join(quote.split())[:60] in " ".join(SAMPLE_TEXT.split())
        # the webhook is off without a signing secret
        r = httpx.post(url + "/slack/events", json={"type": "url_verification"}, timeout=10)
        assert r.status_code == 503
    finally:
        stop_server(proc)
        ws.close()
        rec.close()
