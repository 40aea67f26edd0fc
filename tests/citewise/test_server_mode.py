"""Server mode: the same code against a real `chroma run` on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from citewise import Citewise
from rag.config import Settings
from rag.errors import StoreError
from tests.conftest import SAMPLE_DIR

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chroma_bin() -> str:
    exe = Path(sys.executable).parent / "chroma"
    return str(exe) if exe.exists() else shutil.which("chroma") or "chroma"


@pytest.fixture
def chroma_server(tmp_path):
    port = _free_port()
    proc = subprocess.Popen(
        [_chroma_bin(), "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1",
         "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma server did not start within 60 s")
    yield url, proc
    proc.terminate()
    proc.wait(timeout=20)


def test_ingest_and_ask_against_chroma_server(chroma_server, tmp_path, embedder):
    url, _ = chroma_server
    settings = Settings(store=tmp_path / "cache-a", chroma_url=url)
    cw = Citewise(settings, embedder=embedder)
    report = cw.ingest([SAMPLE_DIR])
    assert report.ok and report.added == ["microsoft-openai-partnership.txt"]
    # a second process (own cache dir, same server) sees the same data and BM25 state
    other = Citewise(Settings(store=tmp_path / "cache-b", chroma_url=url), embedder=embedder)
    assert [d.source for d in other.documents()] == ["microsoft-openai-partnership.txt"]
    hits = other.retrieve("How much will OpenAI spend on Azure services?")
    assert any("$250 billion" in h.chunk.text for h in hits)
    assert other.ingest([SAMPLE_DIR]).chunks_embedded == 0


def test_server_down_gives_clear_error(chroma_server, tmp_path, embedder):
    url, proc = chroma_server
    cw = Citewise(Settings(store=tmp_path / "c", chroma_url=url), embedder=embedder)
    cw.ingest([SAMPLE_DIR])
    proc.terminate()
    proc.wait(timeout=20)
    # one call per pytest.raises: a second call inside the same block would never run
    with pytest.raises(StoreError, match="Chroma is unreachable while reading the collection"):
        cw.index.current_generation(max_age=0)
    with pytest.raises(StoreError, match="Chroma is unreachable while .*CITEWISE_CHROMA_URL"):
        cw.retrieve("stake")
    with pytest.raises(StoreError, match="Chroma is unreachable while .*CITEWISE_CHROMA_URL"):
        cw.documents()
    with pytest.raises(StoreError, match=f"Cannot reach the Chroma server at {url}"):
        Citewise(Settings(store=tmp_path / "d", chroma_url=url), embedder=embedder)
