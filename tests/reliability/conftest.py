"""Fixtures for the reliability suite: the fork server, real servers on real stores, the browser.

Servers are started the way tests/ui starts them (same launcher, same health wait, same
outbound-connection audit), but on stores and settings each test controls.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.reliability.forkserver import ForkServer
from tests.ui.conftest import (
    _LAUNCHER,
    BOT_TOKEN,
    ROOT,
    SIGNING_SECRET,
    SlackAPIRecorder,
    _wait_healthy,
    free_port,
    live_server,  # noqa: F401 - re-exported: the sample server with a hostile document
    slack_api,  # noqa: F401 - re-exported: the fake Slack Web API on 127.0.0.1
)

OUTPUT = ROOT / "test-output" / "reliability"
VENV_BIN = Path(sys.executable).parent
CITEWISE = VENV_BIN / "citewise"
CHROMA = VENV_BIN / "chroma"

BASE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "PYTHONPATH": str(ROOT),
}


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any CITEWISE_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEWISE_")}
    return {**env, **BASE_ENV, **extra}


@pytest.fixture(scope="session")
def forkserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer]:
    server = ForkServer(tmp_path_factory.mktemp("forkserver"), env=clean_env())
    yield server
    server.close()


@pytest.fixture
def out_dir(request: pytest.FixtureRequest) -> Path:
    """Per-test output folder (figures, screenshots, logs) under test-output/reliability/."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    path = OUTPUT / name
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # noqa: ANN001 - pytest hook signature
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


# --------------------------------------------------------------------------------------------
# real servers
# --------------------------------------------------------------------------------------------


@dataclass
class Server:
    """A real ``ui.server.serve`` process on 127.0.0.1."""

    url: str
    store: Path
    log: Path
    netlog: Path
    proc: subprocess.Popen

    def rss_kb(self) -> int:
        """Current resident memory of the server process (VmRSS)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def outbound(self) -> list[str]:
        if not self.netlog.exists():
            return []
        return [line for line in self.netlog.read_text().splitlines() if line.strip()]

    def log_tail(self, n: int = 4000) -> str:
        return self.log.read_text("utf-8", "replace")[-n:]


@contextlib.contextmanager
def run_server(store: Path, corpus: Path, slack: SlackAPIRecorder | None = None,
               **settings: str) -> Iterator[Server]:
    """Serve ``corpus`` (ingested at start) from ``store``; extra CITEWISE_* settings as kwargs
    (``chroma_url="http://..."`` becomes CITEWISE_CHROMA_URL)."""
    store.mkdir(parents=True, exist_ok=True)
    port = free_port()
    netlog = store / "netlog.jsonl"
    log = store / "server.log"
    env = clean_env(
        CITEWISE_STORE=str(store), CITEWISE_HOST="127.0.0.1", CITEWISE_PORT=str(port),
        CW_TEST_NETLOG=str(netlog), CW_TEST_CORPUS=str(corpus),
        **{f"CITEWISE_{k.upper()}": str(v) for k, v in settings.items()},
    )
    if slack is not None:
        env.update(CITEWISE_SLACK_SIGNING_SECRET=SIGNING_SECRET, CITEWISE_SLACK_BOT_TOKEN=BOT_TOKEN,
                   CITEWISE_SLACK_API_URL=slack.url)
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log, timeout=180)
        yield Server(url, store, log, netlog, proc)
    finally:
        stop(proc)


def stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Terminate a process we started, killing it if it does not stop in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class ChromaServer:
    """A real ``chroma run`` server that a test can stop and start again on the same port."""

    def __init__(self, path: Path, log: Path) -> None:
        self.path = path
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1",
                 "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, env=clean_env(),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma exited: {self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/api/v2/heartbeat", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"chroma did not start: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


# --------------------------------------------------------------------------------------------
# the browser (Debian's chromium driven by Playwright, launched as tests/ui does)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201 - a playwright Browser
    from tests.ui.test_browser import CHROMIUM, FLAGS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()
