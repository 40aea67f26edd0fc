"""The JSON API: happy paths, bad requests (4xx with a message), size limits, concurrency.

Fast tests run the app in-process over a FakeCitewise; the slow ones talk HTTP to the real
server (real model and index) started by the ``live_server`` fixture.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from rag.config import Settings
from rag.errors import StoreError
from tests.ui.conftest import SAMPLE_DIR, FakeCitewise, sample_fake
from ui.server import create_app
from ui.uploads import safe_filename

SAMPLE_TEXT = (SAMPLE_DIR / "microsoft-openai-partnership.txt").read_text(encoding="utf-8")
QUESTION = "What stake does Microsoft hold in OpenAI Group PBC?"


@pytest.fixture(scope="module")
def cw() -> FakeCitewise:
    return sample_fake()


@pytest.fixture(scope="module")
def client(cw, tmp_path_factory):
    settings = Settings(store=tmp_path_factory.mktemp("api-store"), max_upload_mb=0.05)
    app = create_app(cw, settings)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _error(resp: httpx.Response, status: int) -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    return body["error"]


def _sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((lines["event"], json.loads(lines["data"])))
    return events


# ---- happy paths --------------------------------------------------------------------------


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["documents"] >= 1


def test_ask_returns_the_answer_contract(client, cw):
    r = client.post("/api/ask", json={"question": QUESTION})
    assert r.status_code == 200, r.text
    body = r.json()
    expected = cw.ask(QUESTION).to_dict()
    assert set(body) == set(expected)
    assert body["answer"] == expected["answer"] and not body["abstained"]
    c = body["citations"][0]
    assert SAMPLE_TEXT[c["start"]:c["end"]] == c["quote"]


def test_ask_passes_history_k_and_filters(client, cw):
    cw.calls.clear()
    r = client.post("/api/ask", json={
        "question": "and the stake?",
        "history": [{"question": "What did Microsoft invest?", "answer": "$135 billion"}],
        "k": 3, "filters": {"sources": ["microsoft-openai-partnership.txt"],
                            "date_from": "2020-01-01"},
    })
    assert r.status_code == 200, r.text
    question, history = cw.calls[-1]
    assert question == "and the stake?"
    assert [(t.question, t.answer) for t in history] == [("What did Microsoft invest?", "$135 billion")]


def test_ask_passes_as_of_and_refuses_a_bad_day(client, cw):
    cw.as_of_seen.clear()
    assert client.post("/api/ask", json={"question": QUESTION, "as_of": "2024-05-03"}
                       ).status_code == 200
    with client.stream("POST", "/api/ask/stream",
                       json={"question": QUESTION, "as_of": "2024-05-04"}) as r:
        assert r.status_code == 200
        r.read()
    assert client.post("/api/ask", json={"question": QUESTION}).status_code == 200
    assert cw.as_of_seen == ["2024-05-03", "2024-05-04", ""]
    assert "as_of" in _error(client.post("/api/ask", json={"question": "q", "as_of": "friday"}),
                             422)


def test_ask_abstains(client):
    r = client.post("/api/ask", json={"question": "zzz qqq xyzzy plugh?"})
    assert r.status_code == 200
    assert r.json()["abstained"] is True and r.json()["citations"] == []


def test_stream_sends_deltas_then_the_answer(client):
    with client.stream("POST", "/api/ask/stream", json={"question": QUESTION}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    events = _sse(text)
    deltas = [d["text"] for e, d in events if e == "delta"]
    assert len(deltas) > 1
    kind, final = events[-1]
    assert kind == "answer"
    assert "".join(deltas) == final["answer"]
    assert final["citations"]


def test_documents_upload_list_ask_delete(client):
    body = b"The quokka census of 2031 counted 4,217 quokkas on Rottnest Island.\n"
    r = client.post("/api/documents", files=[("files", ("../../quokka census.txt", body, "text/plain"))])
    assert r.status_code == 200, r.text
    (result,) = r.json()["files"]
    assert result["status"] == "added" and result["source"] == "quokka census.txt"
    assert "/tmp" not in r.text  # no server paths in the answer

    listed = {d["source"]: d for d in client.get("/api/documents").json()}
    assert "quokka census.txt" in listed and listed["quokka census.txt"]["chunks"] >= 1

    r = client.post("/api/ask", json={"question": "How many quokkas did the 2031 census count?"})
    assert "4,217" in r.json()["citations"][0]["quote"]

    r = client.delete("/api/documents/quokka census.txt")
    assert r.status_code == 200 and r.json() == {"deleted": "quokka census.txt"}
    assert "quokka census.txt" not in {d["source"] for d in client.get("/api/documents").json()}
    r = client.post("/api/ask", json={"question": "How many quokkas did the 2031 census count?"})
    assert all(c["source"] != "quokka census.txt" for c in r.json()["citations"])


def test_upload_reports_each_file(client):
    r = client.post("/api/documents", files=[
        ("files", ("good.txt", b"Wombats dig burrows with their claws.", "text/plain")),
        ("files", ("bad.exe", b"MZ\x00\x01", "application/octet-stream")),
    ])
    assert r.status_code == 200, r.text
    by_file = {f["file"]: f for f in r.json()["files"]}
    assert by_file["good.txt"]["status"] == "added"
    assert by_file["bad.exe"]["status"] == "failed" and by_file["bad.exe"]["detail"]
    client.delete("/api/documents/good.txt")


# ---- bad requests -------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b'{"question": ', b"not json", b'{"question": "a",}'])
def test_malformed_json_is_400(client, raw):
    r = client.post("/api/ask", content=raw, headers={"content-type": "application/json"})
    assert "Malformed JSON" in _error(r, 400)


@pytest.mark.parametrize("body, field", [
    ({}, "question"),
    ({"question": ""}, "question"),
    ({"question": 42}, "question"),
    ({"question": "x" * 2001}, "question"),
    ({"question": "q", "k": 0}, "k"),
    ({"question": "q", "k": "many"}, "k"),
    ({"question": "q", "history": "nope"}, "history"),
    ({"question": "q", "filters": {"date_from": "last week"}}, "date_from"),
    ({"question": "q", "unknown": 1}, "unknown"),
    ([1, 2], "body"),
])
def test_invalid_requests_are_422_with_a_message(client, body, field):
    assert field in _error(client.post("/api/ask", json=body), 422)


def test_blank_question_is_400(client):
    assert "empty" in _error(client.post("/api/ask", json={"question": "   "}), 400)
    assert "empty" in _error(client.post("/api/ask/stream", json={"question": " "}), 400)


def test_oversized_json_body_is_413(client):
    big = json.dumps({"question": "q", "history": [{"question": "x" * 1000}] * 400})
    r = client.post("/api/ask", content=big, headers={"content-type": "application/json"})
    assert "too large" in _error(r, 413)


def test_oversized_chunked_body_is_413(client):
    def chunks():
        for _ in range(100):
            yield b" " * 8192

    r = client.post("/api/ask", content=chunks(), headers={"content-type": "application/json"})
    assert "too large" in _error(r, 413)


def test_oversized_upload_is_413(client):
    r = client.post("/api/documents", files=[("files", ("big.txt", b"a " * 60_000, "text/plain"))])
    assert _error(r, 413)


def test_upload_without_files_is_4xx(client):
    r = client.post("/api/documents", data={"x": "1"})
    assert r.status_code in (400, 422) and r.json()["error"]


def test_upload_nothing_ingestible_is_422(client):
    r = client.post("/api/documents", files=[("files", ("x.bin", b"\x00\x01", "application/octet-stream"))])
    assert "Nothing could be ingested" in _error(r, 422)


def test_unknown_source_is_404(client):
    assert "nope/x.txt" in _error(client.delete("/api/documents/nope/x.txt"), 404)


def test_wrong_method_and_unknown_api_path(client):
    assert "POST" in _error(client.get("/api/ask"), 405)
    assert _error(client.put("/api/documents"), 405)
    assert _error(client.get("/api/nothing-here"), 404)


def test_citewise_errors_map_to_their_status(tmp_path):
    class Broken(FakeCitewise):
        def ask(self, *a, **k):
            raise StoreError("Chroma is down; start it.")

        def documents(self):
            raise StoreError("Chroma is down; start it.")

    app = create_app(Broken(), Settings(store=tmp_path))
    with TestClient(app, raise_server_exceptions=False) as c:
        assert _error(c.post("/api/ask", json={"question": "q"}), 503) == "Chroma is down; start it."
        assert c.get("/healthz").status_code == 503


def test_safe_filename():
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\x\\a b.txt") == "a b.txt"
    assert safe_filename(".hidden.md") == "hidden.md"
    assert safe_filename("") == "upload"
    assert safe_filename("a<script>.txt") == "a_script_.txt"


def test_docs_are_local(client):
    r = client.get("/docs")
    assert r.status_code == 200
    assert "cdn." not in r.text and "fastapi.tiangolo.com" not in r.text
    try:
        import swagger_ui_bundle  # noqa: F401 - Swagger UI served from the package's files
    except ImportError:  # without it, a plain local page lists the endpoints
        assert "/api/ask" in r.text and "/openapi.json" in r.text
    else:
        assert "/docs-assets/swagger-ui-bundle.js" in r.text
        assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for p in ("/api/ask", "/api/ask/stream", "/api/documents", "/api/documents/{source}",
              "/healthz", "/slack/events", "/slack/commands"):
        assert p in paths


# ---- concurrency --------------------------------------------------------------------------


def test_concurrent_asks_do_not_block_the_event_loop(tmp_path):
    slow = sample_fake()
    slow.delay = 0.5
    app = create_app(slow, Settings(store=tmp_path))

    async def run():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            started = time.perf_counter()
            asks = [c.post("/api/ask", json={"question": QUESTION}) for _ in range(8)]
            gathered = asyncio.gather(*asks)
            await asyncio.sleep(0.1)
            t0 = time.perf_counter()
            health = await c.get("/healthz")
            health_latency = time.perf_counter() - t0
            results = await gathered
            return results, health, health_latency, time.perf_counter() - started

    results, health, health_latency, elapsed = asyncio.run(run())
    assert all(r.status_code == 200 for r in results)
    assert health.status_code == 200 and health_latency < 0.4
    assert elapsed < 8 * 0.5 / 2  # ran side by side, not one after another


# ---- the real server ----------------------------------------------------------------------


def test_one_document_with_the_text_citations_index_into(client, cw):
    body = client.post("/api/ask", json={"question": QUESTION}).json()
    c = body["citations"][0]
    doc = client.get(f"/api/documents/{c['source']}")
    assert doc.status_code == 200
    assert doc.json()["text"][c["start"]:c["end"]] == c["quote"]
    assert doc.json()["source"] == c["source"] and doc.json()["chunks"] >= 1
    missing = client.get("/api/documents/nope.txt")
    assert missing.status_code == 404 and "nope.txt" in missing.json()["error"]


@pytest.mark.slow
def test_live_ask_cites_the_sample_article(live_server):
    r = httpx.post(live_server.url + "/api/ask", json={"question": QUESTION}, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body["abstained"] and body["citations"]
    for c in body["citations"]:
        assert c["source"] == "microsoft-openai-partnership.txt"
        assert c["quote"] and c["quote"] in SAMPLE_TEXT
    assert "27" in body["answer"] or "135" in body["answer"]


@pytest.mark.slow
def test_live_stream(live_server):
    with httpx.stream("POST", live_server.url + "/api/ask/stream", json={"question": QUESTION},
                      timeout=60) as r:
        assert r.status_code == 200
        events = _sse("".join(r.iter_text()))
    assert events[-1][0] == "answer" and events[-1][1]["citations"]
    assert any(e == "delta" for e, _ in events)


@pytest.mark.slow
def test_live_bad_requests(live_server):
    u = live_server.url
    r = httpx.post(u + "/api/ask", content=b"{nope", headers={"content-type": "application/json"})
    assert _error(r, 400)
    assert _error(httpx.post(u + "/api/ask", json={"k": 3}), 422)
    assert _error(httpx.delete(u + "/api/documents/no-such-doc.txt"), 404)
    big = b'{"question": "' + b"x" * 300_000 + b'"}'
    assert _error(httpx.post(u + "/api/ask", content=big,
                             headers={"content-type": "application/json"}), 413)
    assert _error(httpx.post(u + "/api/documents",
                             files=[("files", ("big.txt", b"a " * 600_000, "text/plain"))]), 413)


@pytest.mark.slow
def test_live_upload_ask_delete(live_server, tmp_path: Path):
    u = live_server.url
    text = ("Field notes on the quokka.\n\nThe quokka census of 2031 counted 4,217 quokkas on "
            "Rottnest Island, up from 3,900 in the census of 2029.\n")
    r = httpx.post(u + "/api/documents", files=[("files", ("quokka-notes.txt", text.encode(),
                                                           "text/plain"))], timeout=120)
    assert r.status_code == 200, r.text
    assert r.json()["files"][0]["status"] in ("added", "updated")
    q = {"question": "How many quokkas did the 2031 census count?"}
    body = httpx.post(u + "/api/ask", json=q, timeout=60).json()
    assert any(c["source"] == "quokka-notes.txt" and "4,217" in c["quote"] for c in body["citations"]), body
    assert httpx.delete(u + "/api/documents/quokka-notes.txt").status_code == 200
    body = httpx.post(u + "/api/ask", json=q, timeout=60).json()
    assert all(c["source"] != "quokka-notes.txt" for c in body["citations"])
    assert httpx.delete(u + "/api/documents/quokka-notes.txt").status_code == 404


@pytest.mark.slow
def test_live_concurrent_requests(live_server):
    u = live_server.url
    questions = [QUESTION, "Until when does Microsoft keep its IP rights?",
                 "How much Azure capacity has OpenAI contracted to purchase?",
                 "Who verifies when OpenAI declares AGI?"] * 2
    results: list[httpx.Response] = [None] * len(questions)  # type: ignore[list-item]
    health: list[float] = []

    def ask(i: int) -> None:
        results[i] = httpx.post(u + "/api/ask", json={"question": questions[i]}, timeout=120)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    for t in threads:
        t.start()
    for _ in range(5):
        t0 = time.perf_counter()
        assert httpx.get(u + "/healthz", timeout=10).status_code == 200
        health.append(time.perf_counter() - t0)
    for t in threads:
        t.join()
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    assert all(not r.json()["abstained"] for r in results[:1])
    assert max(health) < 2.0, health


@pytest.mark.slow
def test_live_server_made_no_outbound_connections(live_server):
    httpx.get(live_server.url + "/", timeout=30)
    assert live_server.outbound() == []


def test_importing_the_ui_modules_leaves_the_environment_alone():
    """Telemetry is switched off where the server starts (ui.server.serve), not at import."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "GRADIO_ANALYTICS_ENABLED"}
    code = ("import os; before = dict(os.environ); import ui.server, ui.chat, ui.api, ui.uploads; "
            "changed = sorted(k for k in set(os.environ) | set(before) "
            "if os.environ.get(k) != before.get(k)); print(changed)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
