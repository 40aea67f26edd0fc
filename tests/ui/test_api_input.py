"""The API refuses what the CLI refuses, with the same words, and never loses a document to a
same-name upload: a different document with a stored name is kept beside it (or replaces it
when the client says ``replace``), and the API and the Documents tab say which happened."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from rag.config import Settings
from tests.ui.conftest import ROOT, sample_fake
from ui.server import create_app

QUESTION = "What stake does Microsoft hold in OpenAI Group PBC?"
CHROMIUM = os.environ.get("CITEWISE_CHROMIUM", "/usr/bin/chromium")
OUTPUT = ROOT / "test-output" / "ui"

# (request fields, status, message): the messages are the CLI's (tests/ui/test_cli_input.py)
BAD = [
    ({"filters": {"date_from": "2024-13-45"}}, 422, "date_from '2024-13-45' is not a real date"),
    ({"filters": {"date_to": "2024/01/01"}}, 422,
     "date_to '2024/01/01' is not a date in YYYY-MM-DD form"),
    ({"filters": {"date_from": "2024-06-01", "date_to": "2024-01-01"}}, 422,
     "date_from 2024-06-01 is after date_to 2024-01-01"),
    ({"k": 0}, 422, "k must be between 1 and 50 (got 0)"),
    ({"k": 51}, 422, "k must be between 1 and 50 (got 51)"),
]


def _error(resp: httpx.Response, status: int) -> str:
    assert resp.status_code == status, resp.text
    return resp.json()["error"]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = create_app(sample_fake(), Settings(store=tmp_path_factory.mktemp("api-input")))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("fields, status, message", BAD)
def test_bad_filters_and_k_are_refused_with_the_cli_message(client, fields, status, message):
    for path in ("/api/ask", "/api/ask/stream"):
        assert message in _error(client.post(path, json={"question": QUESTION, **fields}), status)


# ---- the real server ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("fields, status, message", [
    *BAD, ({"filters": {"sources": ["nope.txt"]}}, 400,
           "Unknown source in the filter: 'nope.txt'")])
def test_live_bad_filters_are_4xx(live_server, fields, status, message):
    r = httpx.post(live_server.url + "/api/ask", json={"question": QUESTION, **fields}, timeout=60)
    assert message in _error(r, status)


@pytest.mark.slow
def test_live_date_filter_says_it_left_out_undated_documents(live_server):
    r = httpx.post(live_server.url + "/api/ask", timeout=60, json={
        "question": QUESTION, "filters": {"date_from": "2020-01-01"}})
    assert r.status_code == 200, r.text
    note = r.json()["note"]
    assert "without a published date" in note and "microsoft-openai-partnership.txt" in note
    assert "No stored document was published in 2020-01-01 to …" in note


def _upload(url: str, name: str, text: str, replace: bool = False) -> dict:
    r = httpx.post(url + "/api/documents", params={"replace": "true"} if replace else None,
                   files=[("files", (name, text.encode(), "text/plain"))], timeout=120)
    assert r.status_code == 200, r.text
    (result,) = r.json()["files"]
    return result


NOTES_A = ("Notes from the harbour.\n\nThe harbour census of 2031 counted 312 fishing boats in "
           "the port.\n")
NOTES_B = "Notes from the orchard.\n\nThe orchard harvest of 2031 brought in 12 tonnes of pears.\n"


@pytest.mark.slow
def test_live_same_name_upload_keeps_both_documents(live_server):
    u = live_server.url
    lines = []
    try:
        first = _upload(u, "a/notes.txt", NOTES_A)
        assert first["status"] == "added" and first["source"] == "notes.txt"
        second = _upload(u, "b/notes.txt", NOTES_B)  # another folder's notes.txt
        assert second["status"] == "added" and second["source"] == "notes (2).txt"
        assert "a different document named notes.txt is already stored" in second["detail"]
        assert "notes (2).txt" in second["detail"] and "?replace=true" in second["detail"]
        lines += [f"upload a/notes.txt -> {first}", f"upload b/notes.txt -> {second}"]

        listed = {d["source"] for d in httpx.get(u + "/api/documents").json()}
        assert {"notes.txt", "notes (2).txt"} <= listed
        for question, source, fact in [
            ("How many fishing boats did the harbour census count?", "notes.txt", "312"),
            ("How many tonnes of pears did the orchard harvest bring in?", "notes (2).txt", "12"),
        ]:
            body = httpx.post(u + "/api/ask", json={"question": question}, timeout=60).json()
            assert any(c["source"] == source and fact in c["quote"] for c in body["citations"]), body
            lines.append(f"ask {question!r} -> {body['answer']!r} "
                         f"(cites {[c['source'] for c in body['citations']]})")

        again = _upload(u, "a/notes.txt", NOTES_A)  # the same document again: nothing to do
        assert again["status"] == "unchanged" and again["source"] == "notes.txt"
        replaced = _upload(u, "notes.txt", NOTES_B, replace=True)
        assert replaced["status"] == "updated" and replaced["source"] == "notes.txt"
        assert "replaced the stored document notes.txt" in replaced["detail"]
        lines += [f"upload a/notes.txt again -> {again}",
                  f"upload notes.txt ?replace=true -> {replaced}"]
    finally:
        for source in ("notes.txt", "notes (2).txt"):
            httpx.delete(f"{u}/api/documents/{source}")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "same_name_upload_api.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_documents_tab_says_a_same_name_upload_was_kept_apart(live_server, tmp_path: Path):
    """In the browser: two notes.txt from two folders; the tab says the second was kept as
    notes (2).txt and both are listed. Screenshot: test-output/ui/same_name_upload.png."""
    from playwright.sync_api import sync_playwright

    folders = [tmp_path / "a", tmp_path / "b"]
    for folder, text in zip(folders, (NOTES_A, NOTES_B), strict=True):
        folder.mkdir()
        (folder / "notes.txt").write_text(text, encoding="utf-8")
    u = live_server.url
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(u + "/")
            page.wait_for_selector("#cw-question textarea", timeout=60_000)
            page.get_by_role("tab", name="Documents").click()
            for folder in folders:
                page.locator("#cw-upload input[type=file]").set_input_files(
                    str(folder / "notes.txt"))
                page.wait_for_function(
                    "() => document.querySelector('#cw-upload').innerText.includes('notes.txt')",
                    timeout=120_000)
                page.locator("#cw-ingest").click()
                result = page.locator("#cw-ingest-result table")
                result.wait_for(timeout=120_000)
                page.wait_for_function(
                    "(t) => document.querySelector('#cw-ingest-result').innerText.includes(t)",
                    arg="notes (2).txt" if folder.name == "b" else "notes.txt", timeout=120_000)
            text = page.locator("#cw-ingest-result").inner_text()
            assert "a different document named notes.txt is already stored" in text
            assert "notes (2).txt" in text and "delete notes.txt if this one replaces it" in text
            assert "?replace" not in text  # an API hint, not for the tab
            page.wait_for_function(
                "() => document.querySelector('#cw-docs').innerText.includes('notes (2).txt')",
                timeout=120_000)
            OUTPUT.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(OUTPUT / "same_name_upload.png"), full_page=True)
            browser.close()
    finally:
        for source in ("notes.txt", "notes (2).txt"):
            httpx.delete(f"{u}/api/documents/{source}")
