"""Markup in documents and questions stays text: in the browser chat (real chromium against the
real server) and in Slack Block Kit (the real server posting to the fake Slack Web API).

Every trick sets ``window.__pwned`` if it ever runs. The documents are uploaded through the API
like any user's files. The LLM-mode case ("ignore previous instructions" inside a document) is
covered with the local LLM server in tests/rag/answer/test_llm_e2e.py, not here.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ui.conftest import BOT_USER, slack_sign
from tests.ui.test_browser import Session
from tests.ui.test_slack import event_body

pytestmark = pytest.mark.slow

TRAP_MD = """# Heron <script>window.__pwned=11</script> survey

The heron count this spring is 77 birds <img src=x onerror="window.__pwned=12"> by the \
[lake](javascript:window.__pwned=13) and [shore](  javascript:alert(1) ).

The heron warden is <a href="javascript:window.__pwned=14">Ann Moss</a> with \
![map](x" onerror="window.__pwned=15) and <iframe src="javascript:window.__pwned=16"></iframe> \
<svg onload="window.__pwned=17"></svg> <details open ontoggle="window.__pwned=18">x</details>.

Heron reports go to <!channel> and <@U999|warden> via <javascript:alert(2)|the form>.
"""

TRAP_FEED = json.dumps({
    "id": "kingfisher-wire",
    "url": "javascript:window.__pwned=19",
    "title": "Kingfisher <img src=x onerror=\"window.__pwned=20\"> [news](javascript:alert(3))",
    "text": "The kingfisher tally at the weir reached 23 birds this week.",
}) + "\n"

QUESTION = ("What is the heron count this spring? [why](javascript:window.__pwned=21) "
            "<img src=x onerror=\"window.__pwned=22\"><script>window.__pwned=23</script>")

#: where documents' and users' text is shown (Gradio's own icons around it are not checked)
SHOWN = ["#cw-chat .cw-question", "#cw-chat .cw-answer", "#cw-chat .cw-abstain",
         "#cw-chat .cw-error", "#cw-chat .cw-understood", "#cw-sources"]

#: elements and attributes that would mean markup from a document or question became live
LIVE_MARKUP_JS = """(roots) => {
  const out = [];
  for (const sel of roots) {
   for (const root of document.querySelectorAll(sel)) {
    for (const el of root.querySelectorAll('*')) {
      const tag = el.tagName.toLowerCase();
      if (['script', 'iframe', 'svg', 'object', 'embed'].includes(tag) ||
          (tag === 'img' && !(el.getAttribute('src') || '').startsWith('data:')) ||
          (tag === 'details' && el.hasAttribute('ontoggle'))) out.push(sel + ' ' + tag);
      for (const a of el.attributes) {
        if (a.name.startsWith('on')) out.push(sel + ' ' + tag + '[' + a.name + ']');
        if (['href', 'src', 'action', 'formaction'].includes(a.name) &&
            /^\\s*(javascript|data|vbscript):/i.test(a.value)) out.push(sel + ' ' + tag + ' ' + a.value);
      }
    }
   }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def trap_docs(live_server) -> Iterator[list[str]]:
    """The hostile documents, uploaded through the API; deleted afterwards."""
    files = [("files", ("heron-trap.md", TRAP_MD.encode(), "text/markdown")),
             ("files", ("kingfisher.jsonl", TRAP_FEED.encode(), "application/jsonl"))]
    r = httpx.post(live_server.url + "/api/documents", files=files, timeout=120)
    assert r.status_code == 200, r.text
    sources = [f["source"] for f in r.json()["files"]]
    assert sources == ["heron-trap.md", "kingfisher-wire"], r.text
    yield sources
    for s in sources:
        httpx.delete(f"{live_server.url}/api/documents/{s}", timeout=30)


@pytest.fixture
def session(browser, live_server, out_dir: Path, request) -> Iterator[Session]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    s = Session(page, live_server.url)
    yield s
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        try:
            s.shot(out_dir / "failure.png")
            (out_dir / "server.log").write_text(live_server.log.read_text()[-20000:])
        except Exception as exc:  # the screenshot must not hide the real failure
            print(f"screenshot failed: {exc}")
    context.close()


def test_markup_in_documents_and_questions_is_inert_in_the_browser(
        session: Session, live_server, trap_docs: list[str], out_dir: Path) -> None:
    s = session
    page = s.page
    s.open()
    s.ask(QUESTION)
    answer = s.last_bot()
    assert "77 birds" in answer.inner_text()
    target = answer.locator("a.cw-cite").first.get_attribute("href")
    assert "heron-trap.md" in page.locator(f"#cw-sources {target}").inner_text()
    s.ask("What was the kingfisher tally at the weir?")
    assert "23 birds" in s.last_bot().inner_text()
    page.wait_for_timeout(500)  # give any onerror/onload a chance to fire

    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("#cw-chat .cw-question").count() == 2
    live = page.evaluate(LIVE_MARKUP_JS, SHOWN)
    assert live == [], live
    chat = page.locator("#cw-chat").inner_text()
    sources = page.locator("#cw-sources").text_content() or ""  # folded answers included
    # shown as the characters that were typed or written
    assert "[why](javascript:window.__pwned=21)" in chat
    assert "<script>window.__pwned=23</script>" in chat
    assert "77 birds <img src=x onerror=\"window.__pwned=12\">" in sources
    assert "[lake](javascript:window.__pwned=13)" in sources
    assert "Kingfisher <img src=x" in sources  # the feed's title, as text
    # links go to sources in the page or to http(s) pages, never to script
    hrefs = page.eval_on_selector_all("#cw-chat a[href], #cw-sources a[href]",
                                      "els => els.map(e => e.getAttribute('href'))")
    assert hrefs and all(re.match(r"^(#cw-|https?://)", h) for h in hrefs), hrefs
    assert not any("javascript" in h for h in hrefs)

    s.tab("Documents")
    s.wait_text("#cw-docs", "heron-trap.md")
    assert "<script>window.__pwned=11</script>" in page.locator("#cw-docs").inner_text()
    assert page.evaluate(LIVE_MARKUP_JS, ["#cw-docs tbody td"]) == []
    assert page.evaluate("typeof window.__pwned") == "undefined"
    s.shot(out_dir / "inert.png")
    assert s.errors == [], s.errors
    assert s.foreign == [] and live_server.outbound() == []


def _mrkdwn_texts(blocks: list[dict]) -> list[str]:
    texts = []
    for b in blocks:
        if "text" in b:
            texts.append(b["text"]["text"])
        texts += [e.get("text", "") for e in b.get("elements", [])]
    return texts


def test_markup_in_documents_is_inert_in_slack_block_kit(live_server, trap_docs: list[str]
                                                         ) -> None:
    rec = live_server.slack
    channel = f"CINJ{uuid.uuid4().hex[:6].upper()}"
    asked = [f"<@{BOT_USER}> What is the heron count this spring?",
             f"<@{BOT_USER}> Who is the heron warden?",
             f"<@{BOT_USER}> Where do heron reports go?",
             f"<@{BOT_USER}> What was the kingfisher tally at the weir?"]
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        for text in asked:
            raw = json.dumps(event_body(text, channel=channel)).encode()
            r = http.post("/slack/events", content=raw,
                          headers={"Content-Type": "application/json", **slack_sign(raw)})
            assert r.status_code == 200
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        posts = [p for p in rec.posts() if p.get("channel") == channel]
        if len(posts) == len(asked):
            break
        time.sleep(0.1)
    assert len(posts) == len(asked), posts
    dumped = json.dumps([p["blocks"] for p in posts])
    assert "77 birds" in dumped and "23 birds" in dumped
    for post in posts:
        for text in _mrkdwn_texts(post["blocks"]) + [post["text"]]:
            # Slack markup is only <...>: every < that reaches Slack opens an http(s) link
            for m in re.finditer(r"<([^>]*)>", text):
                assert re.match(r"https?://", m.group(1)), (m.group(0), text)
        for text in _mrkdwn_texts(post["blocks"]):
            assert "<!channel>" not in text and "<@U999" not in text
    # the documents' markup arrives as visible text
    assert "&lt;!channel&gt;" in dumped and "&lt;img src=x onerror" in dumped
    # the feed's javascript: url is never made a link, its title never markup
    assert "<javascript" not in dumped and "|Kingfisher" not in dumped
