"""Fixtures for the front-end tests.

* ``FakeCitewise``: an in-memory stand-in with the Citewise facade's contract (no model), used
  by the fast API/chat tests and the rendering tests.
* ``live_server``: the real server (real Citewise, sample article ingested) started with
  ``ui.server.serve`` in a subprocess on a free port, with a local "Slack API" recording calls.
  A Python audit hook in the server process logs every outgoing connection that is not to a
  loopback address, so tests can assert that nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from citewise import CitewiseApp, check_question
from citewise.feeds import FeedInfo
from ingest.feeds import FeedPoll, FeedRun
from rag.answer.followup import resolve_followup
from rag.config import Settings
from rag.errors import NotFoundError
from rag.language.text import sentence_spans
from rag.language.textrules import index_terms as tokenize
from rag.records import Answer, Chunk, Citation, DocumentInfo, Filters, Hit, IngestReport, Turn
from rag.retrieval.filters import check_filters, check_k, parse_day
from rag.storage.bm25 import BM25Index

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = ROOT / "sample_data"
OUTPUT_DIR = ROOT / "test-output" / "ui"

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test-token"
BOT_USER = "UCITEWISE"


@dataclass
class _Doc:
    source: str
    text: str
    title: str = ""
    url: str = ""
    published: str = ""
    ingested_at: str = "2025-01-01T00:00:00"


MIN_SHARED_TERMS = 2  # the fake quotes a sentence sharing this many terms with the question


@dataclass
class FakeCitewise:
    """A CitewiseApp (citewise/protocols.py) with no model and no Chroma, for the interface tests.

    Only the answer decision is fake: it quotes the (at most two) best sentences that share
    ``MIN_SHARED_TERMS`` BM25 terms with the question. Everything else is the real code: question,
    ``k`` and filter checks, follow-up resolution, sentence spans, BM25 scoring (over one
    sentence per "chunk"), abstentions (``Answer.abstention``), exact-span citations.
    """

    docs: dict[str, _Doc] = field(default_factory=dict)
    delay: float = 0.0  # seconds each ask sleeps (to test concurrency)
    calls: list[tuple[str, list[Turn]]] = field(default_factory=list)
    as_of_seen: list[str] = field(default_factory=list)  # each ask's as_of ("" = today)
    lock: threading.Lock = field(default_factory=threading.Lock)
    settings: Settings = field(default_factory=Settings)
    followed: dict[str, FeedInfo] = field(default_factory=dict)

    def add(self, source: str, text: str, title: str = "", url: str = "", published: str = "") -> None:
        self.docs[source] = _Doc(source, text, title, url, published)

    # ---- documents ---------------------------------------------------------------------
    def ingest(self, paths: Sequence[Path | str], prune: bool = False,
               progress: Callable[[int, int], None] | None = None) -> IngestReport:
        report = IngestReport()
        files: list[tuple[str, Path]] = []
        for p in map(Path, paths):
            if p.is_dir():
                files += [(str(f.relative_to(p)), f) for f in sorted(p.rglob("*")) if f.is_file()]
            else:
                files.append((p.name, p))
        for i, (source, f) in enumerate(files, 1):
            if f.suffix.lower() not in (".txt", ".md", ".html"):
                report.failed.append((str(f), f"unsupported file type {f.suffix!r}"))
                continue
            text = f.read_text(encoding="utf-8", errors="replace").strip()
            if not text:
                report.failed.append((str(f), "no text"))
                continue
            title = text.splitlines()[0][:80]
            old = self.docs.get(source)
            if old and old.text == text:
                report.unchanged.append(source)
            else:
                (report.updated if old else report.added).append(source)
                self.docs[source] = _Doc(source, text, title)
            if progress:
                progress(i, i)
        return report

    def documents(self) -> list[DocumentInfo]:
        return [
            DocumentInfo(d.source, d.title, d.url, d.published, [], max(1, len(d.text) // 500),
                         d.ingested_at, hashlib.sha256(d.text.encode()).hexdigest()[:32])
            for d in sorted(self.docs.values(), key=lambda d: d.source)
        ]

    def document_text(self, source: str) -> str:
        if source not in self.docs:
            raise NotFoundError(f"No document {source!r}")
        return self.docs[source].text

    def delete(self, source: str) -> None:
        if source not in self.docs:
            raise NotFoundError(f"No document {source!r} in the store.")
        del self.docs[source]

    def claim_once(self, key: str, ttl: float = 3600.0) -> bool:
        return True  # as an embedded store: one process owns it, so no replica claimed first

    def ingest_feeds(self, urls: Sequence[str], prune: bool = False,
                     progress: Callable[[int, int], None] | None = None) -> FeedRun:
        """Follows the URLs and reads nothing (tests/citewise/test_feeds.py polls for real)."""
        for url in urls:
            self.followed.setdefault(url, FeedInfo(url, time.time(), 0, 0, 0, 0, "", 0))
        return FeedRun(IngestReport(), [FeedPoll(url) for url in urls], 0)

    def feeds(self) -> list[FeedInfo]:
        return list(self.followed.values())

    # ---- answering ---------------------------------------------------------------------
    def _hits(self, question: str, k: int, filters: Filters | None) -> list[Hit]:
        """The real BM25 over the documents as they are now, one sentence per chunk."""
        chunks: dict[str, Hit] = {}
        for d in self.docs.values():
            for n, (start, end) in enumerate(sentence_spans(d.text)):
                chunk = Chunk(f"{d.source}#{start}", d.source, n, start, end, d.text[start:end])
                chunks[chunk.id] = Hit(chunk, 0.0, d.title, d.url, d.published)
        index = BM25Index()
        index.add(chunks, (h.chunk.text for h in chunks.values()))
        allowed = None
        if filters and filters.sources:
            allowed = {i for i, h in chunks.items() if h.chunk.source in filters.sources}
        return [replace(chunks[i], score=score) for i, score in index.search(question, k, allowed)]

    def ask(self, question: str, history: list[Turn] | None = None, k: int | None = None,
            filters: Filters | None = None, as_of: str | date | None = None) -> Answer:
        question = check_question(question)
        check_k(k)
        if isinstance(as_of, str):
            parse_day(as_of, "as_of")
        self.as_of_seen.append(str(as_of) if as_of else "")
        published = {d.source: d.published for d in self.docs.values()}
        filters, note = check_filters(filters, published)
        with self.lock:
            self.calls.append((question, list(history or [])))
        if self.delay:
            time.sleep(self.delay)
        standalone = resolve_followup(question, history) if history else question
        hits = self._hits(standalone, k or 5, filters)
        asked = set(tokenize(standalone))
        need = min(MIN_SHARED_TERMS, len(asked))
        best = [h for h in hits if len(asked & set(tokenize(h.chunk.text))) >= need][:2]
        if not best:
            return Answer.abstention(question, hits, standalone_question=standalone, note=note)
        cites = [Citation(n, h.chunk.source, h.title, h.url, h.chunk.text, h.chunk.start,
                          h.chunk.end, h.published) for n, h in enumerate(best, 1)]
        text = " ".join(f"{c.quote} [{c.n}]" for c in cites)
        return Answer(question, text, False, citations=cites, contexts=hits,
                      standalone_question=standalone, note=note, id="fake")

    def search(self, query: str, k: int | None = None, filters: Filters | None = None,
               as_of: str | date | None = None) -> list[Hit]:
        query = check_question(query)
        check_k(k)
        if isinstance(as_of, str):
            parse_day(as_of, "as_of")
        published = {d.source: d.published for d in self.docs.values()}
        filters, _ = check_filters(filters, published)
        return self._hits(query, k or 5, filters)

    def stream(self, question: str, history: list[Turn] | None = None, k: int | None = None,
               filters: Filters | None = None,
               as_of: str | date | None = None) -> Iterator[str | Answer]:
        answer = self.ask(question, history, k, filters, as_of)
        yield from re.findall(r"\S+\s*", answer.answer)
        yield answer


_conforms: type[CitewiseApp] = FakeCitewise  # mypy checks the fake against the contract


def sample_fake() -> FakeCitewise:
    cw = FakeCitewise()
    for f in sorted(SAMPLE_DIR.glob("*.txt")):
        text = f.read_text(encoding="utf-8")
        cw.add(f.name, text, text.splitlines()[0], "https://example.com/article", "2025-10-28")
    return cw


@pytest.fixture
def fake_cw() -> FakeCitewise:
    return sample_fake()


# --------------------------------------------------------------------------------------------
# Slack helpers
# --------------------------------------------------------------------------------------------


def slack_sign(body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None
               ) -> dict[str, str]:
    """Headers Slack would send: X-Slack-Request-Timestamp and X-Slack-Signature (v0 HMAC)."""
    from slack_sdk.signature import SignatureVerifier

    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig or ""}


class SlackAPIRecorder:
    """A tiny stand-in for https://slack.com/api/ on 127.0.0.1 that records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        #: what apps.connections.open answers (Socket Mode): a local ws:// URL, when set
        self.ws_url: str | None = None
        self.opened_with: list[str] = []  # tokens apps.connections.open was called with
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    args = json.loads(raw or "{}")
                else:
                    args = {k: v[0] for k, v in parse_qs(raw).items()}
                    for key in ("blocks",):
                        if isinstance(args.get(key), str):
                            args[key] = json.loads(args[key])
                method = self.path.rstrip("/").rsplit("/", 1)[-1]
                with recorder.lock:
                    recorder.calls.append((method, args))
                if method == "auth.test":
                    out = {"ok": True, "url": "https://example.slack.com/", "team": "T",
                           "user": "citewise", "team_id": "T1", "user_id": BOT_USER,
                           "bot_id": "BCITEWISE"}
                elif method == "apps.connections.open":
                    auth = self.headers.get("Authorization", "")
                    recorder.opened_with.append(auth.removeprefix("Bearer "))
                    out = ({"ok": True, "url": recorder.ws_url}
                           if recorder.ws_url and auth.startswith("Bearer xapp-")
                           else {"ok": False, "error": "invalid_auth"})
                else:
                    out = {"ok": True, "channel": args.get("channel", ""),
                           "ts": f"{time.time():.6f}"}
                    args["__ts"] = out["ts"]  # the posted message's ts (reactions point at it)
                data = json.dumps(out).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def posts(self) -> list[dict[str, Any]]:
        with self.lock:
            return [a for m, a in self.calls if m == "chat.postMessage"]

    def wait_posts(self, n: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            posts = self.posts()
            if len(posts) >= n:
                return posts
            time.sleep(0.05)
        return self.posts()

    def clear(self) -> None:
        with self.lock:
            self.calls.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SocketModeServer:
    """A local stand-in for Slack's Socket Mode WebSocket endpoint (``websockets``' sync server).

    Each connection gets Slack's ``hello``; ``send_envelope`` pushes an envelope to the connected
    client and ``acks`` holds every message the client sent back (``{"envelope_id", ...}``).
    """

    def __init__(self) -> None:
        import queue

        from websockets.sync.server import serve

        self.outbox: queue.Queue[str] = queue.Queue()
        self.acks: list[dict[str, Any]] = []
        self.connections = 0
        self.lock = threading.Lock()
        self._stop = threading.Event()
        server_self = self

        def handler(ws: Any) -> None:
            from websockets.exceptions import ConnectionClosed

            with server_self.lock:
                server_self.connections += 1
            ws.send(json.dumps({"type": "hello", "num_connections": 1,
                                "connection_info": {"app_id": "A1"},
                                "debug_info": {"host": "local-test"}}))
            while not server_self._stop.is_set():
                try:
                    msg = server_self.outbox.get(timeout=0.05)
                    ws.send(msg)
                except queue.Empty:
                    pass
                except ConnectionClosed:
                    return
                try:
                    raw = ws.recv(timeout=0.05)
                except TimeoutError:
                    continue
                except ConnectionClosed:
                    return
                data = json.loads(raw) if isinstance(raw, str) and raw.startswith("{") else {}
                if "envelope_id" in data:
                    with server_self.lock:
                        server_self.acks.append(data)

        self.server = serve(handler, "127.0.0.1", 0)
        port = self.server.socket.getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/link/?ticket=test"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def send_envelope(self, payload: dict[str, Any], kind: str = "events_api",
                      envelope_id: str | None = None, retry_attempt: int = 0) -> str:
        envelope_id = envelope_id or f"env-{time.monotonic_ns()}"
        self.outbox.put(json.dumps({
            "envelope_id": envelope_id, "type": kind, "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt, "retry_reason": "timeout" if retry_attempt else "",
        }))
        return envelope_id

    def wait_acks(self, n: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.acks) >= n:
                    return list(self.acks)
            time.sleep(0.05)
        with self.lock:
            return list(self.acks)

    def close(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def slack_api() -> Iterator[SlackAPIRecorder]:
    rec = SlackAPIRecorder()
    yield rec
    rec.close()


# --------------------------------------------------------------------------------------------
# the real server in a subprocess
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Run inside the server process: log non-loopback connections, then serve.
_LAUNCHER = textwrap.dedent(
    """
    import ipaddress, json, os, sys
    _log = os.environ["CW_TEST_NETLOG"]

    def _loopback(addr):
        host = addr[0] if isinstance(addr, tuple) and addr else addr
        if not isinstance(host, str):
            return True  # unix sockets
        if host in ("localhost", ""):
            return True
        try:
            return ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            return False

    def _hook(event, args):
        if event in ("socket.connect", "socket.sendto") and len(args) >= 2:
            addr = args[-1] if event == "socket.sendto" else args[1]
            if not _loopback(addr):
                with open(_log, "a") as f:
                    f.write(json.dumps([event, repr(addr)]) + "\\n")
        elif event == "socket.getaddrinfo" and args and isinstance(args[0], str):
            if not _loopback((args[0],)):
                with open(_log, "a") as f:
                    f.write(json.dumps([event, args[0]]) + "\\n")

    sys.addaudithook(_hook)
    from pathlib import Path
    from rag.config import Settings
    from ui.server import serve
    serve(Settings(), ingest=[Path(os.environ["CW_TEST_CORPUS"])])
    """
)


@dataclass
class LiveServer:
    url: str
    store: Path
    netlog: Path
    log: Path
    proc: subprocess.Popen
    slack: SlackAPIRecorder

    def outbound(self) -> list[str]:
        if not self.netlog.exists():
            return []
        return [line for line in self.netlog.read_text().splitlines() if line.strip()]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 300.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server did not become healthy:\n{log.read_text()[-4000:]}")


def start_server(tmp_path_factory, slack_api: SlackAPIRecorder, name: str = "live",
                 env_extra: dict[str, str] | None = None,
                 before_start: Callable[[Path], None] | None = None) -> LiveServer:
    """The real server (ui.server.serve) with the sample article and a hostile document
    ingested, on a free port; ``env_extra`` adds settings, ``before_start(store)`` runs first
    (e.g. to create tokens). Stop it with :func:`stop_server`."""
    store = tmp_path_factory.mktemp(f"{name}-store")
    corpus = tmp_path_factory.mktemp(f"{name}-corpus")
    shutil.copytree(SAMPLE_DIR, corpus, dirs_exist_ok=True)
    # a document whose text tries to run a script in the browser and to ping everyone in Slack
    (corpus / "hostile.txt").write_text(
        "Zebra security notice <script>window.__pwned=1</script>\n\n"
        "The zebra passphrase is <b>striped</b> <script>window.__pwned=1</script> and the "
        "zebra mascot says <img src=x onerror=\"window.__pwned=1\"> hello <!channel>.\n",
        encoding="utf-8",
    )
    if before_start is not None:
        before_start(store)
    port = free_port()
    netlog = store / "netlog.jsonl"
    log = store / "server.log"
    env = {
        **os.environ,
        "CITEWISE_STORE": str(store),
        "CITEWISE_HOST": "127.0.0.1",
        "CITEWISE_PORT": str(port),
        "CITEWISE_SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "CITEWISE_SLACK_BOT_TOKEN": BOT_TOKEN,
        "CITEWISE_SLACK_API_URL": slack_api.url,
        "CITEWISE_MAX_UPLOAD_MB": "1",
        "CW_TEST_NETLOG": str(netlog),
        "CW_TEST_CORPUS": str(corpus),
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "TOKENIZERS_PARALLELISM": "false",
        **(env_extra or {}),
    }
    env.pop("GRADIO_ANALYTICS_ENABLED", None)  # the server must turn analytics off itself
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
    except BaseException:
        stop_server(proc)
        raise
    return LiveServer(url, store, netlog, log, proc, slack_api)


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, slack_api) -> Iterator[LiveServer]:
    """The real server (ui.server.serve) with the sample article ingested, on a free port."""
    server = start_server(tmp_path_factory, slack_api)
    try:
        yield server
    finally:
        stop_server(server.proc)


@pytest.fixture
def output_dir(request) -> Path:
    """Per-test output folder (screenshots, logs), under test-output/ui/."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::")[-1])
    path = OUTPUT_DIR / name
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


Factory = Callable[..., Any]
