"""Sign-in, roles, CSRF checks, rate limits and the audit trail at the server's edge.

Every request passes :class:`AuthMiddleware` before any route: it finds who is asking (an API
token in ``Authorization: Bearer``, a browser session cookie, a trusted sign-in proxy's headers,
or, with ``CITEWISE_AUTH=none``, anyone), refuses what that role may not do (401 without a
credential, 403 with too small a role), refuses cross-site writes made with a cookie, and
counts asks and uploads against per-identity rate limits (429 with Retry-After). Slack's routes
keep their own signature check and act as a reader. The tokens, accounts, sessions and audit
log live in citewise/access.py.

Routes and the role they need (``required_role``):
``/login``, ``/logout``, ``/healthz``, ``/slack/*``: none of ours. Writes to
``/api/documents*``: editor. ``/api/audit``, ``/api/tokens*``: admin. Everything else (the chat,
``/api/ask``, ``/api/documents`` GET, ``/api/feedback``, ``/v1/*``, ``/mcp``, ``/docs``):
reader. The chat's upload, replace and delete handlers check the editor role themselves
(``ChatUI.writer`` with :func:`identity_of`), as Gradio's events all arrive on the same
routes.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from citewise.access import RANK, ROLES, AccessStore, Identity, day_start
from rag.config import Settings
from rag.errors import ConfigError
from rag.records import IngestReport
from ui.openai_compat import error_for
from ui.render import esc

log = logging.getLogger(__name__)

COOKIE = "cw_session"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
LOOPBACK_NETS = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]


def auth_path(settings: Settings) -> Path:
    return settings.auth_db or settings.store / "auth.sqlite3"


def auth_mode(settings: Settings) -> str:
    """The sign-in mode the server runs with; ConfigError when a reachable server would be open
    to everyone without ``--insecure-open`` saying so."""
    mode = settings.auth or "none"
    if mode == "none" and settings.host not in LOOPBACK and not settings.insecure_open:
        raise ConfigError(
            f"citewise serve --host {settings.host} would let anyone who reaches it upload and "
            "delete documents. Turn sign-in on: CITEWISE_AUTH=token (then `citewise token create "
            "--role reader --name NAME` or `citewise user add NAME --role editor`) or "
            "CITEWISE_AUTH=proxy behind a sign-in proxy; or pass --insecure-open to serve it "
            "open anyway.")
    return mode


def required_role(method: str, path: str) -> str | None:
    """The least role a request needs; None for the routes that check callers themselves."""
    if path in ("/login", "/logout", "/healthz") or path.startswith("/slack/"):
        return None
    if path.startswith(("/api/audit", "/api/tokens")):
        return "admin"
    if path.startswith(("/api/documents", "/api/feeds")) and method in UNSAFE:
        return "editor"
    return "reader"


def _kind_of_request(method: str, path: str) -> str | None:
    """Which rate limit a request counts against: "ask", "upload" or None."""
    if method != "POST" and not (method in ("PUT", "DELETE") and path.startswith("/api/documents")):
        return None
    if path in ("/api/ask", "/api/ask/stream", "/v1/chat/completions", "/mcp",
                "/api/feedback") or path.endswith("/queue/join"):
        return "ask"
    if path.startswith("/api/documents") or path.endswith("/gradio_api/upload"):
        return "upload"
    return None


# --------------------------------------------------------------------------------------------
# rate limits (the `limits` package: moving windows in memory, per process)
# --------------------------------------------------------------------------------------------


class Limits:
    def __init__(self, settings: Settings) -> None:
        from limits import parse
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        try:
            self._items = {"ask": parse(settings.rate_ask), "upload": parse(settings.rate_upload),
                           "signin": parse(settings.rate_signin)}
        except ValueError as exc:
            raise ConfigError(f"A rate limit is not like '60/minute': {exc}") from exc

    def hit(self, kind: str, key: str) -> float | None:
        """Count one; None when allowed, else the seconds until the next one is."""
        item = self._items[kind]
        if self._limiter.hit(item, kind, key):
            return None
        reset = self._limiter.get_window_stats(item, kind, key).reset_time
        return max(1.0, reset - time.time())

    def blocked(self, kind: str, key: str) -> float | None:
        """Like ``hit`` without counting (sign-ins count only their failures)."""
        item = self._items[kind]
        if self._limiter.test(item, kind, key):
            return None
        reset = self._limiter.get_window_stats(item, kind, key).reset_time
        return max(1.0, reset - time.time())


# --------------------------------------------------------------------------------------------
# who is asking
# --------------------------------------------------------------------------------------------


def _networks(spec: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = []
    for part in (p.strip() for p in spec.split(",")):
        if part:
            try:
                out.append(ipaddress.ip_network(part, strict=False))
            except ValueError as exc:
                raise ConfigError(f"CITEWISE_PROXY_IPS: {part!r} is not an address or network "
                                  f"({exc}).") from exc
    return out


def _in(host: str, nets: Sequence[Any]) -> bool:
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(addr in n for n in nets)


def _role_map(spec: str) -> dict[str, str]:
    out = {}
    for pair in (p.strip() for p in spec.split(",")):
        if not pair:
            continue
        group, sep, role = pair.partition("=")
        if not sep or role.strip() not in RANK:
            raise ConfigError(f"CITEWISE_PROXY_ROLES: {pair!r} is not GROUP=ROLE with a role of "
                              f"{', '.join(ROLES)}.")
        out[group.strip()] = role.strip()
    return out


@dataclass
class Gate:
    """The sign-in configuration and state one server process shares across requests."""

    mode: str
    access: AccessStore
    limits: Limits
    settings: Settings
    proxy_nets: list[Any] = field(default_factory=list)
    proxy_roles: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Gate:
        if settings.proxy_default_role not in (*ROLES, "none"):
            raise ConfigError("CITEWISE_PROXY_DEFAULT_ROLE must be a role or 'none'.")
        return cls(auth_mode(settings), AccessStore(auth_path(settings)), Limits(settings),
                   settings, _networks(settings.proxy_ips), _role_map(settings.proxy_roles))

    def peer(self, scope: Scope) -> str:
        client = scope.get("client")
        return str(client[0]) if client else ""

    def secure(self, scope: Scope, headers: dict[str, str]) -> bool:
        """Served over HTTPS: directly, or said so by the trusted proxy."""
        if scope.get("scheme") == "https":
            return True
        return (_in(self.peer(scope), self.proxy_nets)
                and headers.get("x-forwarded-proto", "").lower() == "https")

    def identify(self, scope: Scope, headers: dict[str, str]) -> tuple[Identity | None, str]:
        """(identity, how) with how "bearer", "cookie", "proxy" or "open"; (None, "bad-token")
        for a wrong, revoked or expired credential, (None, "") for none."""
        if self.mode == "none":
            return Identity("anyone", "admin", "open", self.peer(scope)), "open"
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            who = self.access.check_token(auth[7:].strip())
            return (who, "bearer") if who else (None, "bad-token")
        if self.mode == "proxy" and _in(self.peer(scope), self.proxy_nets):
            user = (headers.get(self.settings.proxy_user_header.lower())
                    or headers.get("x-forwarded-user", ""))
            if user:
                role = self._proxy_role(headers)
                return (Identity(user, role, "proxy", user), "proxy") if role else (None, "")
        cookie = cookie_parser(headers.get("cookie", "")).get(COOKIE)
        if cookie:
            who = self.access.session(cookie)
            return (who, "cookie") if who else (None, "bad-session")
        return None, ""

    def _proxy_role(self, headers: dict[str, str]) -> str | None:
        groups = [g.strip() for g in
                  headers.get(self.settings.proxy_groups_header.lower(), "").split(",")]
        roles = [self.proxy_roles[g] for g in groups if g in self.proxy_roles]
        if roles:
            return max(roles, key=lambda r: RANK[r])
        default = self.settings.proxy_default_role
        return None if default == "none" else default


def _same_origin(headers: dict[str, str]) -> bool:
    """A cookie-borne write must come from our own pages: its Origin (or Referer) is this
    host. Browsers send Origin with every cross-site POST, so a forged form fails here."""
    host = headers.get("host", "")
    origin = headers.get("origin") or headers.get("referer") or ""
    if not origin or origin == "null":
        return False
    return urlparse(origin).netloc == host


def label(who: Identity) -> str:
    """How an identity travels to the chat's handlers (Gradio's ``request.username``)."""
    return f"{who.kind}:{who.name} ({who.role})"


def user_of(request: Any) -> str:
    """Who a request came from, for the feedback log ("" when sign-in is off)."""
    who = getattr(getattr(request, "state", None), "identity", None)
    return f"{who.kind}:{who.name}" if who is not None and who.kind != "open" else ""


def gradio_user(request: Request) -> str | None:
    """Gradio's ``auth_dependency``: the identity AuthMiddleware found, as the chat handlers'
    ``request.username``."""
    who = getattr(request.state, "identity", None)
    return label(who) if who is not None else None


_LABEL = re.compile(r"^(\w+):(.*) \((reader|editor|admin)\)$")


def identity_of(username: str | None, client: str = "") -> Identity:
    """The identity a chat handler runs for; with sign-in off (no username), anyone, as
    admin."""
    m = _LABEL.match(username or "")
    if not m:
        return Identity("anyone", "admin", "open", client)
    return Identity(m.group(2), m.group(3), m.group(1), m.group(2))


class AuthMiddleware:
    """Authenticate, authorise, check CSRF and rate limits, before any route runs."""

    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path, method = scope.get("path", ""), scope.get("method", "GET")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        need = required_role(method, path)
        who, how = (None, "")
        if self.gate.mode == "none":  # no store to read: no worker thread needed
            who, how = self.gate.identify(scope, headers)
        elif need is not None or path in ("/login", "/logout"):
            who, how = await run_in_threadpool(self.gate.identify, scope, headers)
        scope.setdefault("state", {})["identity"] = who
        if need is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket" and (who is None or not who.may(need)):
            await send({"type": "websocket.close", "code": 1008})  # policy violation
            return
        peer = self.gate.peer(scope)
        if who is None:
            if how == "bad-token":  # guessing tokens counts like failed sign-ins
                wait = self.gate.limits.hit("signin", peer)
                if wait is not None:
                    await _too_many(path, wait, "Too many wrong tokens")(scope, receive, send)
                    return
            await self._unauthenticated(scope, receive, send, path, method, headers, how)
            return
        if not who.may(need):
            await error_for(path, 403, f"Your role ({who.role}) may not do this; it needs {need}. "
                         "Ask an admin for a token or account with that role.")(
                             scope, receive, send)
            return
        # a browser's write (its cookie travels, ours or the proxy's) must come from our pages
        browser = how == "cookie" or (how == "proxy" and "cookie" in headers)
        if method in UNSAFE and browser and not _same_origin(headers):
            await error_for(path, 403, "Cross-site request refused: writes signed in with a browser "
                         "session must come from this site's own pages.")(scope, receive, send)
            return
        kind = _kind_of_request(method, path)
        # open on this machine (the default), there is nobody to tell apart: no limits
        local = who.kind == "open" and _in(peer, LOOPBACK_NETS)
        if kind is not None and not local:
            wait = self.gate.limits.hit(kind, who.key if who.kind != "open" else f"ip:{peer}")
            if wait is not None:
                await _too_many(path, wait, f"Too many {kind}s")(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _unauthenticated(self, scope: Scope, receive: Receive, send: Send, path: str,
                               method: str, headers: dict[str, str], how: str) -> None:
        wants_page = method == "GET" and "text/html" in headers.get("accept", "") and \
            not path.startswith(("/api/", "/v1/", "/mcp"))
        if wants_page:
            target = path + (f"?{scope['query_string'].decode()}" if scope.get("query_string")
                             else "")
            response: Response = RedirectResponse(f"/login?next={quote(target)}", 303)
            if how == "bad-session":
                response.delete_cookie(COOKIE, path="/")
            await response(scope, receive, send)
            return
        message = {"bad-token": "The token is not valid (mistyped, revoked, or from another "
                                "server); ask an admin for a new one.",
                   "bad-session": "Your sign-in has expired or ended; sign in again at /login.",
                   }.get(how, "Sign in first: send `Authorization: Bearer TOKEN` (`citewise "
                              "token create`), or sign in at /login in a browser.")
        response = error_for(path, 401, message)
        response.headers["WWW-Authenticate"] = 'Bearer realm="citewise"'
        await response(scope, receive, send)


def _too_many(path: str, wait: float, what: str) -> JSONResponse:
    seconds = int(wait + 0.999)
    response = error_for(path, 429, f"{what}; try again in {seconds} s.")
    response.headers["Retry-After"] = str(seconds)
    return response


# --------------------------------------------------------------------------------------------
# audited writes
# --------------------------------------------------------------------------------------------


class Audited:
    """The application object with its writes (ingest, delete) recorded in the audit log as
    ``who`` made them from ``client``: source, content hash before and after."""

    def __init__(self, citewise: Any, access: AccessStore, who: Identity, client: str) -> None:
        self._citewise = citewise
        self._access = access
        self._who = who
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._citewise, name)

    def _hashes(self) -> dict[str, str]:
        return {d.source: d.content_hash for d in self._citewise.documents()}

    def ingest(self, paths: Sequence[Path | str], prune: bool = False,
               progress: Callable[[int, int], None] | None = None) -> IngestReport:
        before = self._hashes()
        report: IngestReport = self._citewise.ingest(paths, prune=prune, progress=progress)
        self._record(before, report)
        return report

    def ingest_feeds(self, urls: Sequence[str], prune: bool = False,
                     progress: Callable[[int, int], None] | None = None) -> Any:
        before = self._hashes()
        run = self._citewise.ingest_feeds(urls, prune=prune, progress=progress)
        self._record(before, run.report)
        return run

    def refresh_feeds(self, prune: bool = False,
                      progress: Callable[[int, int], None] | None = None) -> Any:
        before = self._hashes()
        run = self._citewise.refresh_feeds(prune=prune, progress=progress)
        self._record(before, run.report)
        return run

    def _record(self, before: dict[str, str], report: IngestReport) -> None:
        if report.added or report.updated or report.removed:
            after = self._hashes()
            for action, sources in (("upload", report.added), ("replace", report.updated),
                                    ("delete", report.removed)):
                for s in sources:
                    self._access.audit(self._who, action, s, before.get(s, ""),
                                       after.get(s, ""), self._client)

    def delete(self, source: str) -> None:
        before = self._hashes().get(source, "")
        self._citewise.delete(source)
        self._access.audit(self._who, "delete", source, before, "", self._client)


def audited(request: Request, citewise: Any) -> Audited:
    """``citewise`` with writes audited as the request's identity."""
    gate: Gate = request.app.state.gate
    who = getattr(request.state, "identity", None) or Identity("anyone", "admin", "open")
    client = request.client.host if request.client else ""
    return Audited(citewise, gate.access, who, client)


# --------------------------------------------------------------------------------------------
# the sign-in page, and the admin routes
# --------------------------------------------------------------------------------------------

LOGIN_CSS = (
    "body{font-family:system-ui,sans-serif;background:#f4f4f5;color:#18181b;margin:0}"
    "main{max-width:380px;margin:10vh auto;background:#fff;padding:28px;border-radius:10px;"
    "box-shadow:0 1px 4px rgba(0,0,0,.12)}h1{margin:0 0 4px;font-size:1.5em}"
    "p{color:#52525b;margin:0 0 18px}label{display:block;font-weight:600;margin:12px 0 4px}"
    "input{width:100%;box-sizing:border-box;padding:8px;border:1px solid #a1a1aa;"
    "border-radius:6px;font-size:1em}button{margin-top:18px;width:100%;padding:10px;"
    "background:#c2410c;color:#fff;border:0;border-radius:6px;font-size:1em;cursor:pointer}"
    "details{margin-top:14px}.err{color:#b91c1c;font-weight:600;margin:0 0 10px}"
)


def _safe_next(value: str) -> str:
    """Only paths of this site: never another host (an open redirect)."""
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def login_page(next_url: str = "/", error: str = "", status: int = 200) -> HTMLResponse:
    err = f'<p class="err" role="alert">{esc(error)}</p>' if error else ""
    html = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>Sign in · citewise</title><style>{LOGIN_CSS}</style></head><body><main>"
        "<h1>citewise</h1><p>Sign in to ask your team's documents.</p>" + err +
        "<form method='post' action='/login' id='cw-login'>"
        f"<input type='hidden' name='next' value='{esc(_safe_next(next_url))}'>"
        "<label for='cw-user'>User name</label>"
        "<input id='cw-user' name='username' autocomplete='username'>"
        "<label for='cw-password'>Password</label>"
        "<input id='cw-password' name='password' type='password' "
        "autocomplete='current-password'>"
        "<details><summary>Sign in with an API token instead</summary>"
        "<label for='cw-token'>Token</label>"
        "<input id='cw-token' name='token' type='password' autocomplete='off'></details>"
        "<button type='submit' id='cw-signin'>Sign in</button></form></main></body></html>")
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=1, max_length=100)
    role: str = Field(..., pattern="^(reader|editor|admin)$")


router = APIRouter()


@router.get("/login", include_in_schema=False)
async def get_login(request: Request, next: str = "/") -> Response:  # noqa: A002
    gate: Gate = request.app.state.gate
    if gate.mode == "none" or request.state.identity is not None:
        return RedirectResponse(_safe_next(next), 303)
    return login_page(next)


@router.post("/login", include_in_schema=False)
async def post_login(request: Request) -> Response:
    gate: Gate = request.app.state.gate
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    field = {k: v[0] for k, v in form.items()}
    next_url = _safe_next(field.get("next", "/"))
    if gate.mode == "none":
        return RedirectResponse(next_url, 303)
    peer = request.client.host if request.client else ""
    wait = gate.limits.blocked("signin", peer)
    if wait is not None:
        response = login_page(next_url, f"Too many failed sign-ins; try again in "
                              f"{int(wait + 0.999)} s.", 429)
        response.headers["Retry-After"] = str(int(wait + 0.999))
        return response
    token = field.get("token", "").strip()
    if token:
        who = await run_in_threadpool(gate.access.check_token, token)
    else:
        who = await run_in_threadpool(gate.access.check_password,
                                      field.get("username", "").strip(), field.get("password", ""))
    if who is None:
        gate.limits.hit("signin", peer)
        log.info("failed sign-in from %s", peer)
        return login_page(next_url, "Wrong user name, password or token.", 401)
    hours = gate.settings.session_hours
    session = await run_in_threadpool(gate.access.new_session, who, hours * 3600)
    signed_in = RedirectResponse(next_url, 303)
    headers = {k.lower(): v for k, v in request.headers.items()}
    signed_in.set_cookie(COOKIE, session, max_age=int(hours * 3600), path="/", httponly=True,
                        samesite="lax", secure=gate.secure(request.scope, headers))
    return signed_in


@router.post("/logout", include_in_schema=False)
async def post_logout(request: Request) -> Response:
    cookie = request.cookies.get(COOKIE)
    headers = {k.lower(): v for k, v in request.headers.items()}
    if cookie and not _same_origin(headers):
        return JSONResponse({"error": "Cross-site request refused."}, status_code=403)
    if cookie:
        await run_in_threadpool(request.app.state.gate.access.end_session, cookie)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/api/audit", tags=["admin"], summary="The audit log (admin): every upload, "
            "replace, delete, token and account change")
async def get_audit(request: Request, since: str = "") -> JSONResponse:
    gate: Gate = request.app.state.gate
    entries = await run_in_threadpool(gate.access.audit_log, day_start(since))
    return JSONResponse([e.to_dict() for e in entries])


@router.get("/api/tokens", tags=["admin"], summary="API tokens (admin); secrets are never shown")
async def list_tokens(request: Request) -> JSONResponse:
    gate: Gate = request.app.state.gate
    tokens = await run_in_threadpool(gate.access.tokens)
    return JSONResponse([t.__dict__ for t in tokens])


@router.post("/api/tokens", tags=["admin"], status_code=201,
             summary="Create a token (admin); its secret is in this response only")
async def create_token(body: TokenIn, request: Request) -> JSONResponse:
    gate: Gate = request.app.state.gate
    info, secret = await run_in_threadpool(gate.access.create_token, body.name, body.role)
    who = request.state.identity
    await run_in_threadpool(gate.access.audit, who, "token-create", f"{info.id} {info.name}",
                            "", info.role, request.client.host if request.client else "")
    return JSONResponse({**info.__dict__, "token": secret}, status_code=201)


@router.delete("/api/tokens/{key}", tags=["admin"], summary="Revoke a token (admin)")
async def revoke_token(key: str, request: Request) -> JSONResponse:
    gate: Gate = request.app.state.gate
    info = await run_in_threadpool(gate.access.revoke_token, key)
    await run_in_threadpool(gate.access.audit, request.state.identity, "token-revoke",
                            f"{info.id} {info.name}", info.role, "revoked",
                            request.client.host if request.client else "")
    return JSONResponse({"revoked": info.id})


def auth_router() -> APIRouter:
    return router


def install_security_scheme(app: Any) -> None:
    """The OpenAPI document says how to authenticate: a Bearer token or the session cookie."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return dict(app.openapi_schema)
        schema = original()
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "`citewise token create --role ROLE --name NAME`"},
            "session": {"type": "apiKey", "in": "cookie", "name": COOKIE,
                        "description": "Set by signing in at /login"}}
        for path, ops in schema.get("paths", {}).items():
            for method, op in ops.items():
                if isinstance(op, dict) and required_role(method.upper(), path) is not None:
                    op["security"] = [{"bearer": []}, {"session": []}]
                    role = required_role(method.upper(), path)
                    op["description"] = (op.get("description", "") +
                                         f"\n\nNeeds the **{role}** role when sign-in is on."
                                         ).strip()
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
