"""Sign-in and roles: every route × every kind of caller, sessions, CSRF, proxy headers, rate
limits, the audit log, and the refusal to serve an open public server.

The app runs in-process over a FakeCitewise with ``CITEWISE_AUTH=token``; tokens and accounts
are made the way ``citewise token create`` and ``citewise user add`` make them. The real-server
tests (browser, replicas, proxy addresses) are in test_auth_live.py.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from citewise.access import AccessStore, Identity
from rag.config import Settings
from rag.errors import ConfigError
from tests.ui.conftest import sample_fake
from ui.auth import COOKIE, Gate, auth_mode, auth_path
from ui.chat import ChatUI
from ui.cli import main
from ui.server import create_app

QUESTION = "What stake does Microsoft hold in OpenAI Group PBC?"
SOURCE = "microsoft-openai-partnership.txt"
PASSWORD = "correct horse battery"


@dataclass
class Env:
    client: TestClient
    fake: object
    access: AccessStore
    tokens: dict[str, str]
    settings: Settings


def _make(tmp_path_factory, **overrides) -> tuple[TestClient, Env]:
    fake = sample_fake()
    limits = {"rate_ask": "10000/minute", "rate_upload": "10000/minute",
              "rate_signin": "10000/minute", **overrides}
    settings = Settings(store=tmp_path_factory.mktemp("auth-store"), auth="token", **limits)
    access = AccessStore(auth_path(settings))
    tokens = {role: access.create_token(f"{role}-bot", role)[1]
              for role in ("reader", "editor", "admin")}
    revoked_info, tokens["revoked"] = access.create_token("gone", "admin")
    access.revoke_token(revoked_info.id)
    for role in ("reader", "editor"):
        access.add_user(f"ana-{role}", role, PASSWORD)
    tokens["expired"] = access.new_session(Identity("old", "admin", "user", "old"), -1)
    client = TestClient(create_app(fake, settings), raise_server_exceptions=False)
    return client, Env(client, fake, access, tokens, settings)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    client, e = _make(tmp_path_factory)
    with client:
        yield e


def _sign_in(client: TestClient, user: str, password: str = PASSWORD) -> str:
    r = client.post("/login", data={"username": user, "password": password, "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.cookies[COOKIE]


# ---- the route table ------------------------------------------------------------------------

UPLOAD = {"files": [("files", ("note.txt", b"The zebra count was 12.", "text/plain"))]}
ROUTES = [  # (method, path, request kwargs, least role)
    ("GET", "/", {"headers": {"Accept": "text/html"}}, "reader"),
    ("GET", "/docs", {}, "reader"),
    ("GET", "/openapi.json", {}, "reader"),
    ("POST", "/api/ask", {"json": {"question": QUESTION}}, "reader"),
    ("POST", "/api/ask/stream", {"json": {"question": QUESTION}}, "reader"),
    ("GET", "/api/documents", {}, "reader"),
    ("GET", f"/api/documents/{SOURCE}", {}, "reader"),
    ("POST", "/api/documents", UPLOAD, "editor"),
    ("PUT", "/api/documents/note.txt",
     {"files": {"file": ("note.txt", b"The zebra count was 13.", "text/plain")}}, "editor"),
    ("DELETE", "/api/documents/note.txt", {}, "editor"),
    ("POST", "/api/feedback", {"json": {"answer_id": "0" * 32, "rating": "up"}}, "reader"),
    ("GET", "/api/feeds", {}, "reader"),
    ("POST", "/api/feeds", {"json": {"url": "https://news.example/rss"}}, "editor"),
    ("GET", "/v1/models", {}, "reader"),
    ("POST", "/v1/chat/completions",
     {"json": {"model": "citewise", "messages": [{"role": "user", "content": QUESTION}]}},
     "reader"),
    ("POST", "/mcp", {"json": {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}}, "reader"),
    ("GET", "/api/audit", {}, "admin"),
    ("GET", "/api/tokens", {}, "admin"),
    ("POST", "/api/tokens", {"json": {"name": "x", "role": "reader"}}, "admin"),
]
RANK = {"reader": 0, "editor": 1, "admin": 2}
CALLERS = ["none", "wrong", "revoked", "expired", "reader", "editor", "admin", "reader-cookie",
           "editor-cookie"]


def _credentials(env: Env, caller: str) -> tuple[dict[str, str], dict[str, str]]:
    """(headers, cookies) for a kind of caller."""
    if caller == "none":
        return {}, {}
    if caller == "wrong":
        return {"Authorization": "Bearer cw_0123456789ab_not-the-secret"}, {}
    if caller == "expired":
        return {"Origin": "http://testserver"}, {COOKIE: env.tokens["expired"]}
    if caller.endswith("-cookie"):
        user = f"ana-{caller.split('-')[0]}"
        return {"Origin": "http://testserver"}, {COOKIE: _sign_in(env.client, user)}
    return {"Authorization": f"Bearer {env.tokens[caller]}"}, {}


def _snapshot(env: Env) -> tuple[dict, int, int]:
    return (copy.deepcopy({s: d.text for s, d in env.fake.docs.items()}),
            len(env.access.audit_log()), len(env.access.tokens()))


@pytest.mark.parametrize("caller", CALLERS)
def test_every_route_for_every_caller(env, caller, output_dir):
    headers, cookies = _credentials(env, caller)
    role = caller.split("-")[0] if caller.split("-")[0] in RANK else None
    rows = []
    for method, path, kwargs, need in ROUTES:
        before = _snapshot(env)
        env.client.cookies.clear()
        for k, v in cookies.items():
            env.client.cookies.set(k, v)
        kw = copy.deepcopy(kwargs)
        kw["headers"] = {**kw.get("headers", {}), **headers}
        r = env.client.request(method, path, follow_redirects=False, **kw)
        allowed = role is not None and RANK[role] >= RANK[need]
        if allowed:
            assert r.status_code not in (401, 403, 429) and r.status_code < 500, \
                (caller, method, path, r.status_code, r.text[:300])
            if path == "/mcp":  # any Host (a reverse proxy's) passes once sign-in is on
                assert r.status_code == 200, r.text
        else:
            expected = 401 if role is None else 403
            if expected == 401 and path == "/":  # a browser is sent to the sign-in page
                assert r.status_code == 303 and r.headers["location"] == "/login?next=/"
            else:
                assert r.status_code == expected, (caller, method, path, r.status_code, r.text)
                body = r.json()
                message = body["error"]["message"] if path.startswith("/v1/") else body["error"]
                assert message and ("Sign in" in message or "token" in message
                                    or "role" in message or "expired" in message), message
            assert _snapshot(env) == before, (caller, method, path)  # nothing changed
        rows.append((method, path, r.status_code))
    env.client.cookies.clear()
    # the table as tested, for the closing note (test-output/ui/*/statuses.tsv)
    (output_dir / "statuses.tsv").write_text(
        "".join(f"{caller}\t{m}\t{p}\t{code}\n" for m, p, code in rows))


def test_a_refused_write_changes_nothing_even_for_a_real_document(env):
    before = _snapshot(env)
    r = env.client.delete(f"/api/documents/{SOURCE}",
                          headers={"Authorization": f"Bearer {env.tokens['reader']}"})
    assert r.status_code == 403 and "editor" in r.json()["error"]
    assert _snapshot(env) == before and SOURCE in env.fake.docs


# ---- sessions and CSRF ----------------------------------------------------------------------


def test_sign_in_page_session_cookie_and_sign_out(env):
    c = env.client
    c.cookies.clear()
    r = c.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/"
    page = c.get("/login")
    assert page.status_code == 200 and 'name="password"' in page.text.replace("'", '"')
    bad = c.post("/login", data={"username": "ana-editor", "password": "nope"},
                 follow_redirects=False)
    assert bad.status_code == 401 and "Wrong user name" in bad.text
    r = c.post("/login", data={"username": "ana-editor", "password": PASSWORD,
                               "next": "//evil.example/x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"  # never an open redirect
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    session = r.cookies[COOKIE]
    c.cookies.set(COOKIE, session)
    assert c.get("/api/documents").status_code == 200
    assert c.post("/logout", headers={"Origin": "http://testserver"},
                  follow_redirects=False).status_code == 303
    c.cookies.clear()
    c.cookies.set(COOKIE, session)
    r = c.get("/api/documents")
    assert r.status_code == 401 and "expired or ended" in r.json()["error"]
    c.cookies.clear()


def test_a_token_signs_in_a_browser_too_and_https_cookies_are_secure(env):
    c = TestClient(env.client.app, base_url="https://testserver")  # the app is already started
    r = c.post("/login", data={"token": env.tokens["reader"]}, follow_redirects=False)
    assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]


def test_cross_site_writes_with_a_cookie_are_refused(env):
    c = env.client
    c.cookies.clear()
    c.cookies.set(COOKIE, _sign_in(c, "ana-editor"))
    before = _snapshot(env)
    for origin in ({"Origin": "http://evil.example"}, {}, {"Origin": "null"},
                   {"Referer": "http://evil.example/page"}):
        r = c.post("/api/documents", headers=origin, **UPLOAD)
        assert r.status_code == 403 and "Cross-site" in r.json()["error"], origin
        r = c.post("/api/ask", json={"question": QUESTION}, headers=origin)
        assert r.status_code == 403
    assert _snapshot(env) == before
    r = c.post("/api/ask", json={"question": QUESTION}, headers={"Origin": "http://testserver"})
    assert r.status_code == 200
    c.cookies.clear()


def test_failed_sign_ins_are_slowed_down(tmp_path_factory):
    client, e = _make(tmp_path_factory, rate_signin="3/minute")  # noqa: F841
    with client:
        codes = [client.post("/login", data={"username": "ana-reader", "password": "x"}).status_code
                 for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        right = client.post("/login", data={"username": "ana-reader", "password": PASSWORD},
                            follow_redirects=False)
        assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0
        # guessing tokens counts the same way
        wrong = [client.get("/api/documents", headers={"Authorization": "Bearer cw_x_y"})
                 for _ in range(2)]
        assert wrong[-1].status_code == 429


# ---- rate limits ----------------------------------------------------------------------------


def test_the_n_plus_first_ask_is_429_and_other_users_are_unaffected(tmp_path_factory):
    client, e = _make(tmp_path_factory)
    client.app.state.gate.limits = type(client.app.state.gate.limits)(
        e.settings.updated(rate_ask="3/minute"))
    with client:
        a = {"Authorization": f"Bearer {e.tokens['reader']}"}
        b = {"Authorization": f"Bearer {e.tokens['editor']}"}
        codes = [client.post("/api/ask", json={"question": QUESTION}, headers=a).status_code
                 for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = client.post("/v1/chat/completions", headers=a, json={
            "model": "citewise", "messages": [{"role": "user", "content": QUESTION}]})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert r.json()["error"]["type"] == "rate_limit_error"
        assert client.post("/api/ask", json={"question": QUESTION}, headers=b).status_code == 200


# ---- proxy mode -----------------------------------------------------------------------------


def _scope(peer: str) -> dict:
    return {"type": "http", "client": (peer, 5555), "scheme": "http"}


def test_proxy_headers_count_only_from_the_proxy(tmp_path):
    gate = Gate.from_settings(Settings(store=tmp_path, auth="proxy", proxy_ips="10.1.0.0/16",
                                       proxy_roles="newsroom=editor,admins=admin"))
    headers = {"x-forwarded-email": "ana@example.org", "x-forwarded-groups": "staff,newsroom"}
    who, how = gate.identify(_scope("10.1.2.3"), headers)
    assert how == "proxy" and who == Identity("ana@example.org", "editor", "proxy",
                                              "ana@example.org")
    assert gate.identify(_scope("10.1.2.3"), {**headers, "x-forwarded-groups": "admins"}
                         )[0].role == "admin"
    assert gate.identify(_scope("10.1.2.3"), {"x-forwarded-user": "bo"})[0].role == "reader"
    assert gate.identify(_scope("192.168.0.9"), headers) == (None, "")  # not the proxy
    assert gate.identify(_scope("::1"), headers) == (None, "")
    strict = Gate.from_settings(Settings(store=tmp_path, auth="proxy", proxy_ips="10.1.0.0/16",
                                         proxy_default_role="none"))
    assert strict.identify(_scope("10.1.2.3"), {"x-forwarded-user": "bo"}) == (None, "")
    assert gate.secure(_scope("10.1.2.3"), {"x-forwarded-proto": "https"})
    assert not gate.secure(_scope("192.168.0.9"), {"x-forwarded-proto": "https"})


@pytest.mark.parametrize(("field", "value"), [("proxy_ips", "not-an-ip"),
                                              ("proxy_roles", "newsroom=boss"),
                                              ("rate_ask", "lots")])
def test_bad_auth_settings_say_what_to_fix(tmp_path, field, value):
    with pytest.raises(ConfigError):
        Gate.from_settings(Settings(store=tmp_path, auth="proxy", **{field: value}))


# ---- an open public server is refused --------------------------------------------------------


def test_an_open_server_on_a_public_address_is_refused_unless_said_so(tmp_path, capsys):
    assert auth_mode(Settings(host="127.0.0.1")) == "none"
    with pytest.raises(ConfigError, match="--insecure-open"):
        auth_mode(Settings(host="0.0.0.0"))
    with pytest.raises(ConfigError):
        auth_mode(Settings(host="0.0.0.0", auth="none"))
    assert auth_mode(Settings(host="0.0.0.0", insecure_open=True)) == "none"
    assert auth_mode(Settings(host="0.0.0.0", auth="token")) == "token"
    code = main(["serve", "--host", "0.0.0.0", "--store", str(tmp_path)])
    assert code == 2 and "CITEWISE_AUTH=token" in capsys.readouterr().err


# ---- OpenAPI, audit, admin routes, CLI --------------------------------------------------------


def test_openapi_describes_the_security_scheme(env):
    schema = env.client.get("/openapi.json",
                            headers={"Authorization": f"Bearer {env.tokens['reader']}"}).json()
    assert set(schema["components"]["securitySchemes"]) == {"bearer", "session"}
    ask = schema["paths"]["/api/ask"]["post"]
    assert ask["security"] == [{"bearer": []}, {"session": []}]
    assert "**editor**" in schema["paths"]["/api/documents"]["post"]["description"]
    assert "security" not in schema["paths"]["/healthz"]["get"]


def test_writes_and_token_changes_are_audited(env, capsys):
    c = env.client
    c.cookies.clear()
    ed = {"Authorization": f"Bearer {env.tokens['editor']}"}
    adm = {"Authorization": f"Bearer {env.tokens['admin']}"}
    since = len(env.access.audit_log())
    assert c.post("/api/documents", headers=ed, files=[
        ("files", ("audit-me.txt", b"The otter count was 7.", "text/plain"))]).status_code == 200
    assert c.put("/api/documents/audit-me.txt", headers=ed, files={
        "file": ("audit-me.txt", b"The otter count was 8.", "text/plain")}).status_code == 200
    assert c.delete("/api/documents/audit-me.txt", headers=ed).status_code == 200
    made = c.post("/api/tokens", headers=adm, json={"name": "ci", "role": "reader"}).json()
    assert c.get("/api/documents", headers={"Authorization": f"Bearer {made['token']}"}
                 ).status_code == 200
    assert c.delete(f"/api/tokens/{made['id']}", headers=adm).status_code == 200
    assert c.get("/api/documents", headers={"Authorization": f"Bearer {made['token']}"}
                 ).status_code == 401  # revoked: refused at once
    entries = c.get("/api/audit", headers=adm).json()[since:]
    assert [(e["action"], e["target"].split()[-1], e["who"]) for e in entries] == [
        ("upload", "audit-me.txt", "token:editor-bot"),
        ("replace", "audit-me.txt", "token:editor-bot"),
        ("delete", "audit-me.txt", "token:editor-bot"),
        ("token-create", "ci", "token:admin-bot"),
        ("token-revoke", "ci", "token:admin-bot")]
    upload, replace, delete = entries[:3]
    assert upload["before"] == "" and upload["after"] and upload["client"] == "testclient"
    assert replace["before"] == upload["after"] and replace["after"] != replace["before"]
    assert delete["before"] == replace["after"] and delete["after"] == ""
    code = main(["audit", "--store", str(env.settings.store)])
    out = capsys.readouterr().out
    assert code == 0 and "token:editor-bot (editor)  upload  audit-me.txt" in out


def test_cli_tokens_and_accounts(tmp_path, capsys):
    store = str(tmp_path)
    assert main(["token", "create", "--role", "editor", "--name", "ci-bot", "--store", store]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert token.startswith("cw_") and "only time it is shown" in err
    access = AccessStore(tmp_path / "auth.sqlite3")
    assert access.check_token(token).role == "editor"
    raw = (tmp_path / "auth.sqlite3").read_bytes()
    assert token.split("_", 2)[2].encode() not in raw  # only a salted digest is kept
    assert main(["token", "list", "--store", store]) == 0
    assert "ci-bot" in capsys.readouterr().out
    assert main(["token", "revoke", "ci-bot", "--store", store]) == 0
    assert access.check_token(token) is None
    assert main(["token", "revoke", "ci-bot", "--store", store]) == 2
    assert "No live token" in capsys.readouterr().err
    import io
    import sys

    old = sys.stdin
    sys.stdin = io.StringIO(PASSWORD + "\n")
    try:
        assert main(["user", "add", "ana", "--role", "reader", "--password-stdin",
                     "--store", store]) == 0
    finally:
        sys.stdin = old
    assert access.check_password("ana", PASSWORD).role == "reader"
    assert access.check_password("ana", "wrong") is None
    assert PASSWORD.encode() not in (tmp_path / "auth.sqlite3").read_bytes()
    assert main(["user", "remove", "ana", "--store", store]) == 0
    assert access.check_password("ana", PASSWORD) is None
    actions = [e.action for e in access.audit_log()]
    assert actions == ["token-create", "token-revoke", "user-add", "user-remove"]


# ---- the chat's own checks ---------------------------------------------------------------


def test_chat_hides_and_refuses_document_tools_by_role(env, tmp_path):
    ui = ChatUI(env.fake, env.settings, None, env.client.app.state.gate)
    reader = SimpleNamespace(username="user:ana-reader (reader)", client=SimpleNamespace(
        host="10.0.0.1"))
    editor = SimpleNamespace(username="user:ana-editor (editor)", client=SimpleNamespace(
        host="10.0.0.2"))
    html, tools, replace, feeds = ui.signed_in(reader)
    assert "ana-reader" in html and "Sign out" in html and tools["visible"] is False
    assert replace["visible"] is False and feeds["visible"] is False
    assert all(t["visible"] is True for t in ui.signed_in(editor)[1:])
    before = _snapshot(env)
    status, *_ = ui.delete(SOURCE, reader)
    assert "may not change documents" in status and _snapshot(env) == before
    f = tmp_path / "chat-upload.txt"
    f.write_text("The heron count was 3.", encoding="utf-8")
    result, *_ = ui.upload([str(f)], reader)
    assert "may not change documents" in result and _snapshot(env) == before
    result, *_ = ui.upload([str(f)], editor)
    assert "chat-upload.txt" in result and "chat-upload.txt" in env.fake.docs
    last = env.access.audit_log()[-1]
    assert (last.action, last.target, last.who, last.client) == (
        "upload", "chat-upload.txt", "user:ana-editor", "10.0.0.2")
    ui.delete("chat-upload.txt", editor)
    # following a feed is a write too
    from ui.feeds_panel import FeedHandlers

    feeds = FeedHandlers(env.fake, ui.writer)
    url = "https://news.example/chat-feed.xml"
    status, _listing, box = feeds.follow(url, reader)
    assert "may not change documents" in status and box == url and url not in env.fake.followed
    status, listing, box = feeds.follow(url, editor)
    assert "Following" in status and url in listing and box == ""


def test_slack_still_works_with_sign_in_on(tmp_path_factory):
    from tests.ui.conftest import BOT_USER, SIGNING_SECRET, SlackAPIRecorder
    from tests.ui.test_slack import event_body, post_json

    rec = SlackAPIRecorder()
    try:
        client, e = _make(tmp_path_factory, slack_signing_secret=SIGNING_SECRET,
                          slack_bot_token="xoxb-test-token", slack_api_url=rec.url)
        with client:
            assert post_json(client, "/slack/events", event_body(
                f"<@{BOT_USER}> {QUESTION}")).status_code == 200
            assert "27 per cent" in json.dumps(rec.wait_posts(1)[0]["blocks"])
            assert post_json(client, "/slack/events", event_body("x"),
                             secret="forged").status_code == 401
    finally:
        rec.close()


# ---- the tool endpoints take the same tokens -------------------------------------------------


def test_openai_sdk_and_mcp_client_use_the_bearer_token(tmp_path_factory):
    """The OpenAI SDK's api_key and an MCP client's Authorization header are citewise tokens;
    without one both are refused; feedback is recorded with who gave it."""
    import asyncio
    import threading
    import time

    import openai
    import uvicorn
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    from tests.ui.conftest import free_port

    client, e = _make(tmp_path_factory)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(client.app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        sdk = openai.OpenAI(base_url=base + "/v1", api_key=e.tokens["reader"], max_retries=0)
        r = sdk.chat.completions.create(model="citewise",
                                        messages=[{"role": "user", "content": QUESTION}])
        assert r.model_extra["citations"]
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=base + "/v1", api_key="nope", max_retries=0).models.list()

        async def tools(token: str | None) -> list[str]:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with create_mcp_http_client(headers=headers) as http, \
                    Client(streamable_http_client(base + "/mcp", http_client=http)) as c:
                return [t.name for t in (await c.list_tools()).tools]

        assert sorted(asyncio.run(tools(e.tokens["reader"]))) == ["ask", "search"]
        with pytest.raises(Exception):  # noqa: B017 - the SDK raises its own HTTP error
            asyncio.run(tools(None))

        import httpx

        auth = {"Authorization": f"Bearer {e.tokens['reader']}"}
        answer = httpx.post(base + "/api/ask", json={"question": QUESTION}, headers=auth).json()
        rid = httpx.post(base + "/api/feedback", headers=auth, json={
            "answer_id": answer["id"], "rating": "down"}).json()["id"]
        from citewise.feedback import FeedbackLog
        from ui.feedback import feedback_path

        item = FeedbackLog(feedback_path(e.settings)).get(rid)
        assert item.user == "token:reader-bot"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
