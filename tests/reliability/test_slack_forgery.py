"""Slack webhooks under attack: forged, stale, replayed, header-less and altered requests all get
401 and cause nothing (no question answered, no ``chat.postMessage``); Slack's retries of one
event get one reply.

tests/ui/test_slack.py covers the basic bad-signature cases on /slack/events; this adds the
replay, missing-header, future-timestamp and malformed cases, on both endpoints, in-process
(where the citewise stand-in proves no question was even asked) and on the real server.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from rag.config import Settings
from tests.ui.conftest import (
    BOT_TOKEN,
    BOT_USER,
    SIGNING_SECRET,
    FakeCitewise,
    SlackAPIRecorder,
    sample_fake,
    slack_sign,
)
from tests.ui.test_slack import QUESTION, event_body, post_json
from ui.server import create_app

TS, SIG = "X-Slack-Request-Timestamp", "X-Slack-Signature"


def _command(text: str, channel: str) -> bytes:
    from urllib.parse import urlencode

    return urlencode({"token": "legacy", "team_id": "T1", "channel_id": channel,
                      "user_id": "U123", "command": "/ask", "text": text,
                      "response_url": "http://127.0.0.1:9/x", "trigger_id": "1.2.3"}).encode()


def _forge(case: str, raw: bytes) -> tuple[bytes, dict[str, str]]:
    """(body, signature headers) of a request an attacker could send."""
    now = int(time.time())
    if case == "forged-signature":
        return raw, {TS: str(now), SIG: "v0=" + "0" * 64}
    if case == "wrong-secret":
        return raw, slack_sign(raw, secret="a-guessed-secret")
    if case == "stale-5min":
        return raw, slack_sign(raw, timestamp=now - 5 * 60 - 2)
    if case == "stale-1day":
        return raw, slack_sign(raw, timestamp=now - 86_400)
    if case == "future-5min":
        return raw, slack_sign(raw, timestamp=now + 5 * 60 + 2)
    if case == "missing-both":
        return raw, {}
    if case == "missing-signature":
        return raw, {TS: str(now)}
    if case == "missing-timestamp":
        return raw, {SIG: slack_sign(raw)[SIG]}
    if case == "empty-headers":
        return raw, {TS: "", SIG: ""}
    if case == "non-numeric-timestamp":
        return raw, {TS: "soon", SIG: slack_sign(raw)[SIG]}
    if case == "old-scheme":
        h = slack_sign(raw)
        return raw, {**h, SIG: h[SIG].replace("v0=", "v1=")}
    if case == "body-altered":
        h = slack_sign(raw)
        return raw.replace(b"stake", b"share").replace(b"Microsoft", b"Micr0soft"), h
    if case == "body-appended":
        return raw + b"&text=ignore+that", slack_sign(raw)
    raise ValueError(case)


CASES = ["forged-signature", "wrong-secret", "stale-5min", "stale-1day", "future-5min",
         "missing-both", "missing-signature", "missing-timestamp", "empty-headers",
         "non-numeric-timestamp", "old-scheme", "body-altered", "body-appended"]


def _requests(case: str, channel: str) -> Iterator[tuple[str, bytes, dict[str, str]]]:
    """The forged request for both endpoints: (path, body, headers)."""
    event = json.dumps(event_body(f"<@{BOT_USER}> {QUESTION}", channel=channel)).encode()
    body, h = _forge(case, event)
    yield "/slack/events", body, {"Content-Type": "application/json", **h}
    body, h = _forge(case, _command(QUESTION, channel))
    yield "/slack/commands", body, {"Content-Type": "application/x-www-form-urlencoded", **h}


# ---- in-process: the stand-in records every question asked ---------------------------------


@pytest.fixture(scope="module")
def recorder() -> Iterator[SlackAPIRecorder]:
    rec = SlackAPIRecorder()
    yield rec
    rec.close()


@pytest.fixture(scope="module")
def fake() -> FakeCitewise:
    return sample_fake()


@pytest.fixture(scope="module")
def client(fake: FakeCitewise, recorder: SlackAPIRecorder,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(store=tmp_path_factory.mktemp("slack"), slack_signing_secret=SIGNING_SECRET,
                        slack_bot_token=BOT_TOKEN, slack_api_url=recorder.url)
    with TestClient(create_app(fake, settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(autouse=True)
def _quiet(recorder: SlackAPIRecorder, fake: FakeCitewise) -> None:
    recorder.clear()
    fake.calls.clear()


def _settle(recorder: SlackAPIRecorder, n: int, pause: float = 0.5) -> list[dict]:
    """Posts once ``n`` arrived, after a pause that lets any extra (wrong) post arrive too."""
    recorder.wait_posts(n, timeout=30)
    time.sleep(pause)
    return recorder.posts()


@pytest.mark.parametrize("case", CASES)
def test_forged_requests_get_401_and_do_nothing(client: TestClient, recorder: SlackAPIRecorder,
                                                fake: FakeCitewise, case: str) -> None:
    for path, body, headers in _requests(case, channel="CFORGE"):
        r = client.post(path, content=body, headers=headers)
        assert r.status_code == 401, (path, r.status_code, r.text)
        assert "challenge" not in r.text and QUESTION not in r.text
    assert _settle(recorder, 0, pause=0.3) == []
    assert fake.calls == []  # not even asked


@pytest.mark.parametrize("path", ["/slack/events", "/slack/commands"])
def test_replayed_request_gets_401_and_no_second_answer(client: TestClient,
                                                        recorder: SlackAPIRecorder,
                                                        fake: FakeCitewise, path: str) -> None:
    if path == "/slack/events":
        raw = json.dumps(event_body(f"<@{BOT_USER}> {QUESTION}", channel="CREPLAY")).encode()
        ctype = "application/json"
    else:
        raw, ctype = _command(QUESTION, "CREPLAY"), "application/x-www-form-urlencoded"
    headers = {"Content-Type": ctype, **slack_sign(raw)}
    assert client.post(path, content=raw, headers=headers).status_code == 200
    assert len(_settle(recorder, 1)) == 1
    for _ in range(3):  # the captured request, byte for byte, within the 5-minute window
        r = client.post(path, content=raw, headers=headers)
        assert r.status_code == 401 and "Replayed" in r.json()["error"]
    assert len(_settle(recorder, 1, pause=1.0)) == 1 and len(fake.calls) == 1


def test_three_retries_of_one_event_get_one_reply(client: TestClient, recorder: SlackAPIRecorder,
                                                  fake: FakeCitewise) -> None:
    body = event_body(f"<@{BOT_USER}> {QUESTION}", channel="CRETRY", event_id="EvRELRETRY")
    assert post_json(client, "/slack/events", body).status_code == 200
    raw = json.dumps(body).encode()
    same = slack_sign(raw)
    for n in (1, 2, 3):
        time.sleep(1.0 if n == 1 else 0)  # a later timestamp: Slack signs each delivery
        r = post_json(client, "/slack/events", body,
                      headers={"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"})
        assert r.status_code == 200
    # a retry that repeats the original delivery's exact signature is dropped the same way
    r = client.post("/slack/events", content=raw, headers={
        "Content-Type": "application/json", **same, "X-Slack-Retry-Num": "3"})
    assert r.status_code == 200
    posts = _settle(recorder, 1, pause=1.0)
    assert len(posts) == 1 and posts[0]["channel"] == "CRETRY"
    assert len(fake.calls) == 1


# ---- the real server (real Citewise, the fake Slack Web API on 127.0.0.1) ------------------


@pytest.mark.slow
def test_live_server_refuses_forgeries_and_answers_retries_once(live_server) -> None:
    rec = live_server.slack
    rec.clear()
    channel_posts: Callable[[str], list[dict]] = \
        lambda ch: [p for p in rec.posts() if p.get("channel") == ch]  # noqa: E731
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        for case in CASES:
            for path, body, headers in _requests(case, channel="CLIVEFORGE"):
                r = http.post(path, content=body, headers=headers)
                assert r.status_code == 401, (case, path, r.status_code, r.text)
        # a genuine event, replayed verbatim, then retried three times by "Slack"
        body = event_body(f"<@{BOT_USER}> {QUESTION}", channel="CLIVERETRY", event_id="EvLIVEREL")
        raw = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **slack_sign(raw)}
        assert http.post("/slack/events", content=raw, headers=headers).status_code == 200
        assert http.post("/slack/events", content=raw, headers=headers).status_code == 401
        for n in (1, 2, 3):
            r = post_json(http, "/slack/events", body, headers={"X-Slack-Retry-Num": str(n)})
            assert r.status_code == 200
        # a genuine command, replayed verbatim
        raw = _command(QUESTION, "CLIVECMD")
        headers = {"Content-Type": "application/x-www-form-urlencoded", **slack_sign(raw)}
        assert http.post("/slack/commands", content=raw, headers=headers).status_code == 200
        assert http.post("/slack/commands", content=raw, headers=headers).status_code == 401
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (channel_posts("CLIVERETRY")
                                               and channel_posts("CLIVECMD")):
        time.sleep(0.1)
    time.sleep(1.5)  # room for a wrong second answer to arrive
    assert channel_posts("CLIVEFORGE") == []
    assert len(channel_posts("CLIVERETRY")) == 1 and len(channel_posts("CLIVECMD")) == 1
    (answer,) = channel_posts("CLIVERETRY")
    assert "27" in json.dumps(answer["blocks"]) or "135" in json.dumps(answer["blocks"])
    assert live_server.outbound() == []
