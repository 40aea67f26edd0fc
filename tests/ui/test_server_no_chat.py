"""A server without the browser chat (``CITEWISE_CHAT_UI=false``): the API, Slack and MCP
still answer, ``/`` says where to go, and Gradio is never imported (its ~100 MiB are the
point of the setting)."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from fastapi.testclient import TestClient

from rag.config import Settings
from tests.ui.conftest import ROOT, sample_fake, start_server, stop_server
from ui.server import create_app

QUESTION = "What stake does Microsoft hold in OpenAI Group PBC?"


def test_without_the_chat_the_root_page_says_where_the_api_is_and_the_api_answers(tmp_path):
    app = create_app(sample_fake(), Settings(store=tmp_path, chat_ui=False))
    with TestClient(app) as client:
        home = client.get("/")
        assert home.status_code == 200
        assert "browser chat is off" in home.text and "/docs" in home.text
        assert "CITEWISE_CHAT_UI=true" in home.text
        r = client.post("/api/ask", json={"question": QUESTION})
        assert r.status_code == 200 and r.json()["citations"]
        assert client.get("/docs").status_code == 200


def test_with_the_chat_the_root_is_gradio(tmp_path):
    app = create_app(sample_fake(), Settings(store=tmp_path))
    with TestClient(app) as client:
        home = client.get("/")
        assert home.status_code == 200
        assert "gradio" in home.text.lower() and "browser chat is off" not in home.text


def _imports_gradio(chat_ui: bool, store) -> bool:
    probe = (
        "import sys\n"
        "from rag.config import Settings\n"
        "from tests.ui.conftest import sample_fake\n"
        "from ui.server import create_app\n"
        f"create_app(sample_fake(), Settings(store={str(store)!r}, chat_ui={chat_ui}))\n"
        "print('gradio' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, check=True)
    return out.stdout.strip().splitlines()[-1] == "True"


def test_gradio_is_imported_only_when_the_chat_is_served(tmp_path):
    assert _imports_gradio(True, tmp_path / "a")
    assert not _imports_gradio(False, tmp_path / "b")


def test_the_serve_command_offers_the_setting():
    out = subprocess.run([sys.executable, "-m", "ui.cli", "serve", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert "--no-chat-ui" in out and "CITEWISE_CHAT_UI" in out


@pytest.mark.slow
def test_a_real_server_without_the_chat_answers_over_http(tmp_path_factory, slack_api):
    server = start_server(tmp_path_factory, slack_api, name="nochat",
                          env_extra={"CITEWISE_CHAT_UI": "false"})
    try:
        home = httpx.get(server.url + "/", timeout=30)
        assert home.status_code == 200 and "browser chat is off" in home.text
        r = httpx.post(server.url + "/api/ask", json={"question": QUESTION}, timeout=60)
        assert r.status_code == 200
        body = r.json()
        assert not body["abstained"] and "[1]" in body["answer"] and body["citations"]
        log = server.log.read_text(encoding="utf-8", errors="replace")
        assert "chat off" in log
        assert server.outbound() == []
    finally:
        stop_server(server.proc)
