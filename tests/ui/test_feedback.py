"""👍/👎 from every front end into the feedback log, and the ``citewise feedback`` commands.

Fast tests: the app in-process over a FakeCitewise (API, chat handlers, signed Slack events to
the real slack-bolt app); the CLI through ``ui.cli.main`` on the log those wrote.
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from citewise.feedback import FeedbackLog
from rag.config import Settings
from tests.ui.conftest import (
    BOT_TOKEN,
    BOT_USER,
    SIGNING_SECRET,
    SlackAPIRecorder,
    sample_fake,
)
from tests.ui.test_slack import event_body, post_json
from ui.chat import ChatUI
from ui.cli import main
from ui.feedback import Recorder, feedback_path

QUESTION = "What stake does Microsoft hold in OpenAI Group PBC?"


@pytest.fixture(scope="module")
def slack():
    rec = SlackAPIRecorder()
    yield rec
    rec.close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory, slack):
    from ui.server import create_app

    fake = sample_fake()
    settings = Settings(store=tmp_path_factory.mktemp("fb-store"),
                        slack_signing_secret=SIGNING_SECRET, slack_bot_token=BOT_TOKEN,
                        slack_api_url=slack.url)
    with TestClient(create_app(fake, settings), raise_server_exceptions=False) as client:
        yield SimpleNamespace(client=client, fake=fake, settings=settings,
                              log=FeedbackLog(feedback_path(settings)))


def test_api_answers_carry_an_id_to_rate(setup):
    c = setup.client
    answer = c.post("/api/ask", json={"question": QUESTION}).json()
    assert isinstance(answer["id"], str) and len(answer["id"]) == 32
    r = c.post("/api/feedback", json={"answer_id": answer["id"], "rating": "down",
                                      "comment": "Wrong year"})
    assert r.status_code == 201, r.text
    item = setup.log.get(r.json()["id"])
    assert item.rating == -1 and item.comment == "Wrong year" and item.question == QUESTION
    assert item.answer["citations"] == answer["citations"]
    assert item.channel.startswith("api")


def test_a_streamed_answer_can_be_rated_too(setup):
    with setup.client.stream("POST", "/api/ask/stream", json={"question": QUESTION}) as r:
        text = "".join(r.iter_text())
    final = json.loads(text.strip().split("\n\n")[-1].split("data: ", 1)[1])
    r = setup.client.post("/api/feedback", json={"answer_id": final["id"], "rating": "up"})
    assert r.status_code == 201 and setup.log.get(r.json()["id"]).rating == 1


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"answer_id": "0" * 32, "rating": "up"}, 404, "No recorded answer"),
    ({"answer_id": "x", "rating": "sideways"}, 422, "rating"),
    ({"answer_id": "x"}, 422, "rating"),
    ({"answer_id": "x", "rating": "up", "comment": "y" * 2001}, 422, "comment"),
    ({"answer_id": "x", "rating": "up", "extra": 1}, 422, "extra"),
])
def test_bad_feedback_is_a_4xx_and_writes_nothing(setup, body, status, words):
    before = len(setup.log.items())
    r = setup.client.post("/api/feedback", json=body)
    assert r.status_code == status and words in r.json()["error"], r.text
    assert len(setup.log.items()) == before


def test_chat_thumbs_rate_the_answer_shown_and_ask_for_a_comment(setup):
    ui = ChatUI(setup.fake, setup.settings, Recorder(setup.fake, setup.settings))
    *_, (_box, chat, _panel, state) = list(ui.respond(QUESTION, [], None))
    index = len(chat) - 1
    row, status, state = ui.rate(state, SimpleNamespace(index=index, liked=False, value=""))
    assert row["visible"] is True and "👎" in status
    rid = state["rating"]
    row, box, status = ui.comment("It cut the sentence short", state)
    assert "Comment saved" in status and box == ""
    item = setup.log.get(rid)
    assert item.rating == -1 and item.channel == "chat" and item.comment == \
        "It cut the sentence short"
    assert item.answer["answer"] == state["turns"][-1][1]
    row, status, _ = ui.rate(state, SimpleNamespace(index=0, liked=True, value=""))
    assert "Only answers can be rated" in status  # the question bubble


def test_feedback_off_records_nothing(tmp_path):
    settings = Settings(store=tmp_path, feedback=False)
    rec = Recorder(sample_fake(), settings)
    answer = sample_fake().ask(QUESTION)
    assert rec.record(answer, None, "api") is None and answer.id == "fake"
    assert not feedback_path(settings).exists()


def test_slack_thumbs_reaction_on_our_answer_is_a_rating(setup, slack):
    c = setup.client
    slack.clear()
    post_json(c, "/slack/events", event_body(f"<@{BOT_USER}> {QUESTION}", channel="CFB",
                                             ts="1700000900.000100"))
    (post,) = slack.wait_posts(1)
    deadline = time.monotonic() + 10  # the bot links its message to the answer once posted
    while time.monotonic() < deadline and not setup.log.linked(f"CFB:{post['__ts']}"):
        time.sleep(0.05)
    before = len(setup.log.items())

    def react(reaction: str, ts: str, event_id: str | None = None, **kw) -> int:
        body = {"token": "legacy", "team_id": "T1", "api_app_id": "A1",
                "type": "event_callback", "event_id": event_id or f"Ev{time.time_ns()}",
                "event_time": int(time.time()),
                "event": {"type": "reaction_added", "user": "U777", "reaction": reaction,
                          "item_user": BOT_USER, "event_ts": f"{time.time():.6f}",
                          "item": {"type": "message", "channel": "CFB", "ts": ts}}}
        return post_json(c, "/slack/events", body, **kw).status_code

    assert react("-1::skin-tone-3", post["__ts"], event_id="EvREACT1") == 200
    assert react("-1::skin-tone-3", post["__ts"], event_id="EvREACT1",
                 headers={"X-Slack-Retry-Num": "1"}) == 200  # a retry: counted once
    assert react("tada", post["__ts"]) == 200  # not a rating
    assert react("+1", "1.000000") == 200  # not one of our answers
    assert react("+1", post["__ts"], secret="forged") == 401  # unsigned: refused
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(setup.log.items()) == before:
        time.sleep(0.05)
    time.sleep(0.5)
    new = setup.log.items()[before:]
    assert [(i.rating, i.user, i.channel) for i in new] == [(-1, "U777", "slack")]
    assert new[0].question == QUESTION


def _cli(capsys, settings: Settings, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--store", str(settings.store)])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_lists_reviews_and_exports(setup, capsys, tmp_path):
    answer = setup.client.post("/api/ask", json={"question": QUESTION}).json()
    rid = setup.client.post("/api/feedback", json={"answer_id": answer["id"],
                                                   "rating": "down"}).json()["id"]
    code, out, _ = _cli(capsys, setup.settings, "feedback", "list", "--pending")
    assert code == 0 and f"{rid:>4}" in out and "pending" in out
    code, out, _ = _cli(capsys, setup.settings, "feedback", "review", str(rid))
    assert code == 0 and "Sentences of the passages retrieved then" in out
    assert "  1. microsoft-openai-partnership.txt" in out
    code, _, err = _cli(capsys, setup.settings, "feedback", "review", str(rid), "--pick", "999")
    assert code == 2 and "--pick must be 1-" in err
    code, out, _ = _cli(capsys, setup.settings, "feedback", "review", str(rid), "--pick", "2")
    assert code == 0 and "the right sentence is microsoft-openai-partnership.txt" in out
    code, _, err = _cli(capsys, setup.settings, "feedback", "review", "424242", "--abstain")
    assert code == 2 and "No feedback #424242" in err

    cases, gate = tmp_path / "cases.jsonl", tmp_path / "gate.json"
    code, out, _ = _cli(capsys, setup.settings, "feedback", "export", str(cases),
                        "--gate", str(gate))
    assert code == 0 and "case(s)" in out
    exported = [json.loads(line) for line in cases.read_text().splitlines()]
    mine = next(c for c in exported if c["id"] == f"feedback-{rid}")
    picked = setup.log.get(rid).candidates()[1]
    assert mine["evidence"] == [picked.quote] and mine["sources"] == [picked.source]
    assert json.loads(gate.read_text())["tolerances"]["answer_trigger_f1"] == 0.0


def test_cli_without_a_log_says_how_to_get_one(capsys, tmp_path):
    code, _, err = _cli(capsys, Settings(store=tmp_path), "feedback", "list")
    assert code == 2 and "nobody has rated an answer yet" in err


@pytest.mark.slow
def test_live_slack_reaction_becomes_a_gate_case(live_server, capsys, tmp_path):
    """A signed 👎 reaction on the real server's Slack answer, reviewed, exported, and gated:
    `citewise eval` fails on the answer given and passes once citewise abstains."""
    import httpx

    from tests.ui.conftest import SAMPLE_DIR

    rec = live_server.slack
    rec.clear()
    store = live_server.store
    log = FeedbackLog(store / "feedback.sqlite3")
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        assert post_json(http, "/slack/events", event_body(
            f"<@{BOT_USER}> {QUESTION}", channel="CREACT", ts="1700000300.000100")
        ).status_code == 200
        deadline = time.monotonic() + 60
        post = None
        while time.monotonic() < deadline and post is None:
            post = next((p for p in rec.posts() if p.get("channel") == "CREACT"), None)
            time.sleep(0.1)
        assert post is not None
        key = f"CREACT:{post['__ts']}"
        while time.monotonic() < deadline and not log.linked(key):
            time.sleep(0.1)
        before = {i.id for i in log.items()}
        reaction = {"token": "legacy", "team_id": "T1", "api_app_id": "A1",
                    "type": "event_callback", "event_id": "EvLIVEREACT",
                    "event_time": int(time.time()),
                    "event": {"type": "reaction_added", "user": "U42", "reaction": "thumbsdown",
                              "item_user": BOT_USER, "event_ts": f"{time.time():.6f}",
                              "item": {"type": "message", "channel": "CREACT",
                                       "ts": post["__ts"]}}}
        assert post_json(http, "/slack/events", reaction, secret="forged").status_code == 401
        assert post_json(http, "/slack/events", reaction).status_code == 200
        while time.monotonic() < deadline and {i.id for i in log.items()} == before:
            time.sleep(0.1)
    (item,) = [i for i in log.items() if i.id not in before]
    assert (item.rating, item.user, item.channel, item.question) == (-1, "U42", "slack", QUESTION)

    settings = Settings(store=store)
    assert _cli(capsys, settings, "feedback", "review", str(item.id), "--abstain")[0] == 0
    cases, gate = tmp_path / "cases.jsonl", tmp_path / "gate.json"
    assert _cli(capsys, settings, "feedback", "export", str(cases), "--gate", str(gate))[0] == 0
    case = next(json.loads(x) for x in cases.read_text().splitlines()
                if json.loads(x)["id"] == f"feedback-{item.id}")
    cases.write_text(json.dumps(case) + "\n", encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "article.txt").write_text(
        (SAMPLE_DIR / "microsoft-openai-partnership.txt").read_text(encoding="utf-8"),
        encoding="utf-8")
    eval_args = [str(cases), "--ingest", str(corpus), "--baseline", str(gate), "--no-progress"]
    code, out, _ = _cli(capsys, Settings(store=tmp_path / "s1"), "eval", *eval_args)
    assert code == 1, out
    (corpus / "article.txt").write_text("Gardening notes.\n\nTomatoes like sun and water.\n",
                                        encoding="utf-8")
    code, out, _ = _cli(capsys, Settings(store=tmp_path / "s2"), "eval", *eval_args)
    assert code == 0, out
    assert live_server.outbound() == []


def test_examples_only_while_the_sample_article_is_stored(setup):
    from ui.chat import EXAMPLES, ChatUI

    ui = ChatUI(setup.fake, setup.settings)
    update = ui.welcome()
    assert [e["text"] for e in update["examples"]] == EXAMPLES
    other = sample_fake()
    other.docs = {"notes.md": type(next(iter(other.docs.values())))(
        "notes.md", "The heron census counted 412 herons.", "Heron census")}
    update = ChatUI(other, setup.settings).welcome()
    assert update["examples"] is None
    assert "your 1 document, such as “Heron census”" in update["placeholder"]
