"""Faults under the app: the Chroma server going away and coming back, a disk filling up while
ingesting, a store write failing midway in a long-running process.

What is asserted is what people see: the API's status and message, the chat's error, Slack's
reply, and the store's state afterwards. (LLM backend timeouts and 500s fall back to extractive
answers; that is tested with the LLM backend in tests/rag/.)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.reliability.conftest import ChromaServer, run_server
from tests.reliability.forkserver import ForkServer
from tests.reliability.storecheck import problems
from tests.ui.conftest import BOT_USER, SAMPLE_DIR, SlackAPIRecorder, slack_sign
from tests.ui.test_browser import Session
from tests.ui.test_slack import event_body

QUESTION = "What stake does Microsoft hold in OpenAI Group PBC?"
SAMPLE = "microsoft-openai-partnership.txt"


def _ask(url: str, question: str = QUESTION) -> httpx.Response:
    return httpx.post(url + "/api/ask", json={"question": question}, timeout=60)


def _slack_reply(url: str, rec: SlackAPIRecorder, question: str = QUESTION) -> dict:
    channel = f"CF{uuid.uuid4().hex[:8].upper()}"
    raw = json.dumps(event_body(f"<@{BOT_USER}> {question}", channel=channel)).encode()
    r = httpx.post(url + "/slack/events", content=raw, timeout=30,
                   headers={"Content-Type": "application/json", **slack_sign(raw)})
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        posts = [p for p in rec.posts() if p.get("channel") == channel]
        if posts:
            return posts[0]
        time.sleep(0.05)
    raise AssertionError("no Slack reply")


# --------------------------------------------------------------------------------------------
# Chroma server stopped mid-session
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_chroma_server_stopped_then_back(tmp_path: Path, browser, out_dir: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_DIR, corpus)
    chroma = ChromaServer(tmp_path / "chroma-data", tmp_path / "chroma.log")
    chroma.start()
    rec = SlackAPIRecorder()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        with run_server(tmp_path / "store", corpus, slack=rec, chroma_url=chroma.url) as server:
            url = server.url
            r = _ask(url)
            assert r.status_code == 200 and r.json()["citations"][0]["source"] == SAMPLE
            session = Session(context.new_page(), url)
            session.open()

            chroma.stop()
            # the API: 503 and a message that says what is wrong and what to do
            r = _ask(url)
            assert r.status_code == 503, r.text
            message = r.json()["error"]
            assert "Chroma" in message and "CITEWISE_CHROMA_URL" in message, message
            assert "running" in message
            r = httpx.post(url + "/api/ask/stream", json={"question": QUESTION}, timeout=60)
            assert r.status_code == 503 and "Chroma" in r.json()["error"]
            time.sleep(0.6)  # the store's generation is re-read at most every 0.5 s
            r = httpx.get(url + "/healthz", timeout=30)
            assert r.status_code == 503 and "Chroma" in r.json()["error"]
            r = httpx.get(url + "/api/documents", timeout=30)
            assert r.status_code == 503 and "Chroma" in r.json()["error"]
            r = httpx.post(url + "/api/documents", timeout=60, files=[
                ("files", ("new.txt", b"New notes\n\nThe new note counts 8 otters.\n",
                           "text/plain"))])
            assert r.status_code == 503 and "Chroma" in r.json()["error"], r.text
            # Slack: an answer that says the same, in the thread
            post = _slack_reply(url, rec)
            assert "Chroma" in post["text"] and ":warning:" in json.dumps(post["blocks"])
            # the chat: an error message in place of the answer
            session.ask(QUESTION)
            last = session.last_bot()
            assert "cw-error" in (last.get_attribute("class") or "")
            assert "Chroma" in last.inner_text() and "CITEWISE_CHROMA_URL" in last.inner_text()
            session.shot(out_dir / "chroma-down.png")

            chroma.start()  # same port, same data
            r = _ask(url)  # the very next request works
            assert r.status_code == 200, r.text
            body = r.json()
            assert not body["abstained"] and body["citations"][0]["source"] == SAMPLE
            assert "27" in body["answer"] or "135" in body["answer"]
            assert httpx.get(url + "/healthz", timeout=30).json() == {"status": "ok",
                                                                      "documents": 1}
            post = _slack_reply(url, rec)
            assert "27" in json.dumps(post["blocks"]) or "135" in json.dumps(post["blocks"])
            session.ask(QUESTION)
            last = session.last_bot()
            assert "cw-error" not in (last.get_attribute("class") or "")
            assert last.locator("a.cw-cite").count() >= 1
            session.shot(out_dir / "chroma-back.png")
            assert session.foreign == [] and server.outbound() == []
    finally:
        context.close()
        chroma.stop()
        rec.close()


# --------------------------------------------------------------------------------------------
# disk full while ingesting
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(where: Path, mb: int) -> Iterator[str]:
    """A ``mb`` MB tmpfs at ``where`` ("tmpfs"), or, where mounting is not allowed, a plain
    folder ("rlimit": the test caps the ingest's file size instead)."""
    where.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mb}m", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        yield "rlimit"
        return
    try:
        yield "tmpfs"
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _feed(path: Path, n: int, tag: str) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            out.write(json.dumps({"id": f"{tag}-{i}", "text": f"Bulletin {i} of the {tag} series "
                                  f"says the river rose {i % 97} centimetres at gauge {i}. "
                                  + "The gauge readings were checked twice. " * 4}) + "\n")


@pytest.mark.slow
def test_disk_full_while_ingesting_gives_a_clear_error_and_an_intact_store(
        tmp_path: Path, forkserver: ForkServer) -> None:
    fs = forkserver
    with small_disk(tmp_path / "disk", mb=32) as kind:
        store = tmp_path / "disk" / "store"
        ex = fs.cli("ingest", str(SAMPLE_DIR), "--store", str(store))
        assert ex.exitcode == 0, ex.stderr
        big = tmp_path / "bulletins.jsonl"
        _feed(big, 600, "flood")
        filler = tmp_path / "disk" / "filler"
        fsize = None
        if kind == "tmpfs":  # leave a little room: the ingest starts, then the disk fills up
            free = shutil.disk_usage(filler.parent).free
            with filler.open("wb") as out:
                out.truncate(0)
                out.write(b"\0" * (free - 256 * 1024))
            assert shutil.disk_usage(filler.parent).free < 300 * 1024
        else:  # no room to grow the store's files beyond a little more than their size now
            fsize = max(f.stat().st_size for f in store.rglob("*") if f.is_file()) + 64 * 1024
        ex = fs.cli("ingest", str(big), "--store", str(store), fsize=fsize)
        # a clear error on stderr, not a traceback, and a failing exit code
        assert ex.exitcode == 2, (ex.exitcode, ex.stdout, ex.stderr)
        assert "Traceback" not in ex.stderr, ex.stderr[-3000:]
        message = ex.stderr.strip().splitlines()[-1]
        if kind == "tmpfs":  # ENOSPC, as on a real full disk
            assert message.startswith("citewise: The disk holding the store is full"), message
            assert "Free some space" in message and "intact" in message, message
        else:  # the file-size cap shows up as SQLite's "disk I/O error"
            assert message.startswith("citewise: ") and "disk" in message, message

        # the store is intact: what was there is listed, consistent and answerable
        snap = fs.call("tests.reliability.storecheck:snapshot", store=str(store),
                       questions=[QUESTION])
        assert not problems(snap, allow_orphans=True), problems(snap, allow_orphans=True)
        assert SAMPLE in snap["documents"]
        answer = snap["answers"][0]
        assert answer["sources"][:1] == [SAMPLE] and not answer["abstained"]
        docs = fs.cli("docs", "--store", str(store), "--json")
        assert docs.exitcode == 0 and SAMPLE in {d["source"] for d in json.loads(docs.stdout)}

        # with room again, the same command finishes the job
        filler.unlink(missing_ok=True)
        ex = fs.cli("ingest", str(big), "--store", str(store), "--json")
        assert ex.exitcode == 0, ex.stderr[-3000:]
        snap = fs.call("tests.reliability.storecheck:snapshot", store=str(store))
        assert not problems(snap) and len(snap["documents"]) == 601


# --------------------------------------------------------------------------------------------
# a store write failing midway, in a process that keeps running (a server)
# --------------------------------------------------------------------------------------------


def test_a_write_failing_midway_never_leaves_the_keyword_index_behind(make_citewise,
                                                                      tmp_path: Path) -> None:
    """The commit point is written, then deleting the old chunks fails (disk full): the
    process's BM25 must not keep claiming to be current while it lacks the new chunks."""
    from chromadb.errors import InternalError

    from rag.errors import StoreError

    docs = tmp_path / "docs"
    docs.mkdir()
    note = docs / "note.txt"
    note.write_text("Otter notes\n\nThe otter holt has 4 otters.\n", encoding="utf-8")
    cw = make_citewise()
    assert cw.ingest([docs]).ok
    note.write_text("Otter notes\n\nThe otter holt now has 9 otters and a heron.\n",
                    encoding="utf-8")
    chunks = cw.index.chunks
    original = chunks.delete

    def full_disk(*args, **kwargs):  # noqa: ANN002, ANN003 - Collection.delete's signature
        raise InternalError("Database error: (code: 13) database or disk is full")

    chunks.delete = full_disk
    try:
        with pytest.raises(StoreError, match="disk holding the store is full"):
            cw.ingest([docs])
    finally:
        chunks.delete = original
    # the new version was committed: keyword search must find it, in this very process
    live = {i for i in cw.index.chunks.get(include=[])["ids"]}
    bm25 = cw.index.bm25()
    alive = {cid for cid, row in bm25.row_of.items() if bm25.alive[row]}
    assert alive == live
    answer = cw.ask("How many otters does the holt have now?")
    assert "9 otters" in answer.answer and answer.citations[0].source == "note.txt"
    # the next write repairs, and the saved BM25 file matches Chroma exactly
    (docs / "other.txt").write_text("Heron notes\n\nThe heron nests in reeds.\n")
    assert cw.ingest([docs]).ok
    snapshot_ids = {i for i in cw.index.chunks.get(include=[])["ids"]}
    from rag.storage.bm25 import BM25Index

    saved = BM25Index.load(Path(cw.settings.store) / "citewise.bm25.npz")
    assert saved is not None and saved.generation == cw.index.current_generation(max_age=0)
    assert set(saved.ids) == snapshot_ids
    assert not cw.index.repair()  # no orphans left
    assert os.path.exists(Path(cw.settings.store) / "citewise.bm25.npz")
