"""Sign-in on the real server: a person in a real browser (sign in, ask, upload as editor; a
reader without document tools whose forged request is refused; sign out; a cross-site form
refused), and a sign-in proxy's headers honoured only from the proxy's address.

The server runs with ``CITEWISE_AUTH=proxy`` and ``CITEWISE_PROXY_IPS=127.0.0.1``: accounts,
tokens and sessions work as with ``token``, and a request from 127.0.0.1 may also name its user
in ``X-Forwarded-Email``; the same request from 127.0.0.2 (another loopback address) may not.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from citewise.access import AccessStore
from tests.ui.conftest import start_server, stop_server
from tests.ui.test_browser import CHROMIUM, FLAGS, Session, _check_local

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"
QUESTION = "What stake does Microsoft hold in OpenAI Group PBC?"
TOKENS: dict[str, str] = {}


def _accounts(store: Path) -> None:
    access = AccessStore(store / "auth.sqlite3")
    access.add_user("ana", "editor", PASSWORD)
    access.add_user("rui", "reader", PASSWORD)
    TOKENS["admin"] = access.create_token("admin-bot", "admin")[1]


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, slack_api):
    server = start_server(tmp_path_factory, slack_api, "guarded", {
        "CITEWISE_AUTH": "proxy", "CITEWISE_PROXY_IPS": "127.0.0.1",
        "CITEWISE_PROXY_ROLES": "newsroom=editor"}, _accounts)
    try:
        yield server
    finally:
        stop_server(server.proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


def _sign_in(s: Session, user: str) -> None:
    s.page.goto(s.base + "/")
    s.page.wait_for_selector("#cw-login")  # not signed in: the sign-in page
    s.page.fill("#cw-user", user)
    s.page.fill("#cw-password", PASSWORD)
    s.page.click("#cw-signin")
    s.page.wait_for_selector("#cw-question textarea", timeout=60_000)
    s.wait_text("#cw-who", f"Signed in as {user}")


def test_editor_and_reader_in_a_browser(browser, guarded, output_dir, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    s = Session(context.new_page(), guarded.url)
    page = s.page
    _sign_in(s, "ana")
    s.ask(QUESTION)
    assert "27" in s.last_bot().inner_text()
    s.tab("Documents")
    doc = tmp_path / "heron-census.txt"
    doc.write_text("Heron census.\n\nThe 2031 heron census counted 412 herons.\n", "utf-8")
    page.locator("#cw-upload input[type=file]").set_input_files(str(doc))
    s.wait_text("#cw-upload", "heron-census.txt")
    page.locator("#cw-ingest").click()
    page.locator("#cw-ingest-result table").wait_for(timeout=120_000)
    assert "added" in page.locator("#cw-ingest-result").inner_text()
    s.shot(output_dir / "editor.png")
    page.locator("#cw-logout").click()
    page.wait_for_selector("#cw-login")
    page.goto(guarded.url + "/")
    page.wait_for_selector("#cw-login")  # signed out: the chat is behind the sign-in again
    _check_local(s, guarded)
    context.close()

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    s = Session(context.new_page(), guarded.url)
    page = s.page
    _sign_in(s, "rui")
    s.tab("Documents")
    s.wait_text("#cw-docs", "heron-census.txt")
    assert not page.locator("#cw-upload").is_visible()
    assert not page.locator("#cw-delete").is_visible()
    assert not page.locator("#cw-replace").is_visible()
    s.shot(output_dir / "reader.png")
    forged = page.evaluate("""async () => {
        const r = await fetch('/api/documents/heron-census.txt', {method: 'DELETE'});
        return [r.status, (await r.json()).error];
    }""")
    assert forged[0] == 403 and "reader" in forged[1]
    docs = httpx.get(guarded.url + "/api/documents", timeout=30,
                     headers={"Authorization": f"Bearer {TOKENS['admin']}"}).json()
    assert "heron-census.txt" in [d["source"] for d in docs]  # still there
    _check_local(s, guarded)
    context.close()

    audit = httpx.get(guarded.url + "/api/audit", timeout=30,
                      headers={"Authorization": f"Bearer {TOKENS['admin']}"}).json()
    mine = [e for e in audit if e["target"] == "heron-census.txt"]
    assert [(e["who"], e["role"], e["action"], e["client"]) for e in mine] == [
        ("user:ana", "editor", "upload", "127.0.0.1")]
    assert mine[0]["after"] and not mine[0]["before"]
    (output_dir / "audit.json").write_text(str(mine), encoding="utf-8")
    httpx.delete(guarded.url + "/api/documents/heron-census.txt", timeout=60,
                 headers={"Authorization": f"Bearer {TOKENS['admin']}"})


class _Evil(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        body = (f"<html><body><form id=f method=post action='{self.target}/api/ask' "
                "enctype='text/plain'><input name='{\"question\":\"x\",\"a\":\"' value='\"}'>"
                "</form><script>document.getElementById('f').submit()</script></body></html>")
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def test_a_cross_site_form_post_is_refused(browser, guarded):
    context = browser.new_context()
    s = Session(context.new_page(), guarded.url)
    _sign_in(s, "ana")  # the session cookie is in the browser
    _Evil.target = guarded.url
    evil = ThreadingHTTPServer(("127.0.0.1", 0), _Evil)  # another origin (its own port)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        s.page.goto(f"http://127.0.0.1:{evil.server_address[1]}/")
        s.page.wait_for_url(guarded.url + "/api/ask", timeout=30_000)
        assert "Cross-site request refused" in s.page.inner_text("body")
    finally:
        evil.shutdown()
        context.close()


def _client(local: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=local), timeout=60)


def test_proxy_headers_are_honoured_only_from_the_proxy_address(guarded):
    headers = {"X-Forwarded-Email": "desk@example.org", "X-Forwarded-Groups": "newsroom"}
    with _client("127.0.0.1") as proxy, _client("127.0.0.2") as other:
        r = proxy.post(guarded.url + "/api/ask", json={"question": QUESTION}, headers=headers)
        assert r.status_code == 200 and r.json()["citations"]
        # a browser behind the proxy (its cookie travels) must post from our own pages
        r = proxy.post(guarded.url + "/api/ask", json={"question": QUESTION},
                       headers={**headers, "Cookie": "_oauth2_proxy=x"})
        assert r.status_code == 403 and "Cross-site" in r.json()["error"]
        r = other.post(guarded.url + "/api/ask", json={"question": QUESTION}, headers=headers)
        assert r.status_code == 401 and "Sign in" in r.json()["error"]
        # the mapped group's role, from the proxy: an editor may upload
        r = proxy.post(guarded.url + "/api/documents", headers={
            **headers, "Origin": guarded.url}, files=[
            ("files", ("desk-note.txt", b"The desk note says 5 ferries.", "text/plain"))])
        assert r.status_code == 200, r.text
        r = proxy.delete(guarded.url + "/api/documents/desk-note.txt",
                         headers={"X-Forwarded-Email": "bo@example.org", "Origin": guarded.url})
        assert r.status_code == 403  # no mapped group: a reader
        r = other.get(guarded.url + "/healthz")
        assert r.status_code == 200
    audit = httpx.get(guarded.url + "/api/audit", timeout=30,
                      headers={"Authorization": f"Bearer {TOKENS['admin']}"}).json()
    assert ("proxy:desk@example.org", "upload", "desk-note.txt") in [
        (e["who"], e["action"], e["target"]) for e in audit]
