"""Several `citewise serve` replicas on one Chroma server (README, "Deployment").

Two real server processes with their own cache directories share a real `chroma run`. A
document uploaded or deleted through one is answered, or no longer cited, by the other within
REPLICA_LAG seconds, and a third reader's BM25-only retrieval sees the same (the keyword index
follows the collection generation). Writes through both at once keep both documents (the
shared write lock), and a Slack retry that lands on the other replica gets no second reply.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from citewise import Citewise
from citewise.access import AccessStore
from rag.config import Settings
from rag.retrieval.retriever import FusionParams
from tests.citewise.test_server_mode import _chroma_bin, _free_port
from tests.ui.conftest import BOT_TOKEN, BOT_USER, SIGNING_SECRET, SlackAPIRecorder, slack_sign

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)

# What README promises: a replica sees another's write within the generation poll (0.5 s)
# plus one keyword-index rebuild and one answer. Generous for a busy 2-core CI machine.
REPLICA_LAG = 10.0
ADMIN: dict[str, str] = {}  # the admin token's header, made by the fixture

DOC_NAME = "zephyrine-observatory.txt"
DOC_TEXT = ("Zephyrine Observatory\n\nThe Zephyrine Observatory was founded in 1987 by the "
            "astronomer Marta Kowalczyk. Its main telescope has a 4.2 metre mirror and stands "
            "on the Quillmere plateau.\n")
QUESTION = "Who founded the Zephyrine Observatory?"
OTHER_NAME = "brackwater-ferry.txt"
OTHER_TEXT = ("Brackwater Ferry\n\nThe Brackwater ferry crosses the Vell estuary in eleven "
              "minutes. It was launched in 2003 and carries 140 passengers.\n")


def _wait_http(url: str, proc: subprocess.Popen, log_path: Path, timeout: float = 600) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{url} exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"{url} not up in {timeout:.0f} s: {log_path.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def slack_api():
    recorder = SlackAPIRecorder()
    yield recorder
    recorder.close()


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, slack_api):
    """(chroma URL, [replica URL A, replica URL B]); all three processes stopped after."""
    tmp = tmp_path_factory.mktemp("replicas")
    procs: list[subprocess.Popen] = []
    try:
        port = _free_port()
        chroma_log = tmp / "chroma.log"
        with chroma_log.open("w") as out:
            procs.append(subprocess.Popen(
                [_chroma_bin(), "run", "--path", str(tmp / "chroma"), "--host", "127.0.0.1",
                 "--port", str(port)], stdout=out, stderr=subprocess.STDOUT))
        chroma = f"http://127.0.0.1:{port}"
        _wait_http(f"{chroma}/api/v2/heartbeat", procs[0], chroma_log, 60)
        # sign-in on, with one token/account/audit store every replica shares (README)
        auth_db = tmp / "shared" / "auth.sqlite3"
        ADMIN["Authorization"] = "Bearer " + AccessStore(auth_db).create_token(
            "replica-admin", "admin")[1]
        env = {**os.environ, "CITEWISE_CHROMA_URL": chroma, "CITEWISE_AUTH": "token",
               "CITEWISE_AUTH_DB": str(auth_db),
               "CITEWISE_FEEDBACK_DB": str(tmp / "shared" / "feedback.sqlite3"),
               "CITEWISE_SLACK_SIGNING_SECRET": SIGNING_SECRET,
               "CITEWISE_SLACK_BOT_TOKEN": BOT_TOKEN, "CITEWISE_SLACK_API_URL": slack_api.url}
        urls, logs = [], []
        for name in ("a", "b"):
            port = _free_port()
            logs.append(tmp / f"serve-{name}.log")
            with logs[-1].open("w") as out:
                procs.append(subprocess.Popen(
                    [str(Path(sys.executable).parent / "citewise"), "serve", "--store",
                     str(tmp / f"cache-{name}"), "--port", str(port)],
                    stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp))
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc, path in zip(urls, procs[1:], logs, strict=True):
            _wait_http(f"{url}/healthz", proc, path)
        yield chroma, urls
    finally:
        for proc in reversed(procs):
            _stop(proc)


def _ask(url: str, question: str) -> dict:
    r = httpx.post(f"{url}/api/ask", json={"question": question}, timeout=60, headers=ADMIN)
    assert r.status_code == 200, r.text
    return r.json()


def _cites(answer: dict, source: str) -> bool:
    return any(c["source"] == source for c in answer["citations"])


def _upload(url: str, name: str, text: str) -> None:
    r = httpx.post(f"{url}/api/documents", files={"files": (name, text.encode(), "text/plain")},
                   headers=ADMIN,
                   timeout=120)
    assert r.status_code == 200, r.text
    assert r.json()["files"][0]["status"] == "added", r.text


def _until(check, timeout: float) -> float:
    """Seconds until check() holds; fails after timeout."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            pytest.fail(f"not seen within {timeout:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - started


def _bm25_only(chroma: str, store: Path, embedder) -> Citewise:
    cw = Citewise(Settings(store=store, chroma_url=chroma), embedder=embedder)
    cw.searcher.params = dataclasses.replace(FusionParams(), dense_weight=0.0)
    return cw


def test_write_on_one_replica_is_read_on_the_other(replicas, tmp_path, embedder) -> None:
    chroma, (a, b) = replicas
    reader = _bm25_only(chroma, tmp_path / "reader", embedder)
    assert not _cites(_ask(b, QUESTION), DOC_NAME)  # B has read the store (and cached it)
    assert not reader.retrieve(QUESTION)

    _upload(a, DOC_NAME, DOC_TEXT)
    seen_by_b = _until(lambda: _cites(_ask(b, QUESTION), DOC_NAME), REPLICA_LAG)
    answer = _ask(b, QUESTION)
    assert "Marta Kowalczyk" in answer["answer"]
    seen_by_bm25 = _until(lambda: any(h.chunk.source == DOC_NAME
                                      for h in reader.retrieve("Quillmere plateau telescope")),
                          REPLICA_LAG)

    r = httpx.delete(f"{a}/api/documents/{DOC_NAME}", timeout=60, headers=ADMIN)
    assert r.status_code == 200, r.text
    gone_from_b = _until(lambda: not _cites(_ask(b, QUESTION), DOC_NAME), REPLICA_LAG)
    gone_from_bm25 = _until(lambda: not reader.retrieve("Quillmere plateau telescope"),
                            REPLICA_LAG)
    log.warning("replica lag (s): added seen by B %.2f, by BM25 reader %.2f; deletion seen by "
                "B %.2f, by BM25 reader %.2f", seen_by_b, seen_by_bm25, gone_from_b,
                gone_from_bm25)


def test_simultaneous_writes_through_both_replicas_keep_both(replicas) -> None:
    _, (a, b) = replicas
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda args: _upload(*args),
                      [(a, "one-" + OTHER_NAME, OTHER_TEXT),
                       (b, "two-" + DOC_NAME, DOC_TEXT)]))
    for url in (a, b):
        # both kept; the other replica's one is listed within the generation poll (README)
        def both_listed(url: str = url) -> bool:
            docs = {d["source"]: d["chunks"]
                    for d in httpx.get(f"{url}/api/documents", headers=ADMIN).json()}
            return docs.get("one-" + OTHER_NAME, 0) >= 1 and docs.get("two-" + DOC_NAME, 0) >= 1

        _until(both_listed, REPLICA_LAG)
    _until(lambda: _cites(_ask(a, QUESTION), "two-" + DOC_NAME), REPLICA_LAG)
    _until(lambda: _cites(_ask(b, "How many passengers does the Brackwater ferry carry?"),
                          "one-" + OTHER_NAME), REPLICA_LAG)


def test_slack_retry_on_the_other_replica_gets_no_second_reply(replicas, slack_api) -> None:
    _, (a, b) = replicas
    slack_api.clear()
    body = {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event_id": "EvReplicaRetry1", "event_time": int(time.time()),
            "event": {"type": "app_mention", "user": "U123", "channel": "C1",
                      "text": f"<@{BOT_USER}> {QUESTION}", "ts": f"{time.time():.6f}"}}
    raw = json.dumps(body).encode()
    first = httpx.post(f"{a}/slack/events", content=raw, timeout=30,
                       headers={"Content-Type": "application/json", **slack_sign(raw)})
    assert first.status_code == 200, first.text
    retry = httpx.post(f"{b}/slack/events", content=raw, timeout=30,
                       headers={"Content-Type": "application/json", "X-Slack-Retry-Num": "1",
                                "X-Slack-Retry-Reason": "http_timeout", **slack_sign(raw)})
    assert retry.status_code == 200, retry.text
    assert len(slack_api.wait_posts(1, timeout=60)) == 1
    time.sleep(3)  # room for a second (wrong) reply to arrive
    assert len(slack_api.posts()) == 1, slack_api.posts()


def test_tokens_revocations_and_the_audit_log_are_shared(replicas) -> None:
    """A token made on one replica works on the other; revoked on one, it is refused by the
    other at once (every request reads the shared store); the audit log holds both replicas'
    changes."""
    _, (a, b) = replicas
    made = httpx.post(f"{a}/api/tokens", json={"name": "desk", "role": "editor"},
                      headers=ADMIN, timeout=30)
    assert made.status_code == 201, made.text
    desk = {"Authorization": f"Bearer {made.json()['token']}"}
    assert httpx.get(f"{b}/api/documents", headers=desk, timeout=30).status_code == 200
    for url, name in ((a, "audit-a.txt"), (b, "audit-b.txt")):
        r = httpx.post(f"{url}/api/documents", headers=desk, timeout=120, files={
            "files": (name, f"Replica note {name}: the count was 3.".encode(), "text/plain")})
        assert r.status_code == 200, r.text
    revoked = httpx.delete(f"{b}/api/tokens/{made.json()['id']}", headers=ADMIN, timeout=30)
    assert revoked.status_code == 200
    started = time.monotonic()
    assert httpx.get(f"{a}/api/documents", headers=desk, timeout=30).status_code == 401
    log.info("revocation on b honoured by a after %.3f s", time.monotonic() - started)
    entries = httpx.get(f"{a}/api/audit", headers=ADMIN, timeout=30).json()
    seen = [(e["who"], e["action"], e["target"]) for e in entries]
    assert ("token:desk", "upload", "audit-a.txt") in seen
    assert ("token:desk", "upload", "audit-b.txt") in seen
    assert ("token:replica-admin", "token-revoke", f"{made.json()['id']} desk") in seen
    for name in ("audit-a.txt", "audit-b.txt"):
        httpx.delete(f"{a}/api/documents/{name}", headers=ADMIN, timeout=60)
