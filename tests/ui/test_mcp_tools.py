"""The MCP tools ``ask`` and ``search``, called with the ``mcp`` client SDK.

The fast tests connect the SDK's client to the server in-process (over a FakeCitewise) and over
real Streamable HTTP to the app on 127.0.0.1; the slow one calls the real server (real model
and index), and every quote must be the stored text at its offsets.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from typing import Any

import httpx
import pytest
import uvicorn
from mcp import Client

from rag.config import Settings
from tests.ui.conftest import FakeCitewise, free_port, sample_fake
from ui.mcp_tools import build_mcp
from ui.server import create_app

QUESTION = "What stake does Microsoft hold in OpenAI Group PBC?"


def stored_text(url: str, source: str) -> str:
    """The stored text citation offsets point into, as the real server returns it."""
    r = httpx.get(f"{url}/api/documents/{source}", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["text"]


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _session(server: Any, calls: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with Client(server) as client:
        out["tools"] = {t.name: t for t in (await client.list_tools()).tools}
        for name, args in calls:
            out.setdefault(name, []).append(await client.call_tool(name, args))
    return out


@pytest.fixture(scope="module")
def cw() -> FakeCitewise:
    return sample_fake()


def test_tools_have_clean_schemas(cw):
    tools = _run(_session(build_mcp(cw), []))["tools"]
    assert set(tools) == {"ask", "search"}
    ask, search = tools["ask"], tools["search"]
    assert ask.input_schema["required"] == ["question"]
    assert {"history", "as_of", "sources", "date_from", "date_to", "k"} <= set(
        ask.input_schema["properties"])
    assert search.input_schema["required"] == ["query"]
    cited = ask.output_schema["$defs"]["CitationOut"]["properties"]
    assert {"source", "title", "url", "quote", "start", "end", "published"} <= set(cited)
    assert {"answer", "abstained", "citations"} <= set(ask.output_schema["properties"])
    assert "passages" in search.output_schema["properties"]
    assert ask.description and search.description


def test_ask_and_search_quote_the_stored_text(cw):
    out = _run(_session(build_mcp(cw), [("ask", {"question": QUESTION}),
                                        ("search", {"query": "Microsoft stake", "k": 3})]))
    answer = out["ask"][0]
    assert not answer.is_error
    body = answer.structured_content
    assert not body["abstained"] and body["citations"]
    for c in body["citations"]:
        assert f"[{c['n']}]" in body["answer"]
        assert cw.document_text(c["source"])[c["start"]:c["end"]] == c["quote"]
    assert '"citations"' in answer.content[0].text  # the same JSON for text-only clients
    passages = out["search"][0].structured_content["passages"]
    assert len(passages) == 3
    assert [p["score"] for p in passages] == sorted((p["score"] for p in passages), reverse=True)
    for p in passages:
        assert cw.document_text(p["source"])[p["start"]:p["end"]] == p["quote"]


def test_history_as_of_and_filters_reach_the_answer(cw):
    cw.calls.clear()
    _run(_session(build_mcp(cw), [("ask", {
        "question": "Until when?", "as_of": "2025-11-01",
        "history": [{"question": QUESTION, "answer": "27 per cent [1]"}],
        "sources": ["microsoft-openai-partnership.txt"]})]))
    question, history = cw.calls[-1]
    assert question == "Until when?" and history[0].question == QUESTION
    assert cw.as_of_seen[-1] == "2025-11-01"


@pytest.mark.parametrize(("tool", "args", "words"), [
    ("ask", {"question": "   "}, "question is empty"),
    ("ask", {"question": QUESTION, "as_of": "2025-02-30"}, "not a real date"),
    ("ask", {"question": QUESTION, "sources": ["nope.txt"]}, "nope.txt"),
    ("search", {"query": QUESTION, "k": 0}, "k"),
    ("search", {"query": QUESTION, "date_from": "2025-12-01", "date_to": "2025-01-01"},
     "date_from"),
])
def test_bad_arguments_are_tool_errors_with_the_apis_message(cw, tool, args, words):
    result = _run(_session(build_mcp(cw), [(tool, args)]))[tool][0]
    assert result.is_error and words in result.content[0].text, result


def test_unanswerable_is_an_abstention_not_an_error(cw):
    result = _run(_session(build_mcp(cw), [("ask", {"question": "Zebra lunar colours?"})]))
    body = result["ask"][0].structured_content
    assert not result["ask"][0].is_error and body["abstained"] and body["citations"] == []


def test_served_at_mcp_over_streamable_http(cw):
    """The app ``citewise serve`` runs: the tools answer at /mcp beside the other routes."""
    app = create_app(cw, Settings(store=tempfile.mkdtemp(prefix="cw-mcp-")))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        out = _run(_session(f"http://127.0.0.1:{port}/mcp",
                            [("search", {"query": "Microsoft stake", "k": 2})]))
        assert set(out["tools"]) == {"ask", "search"}
        assert len(out["search"][0].structured_content["passages"]) == 2
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.slow
def test_live_mcp_tools_on_the_real_server(live_server):
    out = _run(_session(live_server.url + "/mcp", [
        ("ask", {"question": QUESTION}),
        ("search", {"query": "Microsoft stake in OpenAI", "k": 4}),
        ("ask", {"question": "Who won the 1930 football World Cup?"}),
    ]))
    answered, unanswerable = out["ask"]
    body = answered.structured_content
    assert not body["abstained"] and body["citations"]
    assert "27" in body["answer"] or "135" in body["answer"]
    passages = out["search"][0].structured_content["passages"]
    assert passages
    texts: dict[str, str] = {}
    for item in body["citations"] + passages:
        if item["source"] not in texts:
            texts[item["source"]] = stored_text(live_server.url, item["source"])
        assert texts[item["source"]][item["start"]:item["end"]] == item["quote"]
    assert unanswerable.structured_content["abstained"] is True
