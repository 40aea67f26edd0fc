"""The one ASGI app: browser chat (Gradio at ``/``), Slack (``/slack/*``), the JSON API (``/api/*``,
``/healthz``, docs at ``/docs``), an OpenAI-compatible chat API (``/v1/*``) and MCP tools
(``/mcp``), served by ``citewise serve``.

The Citewise (embedding model, index) is built once per process and shared by every request;
its calls run in worker threads so the event loop stays responsive. Nothing here calls the
internet: Gradio analytics are off, and the API docs' assets are served locally.
"""

from __future__ import annotations

import logging
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from citewise.protocols import CitewiseApp
from rag.config import Settings
from rag.errors import CitewiseError
from ui import api
from ui.auth import AuthMiddleware, Gate, auth_mode, auth_router, install_security_scheme
from ui.openai_compat import MAX_BODY_BYTES, PREFIX, openai_router
from ui.render import esc
from ui.replace import replace_router

log = logging.getLogger(__name__)

DESCRIPTION = (
    "Ask questions about your documents; every answer cites exact quotes of its sources, or "
    "abstains. `POST /api/ask` returns the same object as `citewise ask --json`."
)


def _swagger_assets() -> Path | None:
    """Swagger UI's files from the `swagger-ui-bundle-v2` package, when it is installed."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    path = Path(str(swagger_ui_path))
    return path if (path / "swagger-ui-bundle.js").exists() else None


def _install_docs(app: FastAPI) -> None:
    """``/docs`` without any CDN: Swagger UI from local files, else a plain endpoint list."""
    assets = _swagger_assets()
    if assets is not None:
        app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        if assets is not None:
            return get_swagger_ui_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title="citewise API",
                swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                swagger_css_url="/docs-assets/swagger-ui.css",
                swagger_favicon_url="/favicon-docs.png",
                swagger_ui_parameters={"validatorUrl": None, "tryItOutEnabled": True},
            )
        return HTMLResponse(_plain_docs(app.openapi()))

    @app.get("/favicon-docs.png", include_in_schema=False)
    async def favicon() -> Any:
        icon = assets / "favicon-32x32.png" if assets else None
        if icon is not None and icon.exists():
            return FileResponse(icon)
        return HTMLResponse("", status_code=404)


def _plain_docs(schema: dict[str, Any]) -> str:
    rows = []
    for path, ops in schema.get("paths", {}).items():
        for method, op in ops.items():
            rows.append(f"<tr><td><code>{esc(method.upper())}</code></td><td><code>{esc(path)}"
                        f"</code></td><td>{esc(op.get('summary', ''))}</td></tr>")
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>citewise API</title>"
        "<style>body{font-family:sans-serif;margin:2em}td{padding:4px 12px}</style></head>"
        f"<body><h1>citewise API</h1><p>{esc(DESCRIPTION)}</p><table>{''.join(rows)}</table>"
        "<p>The full schema: <a href='/openapi.json'>/openapi.json</a></p></body></html>"
    )


def _no_chat_page(app: FastAPI) -> None:
    """``/`` of a server without the chat (``CITEWISE_CHAT_UI=false``): what it does serve."""

    @app.get("/", include_in_schema=False)
    async def home() -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><html><head><meta charset='utf-8'><title>citewise</title></head>"
            "<body style='font-family:sans-serif;margin:2em'><h1>citewise</h1>"
            "<p>This server answers over its API (<a href='/docs'>/docs</a>), Slack and MCP; "
            "the browser chat is off. Start it with <code>CITEWISE_CHAT_UI=true</code> "
            "(<code>citewise serve --chat-ui</code>) to chat here.</p></body></html>")


def create_app(citewise: CitewiseApp, settings: Settings) -> FastAPI:
    """The FastAPI app with the API, Slack routes and the Gradio UI mounted at ``/`` (unless
    ``settings.chat_ui`` is off: then Gradio is never imported)."""
    from ui.feedback import Recorder, feedback_router
    from ui.mcp_tools import PATH as MCP_PATH
    from ui.mcp_tools import build_mcp
    from ui.slack import SlackBot, slack_router

    gate = Gate.from_settings(settings)  # who may do what (refuses an open public server)
    recorder = Recorder(citewise, settings)  # answers shown, so users can rate them
    bot: SlackBot | None = None
    if settings.slack_bot_token and (settings.slack_signing_secret or settings.slack_app_token):
        bot = SlackBot(citewise, settings, recorder=recorder)
    elif settings.slack_signing_secret or settings.slack_bot_token or settings.slack_app_token:
        log.warning("Slack is half-configured: set CITEWISE_SLACK_BOT_TOKEN plus "
                    "CITEWISE_SLACK_SIGNING_SECRET (webhook) or CITEWISE_SLACK_APP_TOKEN "
                    "(Socket Mode); Slack is off until then.")

    tools = build_mcp(citewise)
    # the SDK's DNS-rebinding guard (Host must be 127.0.0.1) protects an open local server;
    # with sign-in every call needs a token, and a reverse proxy's Host must pass
    guard = None
    if gate.mode != "none":
        from mcp.server.transport_security import TransportSecuritySettings

        guard = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    tools_app = tools.streamable_http_app(streamable_http_path=MCP_PATH, stateless_http=True,
                                          json_response=True, host=settings.host,
                                          transport_security=guard)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        if bot is not None and bot.app_token:
            bot.start_socket_mode()  # outgoing WebSocket to Slack; no public URL needed
        async with tools.session_manager.run():  # the MCP tools' task group
            yield
        if bot is not None:
            bot.close()

    app = FastAPI(
        title="citewise", version="0.1.0", description=DESCRIPTION,
        docs_url=None, redoc_url=None, openapi_url="/openapi.json", lifespan=lifespan,
    )
    app.state.citewise = citewise
    app.state.settings = settings
    app.state.slack = bot
    app.state.feedback = recorder
    app.state.gate = gate

    app.add_exception_handler(RequestValidationError, api.validation_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, api.http_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(CitewiseError, api.citewise_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, api.unexpected_error_handler)
    upload_limit = int(settings.max_upload_mb * 2**20) + 64 * 1024
    app.add_middleware(
        api.BodyLimitMiddleware,
        limits=[("/api/documents", upload_limit), ("/api/", api.MAX_JSON_BYTES),
                ("/slack/", api.MAX_JSON_BYTES), (PREFIX, MAX_BODY_BYTES)],
    )
    app.add_middleware(AuthMiddleware, gate=gate)  # outermost: nothing runs before it

    _install_docs(app)
    app.include_router(replace_router(citewise, settings))  # before api's catch-all for /api/*
    app.include_router(auth_router())  # /login, /logout, admin routes: before /api/* catch-all
    app.include_router(feedback_router())  # before api's catch-all for /api/*
    app.include_router(api.api_router())
    app.include_router(openai_router())
    app.router.routes.extend(tools_app.routes)  # POST/GET/DELETE /mcp (Streamable HTTP)
    app.include_router(slack_router(bot))
    install_security_scheme(app)
    if settings.chat_ui:
        from ui.chat import mount

        # last: it catches every other path
        mount(app, citewise, settings, path="/", recorder=recorder, gate=gate)
    else:
        _no_chat_page(app)
    return app


def no_telemetry() -> None:
    """Gradio sends usage analytics unless told not to; citewise makes no internet calls, so
    the server turns them off as it starts (not at import: importing a module must not change
    the process's environment). The chat's Blocks also pass ``analytics_enabled=False``, and
    Chroma's client is built with telemetry off (citewise/stores.py)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


def serve(settings: Settings | None = None, ingest: list[Path] | None = None) -> None:
    """Build the Citewise once (ingesting ``ingest`` paths first, if given) and serve the app
    with uvicorn on settings.host:settings.port. With ``llm="local"`` the offline model's
    server is started first and stopped on exit; without the model it answers extractively."""
    settings = settings or Settings()
    no_telemetry()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.llm:  # the offline model's server runs as long as this one (issue 14)
        from rag.answer.llm.local import local_llm

        with local_llm(settings) as with_llm:
            _serve(with_llm, ingest)
        return
    _serve(settings, ingest)


def _serve(settings: Settings, ingest: list[Path] | None) -> None:
    import uvicorn

    from citewise import Citewise
    from citewise.feeds import Refresher, parse_every
    from citewise.memory import Trimmer, limit_arenas

    limit_arenas()  # before the models and Chroma allocate (citewise/memory.py)

    # refuse a bad interval or an open public server before loading anything
    every = parse_every(settings.refresh_feeds) if settings.refresh_feeds else None
    mode = auth_mode(settings)
    if mode == "none":
        (log.warning if settings.host not in ("127.0.0.1", "localhost", "::1") else log.info)(
            "sign-in is off (CITEWISE_AUTH=none): anyone who reaches %s:%s may upload and "
            "delete documents", settings.host, settings.port)
    if settings.chroma_url and (mode != "none" and not settings.auth_db
                                or settings.feedback and not settings.feedback_db):
        log.warning("on a Chroma server, replicas share tokens, sessions, the audit log and "
                    "feedback only through CITEWISE_AUTH_DB and CITEWISE_FEEDBACK_DB on a volume "
                    "they all mount; now each replica keeps its own under %s", settings.store)
    citewise = Citewise.from_settings(settings)
    citewise.warm()
    if ingest:
        report = citewise.ingest([Path(p) for p in ingest])
        log.info("ingested: %d added, %d updated, %d unchanged, %d failed",
                 len(report.added), len(report.updated), len(report.unchanged), len(report.failed))
        for where, reason in report.failed:
            log.warning("could not ingest %s: %s", where, reason)
    app = create_app(citewise, settings)
    # polls on its own thread; asks never wait for it
    refresher = Refresher(citewise, every).start() if every else None
    trimmer = Trimmer().start()
    log.info("citewise serving on http://%s:%s (%s, API /docs, OpenAI-compatible /v1, "
             "MCP /mcp, Slack /slack/events)",
             settings.host, settings.port, "chat /" if settings.chat_ui else "chat off")
    # X-Forwarded-* are read by ui/auth.py, and only from CITEWISE_PROXY_IPS
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="info",
                    timeout_graceful_shutdown=5, proxy_headers=False)
    finally:
        trimmer.stop()
        if refresher is not None:
            refresher.stop()
