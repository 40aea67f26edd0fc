"""Replacing a document on purpose: ``PUT /api/documents/{source}`` with a file.

A same-name upload keeps both documents (tests/ui/test_api_input.py); this is the explicit
replace: the new text is answered, the old is never cited again, the response says what
happened ("replaced ledger.txt: 1 chunk → 2 chunks"), and a replace that cannot be done leaves
the stored document as it was. The Documents tab's "Replace…" is in tests/ui/test_browser.py.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from rag.config import Settings
from tests.ui.conftest import ROOT, FakeCitewise
from ui.replace_panel import ReplaceHandlers
from ui.server import create_app

OUTPUT = ROOT / "test-output" / "ui"

LEDGER_OLD = ("Harbour ledger.\n\nThe harbour census of 2031 counted 312 fishing boats in the "
              "port.\n")
# long enough for two chunks (chunks hold at most 200 model tokens)
LEDGER_NEW = "Harbour ledger, revised.\n\nThe harbour census of 2032 counted 287 fishing boats " \
    "in the port.\n\n" + " ".join(
        f"Pier {n} was repainted in the spring of 2032 by a crew of {n + 3} volunteers from the "
        f"{name} rowing club, who also replaced its lamps." for n, name in enumerate(
            ["north", "south", "east", "west", "harbour", "river", "island", "bay", "cape",
             "reef"], start=1)) + "\n"
QUESTION = "How many fishing boats did the harbour census count?"


# ---- the route and the tab's handlers on their own (FakeCitewise: no model) ------------------


@pytest.fixture
def fake() -> FakeCitewise:
    cw = FakeCitewise()
    cw.add("ledger.txt", LEDGER_OLD.strip())
    cw.add("https://news.example/a-story", "A feed entry. It says one thing.")
    return cw


@pytest.fixture
def client(fake, tmp_path):
    app = create_app(fake, Settings(store=tmp_path / "store", max_upload_mb=0.01))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _put(client, source: str, name: str, text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    return client.put(f"/api/documents/{source}", files={"file": (name, data, "text/plain")})


def test_put_replaces_the_named_document_and_says_so(client, fake):
    r = _put(client, "ledger.txt", "somewhere/else/ledger-v2.txt", "The census counted 287 boats.")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "replaced" and body["source"] == "ledger.txt"
    assert body["file"] == "ledger-v2.txt"  # never the client's folders
    assert body["detail"] == "replaced ledger.txt: 1 chunk → 1 chunk"
    assert fake.document_text("ledger.txt") == "The census counted 287 boats."
    assert sorted(fake.docs) == ["https://news.example/a-story", "ledger.txt"]  # nothing added
    again = _put(client, "ledger.txt", "ledger.txt", "The census counted 287 boats.").json()
    assert again["status"] == "unchanged" and "nothing changed" in again["detail"]


@pytest.mark.parametrize("source, name, text, status, message", [
    ("nope.txt", "nope.txt", "Some text.", 404, "No document 'nope.txt' in the store"),
    ("ledger.txt", "ledger.md", "# Some text.", 400,
     "ledger.txt is a .txt document, so its replacement must be one too (got .md)"),
    ("ledger.txt", "ledger.jsonl", '{"text": "x"}', 400, "must be one too (got .jsonl)"),
    ("https://news.example/a-story", "story.txt", "Some text.", 400,
     "did not come from a file of its own"),
    ("ledger.txt", "ledger.txt", "   ", 422, "ledger.txt was left as it was"),
    ("ledger.txt", "ledger.txt", "x" * 20_000, 413, "is larger than"),
])
def test_a_replace_that_cannot_be_done_changes_nothing(client, fake, source, name, text, status,
                                                       message):
    r = _put(client, source, name, text)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]
    assert fake.document_text("ledger.txt") == LEDGER_OLD.strip()


def test_put_is_documented_and_other_methods_still_get_json(client):
    ops = client.get("/openapi.json").json()["paths"]["/api/documents/{source}"]
    assert {"put", "delete"} <= set(ops)
    assert "multipart/form-data" in ops["put"]["requestBody"]["content"]
    r = client.patch("/api/documents/ledger.txt")
    assert r.status_code == 405 and "error" in r.json()
    missing = client.put("/api/documents/ledger.txt")
    assert missing.status_code == 422 and "file" in missing.json()["error"]


def test_the_tab_asks_before_replacing_and_checks_first(fake, tmp_path):
    h = ReplaceHandlers(fake)
    new = tmp_path / "ledger.txt"
    new.write_text("The census counted 287 boats.", encoding="utf-8")
    shown, _, status = h.confirm(None, str(new))
    assert shown["visible"] is False and "Choose the document" in status
    shown, _, status = h.confirm("ledger.txt", None)
    assert shown["visible"] is False and "Choose the file" in status
    wrong = tmp_path / "ledger.md"
    wrong.write_text("# x", encoding="utf-8")
    shown, _, status = h.confirm("ledger.txt", str(wrong))
    assert shown["visible"] is False and "must be one too" in status
    shown, question, status = h.confirm("ledger.txt", str(new))
    assert shown["visible"] is True and status == ""
    assert "Replace the content of <b>ledger.txt</b>" in question
    assert fake.document_text("ledger.txt") == LEDGER_OLD.strip()  # only asked so far
    done, file = h.replace("ledger.txt", str(new))
    assert "Replaced ledger.txt: 1 chunk → 1 chunk." in done and file is None
    assert fake.document_text("ledger.txt") == "The census counted 287 boats."
    assert h.choices("gone.txt")["value"] is None
    assert h.choices("ledger.txt")["value"] == "ledger.txt"


# ---- the real server ----------------------------------------------------------------------


def _ask(url: str, question: str) -> dict:
    r = httpx.post(url + "/api/ask", json={"question": question}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.slow
def test_live_replace_answers_the_new_text_and_never_the_old(live_server):
    u = live_server.url
    lines: list[str] = []
    try:
        r = httpx.post(u + "/api/documents", timeout=120,
                       files=[("files", ("ledger.txt", LEDGER_OLD.encode(), "text/plain"))])
        assert r.status_code == 200 and r.json()["files"][0]["status"] == "added", r.text
        before = _ask(u, QUESTION)
        assert any(c["source"] == "ledger.txt" and "312" in c["quote"]
                   for c in before["citations"]), before

        r = httpx.put(u + "/api/documents/ledger.txt", timeout=120,
                      files={"file": ("v2/ledger.txt", LEDGER_NEW.encode(), "text/plain")})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "replaced" and body["source"] == "ledger.txt"
        assert body["detail"] == "replaced ledger.txt: 1 chunk → 2 chunks"
        lines += [f"ask before: {before['answer']!r}", f"PUT /api/documents/ledger.txt -> {body}"]

        docs = {d["source"]: d for d in httpx.get(u + "/api/documents").json()}
        assert docs["ledger.txt"]["chunks"] == 2 and "ledger (2).txt" not in docs
        after = _ask(u, QUESTION)
        cited = [c for c in after["citations"] if c["source"] == "ledger.txt"]
        assert cited and any("287" in c["quote"] for c in cited), after
        assert "312" not in after["answer"]
        assert all("312" not in x["text"] for x in after["contexts"] + after["related"])
        pier = _ask(u, "How many volunteers repainted pier 3?")
        assert any("6 volunteers" in c["quote"] for c in pier["citations"]), pier  # chunk 2
        lines += [f"ask after: {after['answer']!r}", f"ask pier 3: {pier['answer']!r}"]

        # a file that cannot be read replaces nothing
        r = httpx.put(u + "/api/documents/ledger.txt", timeout=60,
                      files={"file": ("ledger.txt", b"   \n", "text/plain")})
        assert r.status_code == 422 and "ledger.txt was left as it was" in r.json()["error"]
        assert any("287" in c["quote"] for c in _ask(u, QUESTION)["citations"])
        r = httpx.put(u + "/api/documents/no-such.txt", timeout=60,
                      files={"file": ("no-such.txt", b"Text.", "text/plain")})
        assert r.status_code == 404, r.text
        lines.append(f"PUT an empty file -> 422; PUT an unknown document -> {r.json()}")
    finally:
        httpx.delete(f"{u}/api/documents/ledger.txt")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "replace_api.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
