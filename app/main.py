"""Application factory: settings, database, hub, routers, error renderers."""

import functools
import gc
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import swagger_ui_bundle
from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from app.accounts import service as accounts_service
from app.accounts.revocations import SocketRevocations
from app.admission import (
    ADMISSION_STATE,
    TICKET,
    Admission,
    LagWatch,
    admission_for,
    shed,
    ticket_for,
)
from app.audit import pages as audit_pages
from app.audit import routes as audit_routes
from app.audit.context import AuditContext
from app.audit.spool import SpoolFlusher
from app.config import DEV_ADMIN_PASSWORD, PROJECT_ROOT, Settings, get_settings
from app.db import WriteGate, create_db_engine, read_only
from app.deps import TokenCache
from app.direct import DirectPosts
from app.direct_app import DiemcauApp
from app.errors import install_error_handlers
from app.exposure import ExposedDefaultsGuard
from app.headers import SecurityHeaders
from app.logs import install_log_filters
from app.realtime import Hub, create_hub
from app.templating import LOCAL_TZ
from app.throttle import ConnectionCap, Limiter, MemoryLimiter, Throttle
from app.throttle_store import RedisLimiter, make_limiter
from app.ws import database_guarded
from checkin import answer_pages as checkin_answer_pages
from checkin import answer_routes as checkin_answer_routes
from checkin import dashboard_pages as checkin_dashboard_pages
from checkin import dashboard_routes as checkin_dashboard_routes
from checkin import dashboard_ws as checkin_dashboard_ws
from checkin import effectiveness_pages as checkin_effectiveness_pages
from checkin import effectiveness_routes as checkin_effectiveness_routes
from checkin import follow_question_routes as checkin_follow_question_routes
from checkin import form_routes as checkin_form_routes
from checkin import headcount_routes as checkin_headcount_routes
from checkin import keys as checkin_keys
from checkin import offline_pages as checkin_offline_pages
from checkin import offline_roster_routes as checkin_offline_roster_routes
from checkin import offline_routes as checkin_offline_routes
from checkin import own_pages as checkin_own_pages
from checkin import pages as checkin_pages
from checkin import participation_routes as checkin_participation_routes
from checkin import report_routes as checkin_report_routes
from checkin import request_pages as checkin_request_pages
from checkin import retention_routes as checkin_retention_routes
from checkin import rights_routes as checkin_rights_routes
from checkin import roster_pages as checkin_roster_pages
from checkin import roster_routes as checkin_roster_routes
from checkin import routes as checkin_routes
from checkin import site_qr_routes as checkin_site_qr_routes
from checkin import tally_pages as checkin_tally_pages
from checkin import tally_routes as checkin_tally_routes
from checkin.dashboard import conferences_today
from checkin.dashboards import Dashboards
from checkin.form_results import count_parts_by_site
from checkin.misses import MissFlusher
from checkin.retention_job import RetentionJob
from endpoints import account_pages as endpoints_account_pages
from endpoints import account_routes as endpoints_account_routes
from endpoints import conference_pages as endpoints_conference_pages
from endpoints import import_pages as endpoints_import_pages
from endpoints import import_routes as endpoints_import_routes
from endpoints import invite_pages as endpoints_invite_pages
from endpoints import invite_routes as endpoints_invite_routes
from endpoints import login_pages as endpoints_login_pages
from endpoints import participation_pages as endpoints_participation_pages
from endpoints import participation_routes as endpoints_participation_routes
from endpoints import presence_routes as endpoints_presence_routes
from endpoints import privacy_pages as endpoints_privacy_pages
from endpoints import privacy_routes as endpoints_privacy_routes
from endpoints import readiness_pages as endpoints_readiness_pages
from endpoints import registration_pages as endpoints_registration_pages
from endpoints import registry_routes as endpoints_registry_routes
from endpoints import routes as endpoints_routes
from endpoints import screen_pages as endpoints_screen_pages
from endpoints import screen_routes as endpoints_screen_routes
from endpoints import site_pages as endpoints_site_pages
from endpoints import units_pages as endpoints_units_pages
from endpoints.presence import Presence, PresenceTicker
from sessions import deps as sessions_deps
from sessions import floor_pages as sessions_floor_pages
from sessions import floor_routes as sessions_floor_routes
from sessions import floor_site_pages as sessions_floor_site_pages
from sessions import floor_ws as sessions_floor_ws
from sessions import follow_ws as sessions_follow_ws
from sessions import form_pages as sessions_form_pages
from sessions import form_routes as sessions_form_routes
from sessions import form_stage_routes as sessions_form_stage_routes
from sessions import minutes_pages as sessions_minutes_pages
from sessions import minutes_routes as sessions_minutes_routes
from sessions import pages as sessions_pages
from sessions import routes as sessions_routes
from sessions import screen_pages as sessions_screen_pages
from sessions import status_pages as sessions_status_pages
from sessions import ws as sessions_ws
from sessions.stream import StageCache


class DirectWebsockets:
    """Hands the busiest websocket routes straight to their ASGI handler.

    Thousands of site screens stay connected for hours; every frame of the app's
    middleware stack and router kept alive per socket costs memory (about 5 KB
    each, measured in bench/fanout.py). The handlers check Origin and tokens
    themselves, so nothing those layers do is skipped for them.

    It also caps open websockets per client address (every socket path passes here
    first, /ws/screen included): the socket past the cap is refused before the
    handshake is accepted (HTTP 403), at the cost of a dictionary lookup. And it admits
    new sockets at a safe rate (app/admission.py): the excess is closed at once with
    1013 and when to come back.
    """

    def __init__(self, app: ASGIApp, routes: Mapping[str, ASGIApp], cap: ConnectionCap,
                 admission: Admission) -> None:
        self.app = app
        self.routes = dict(routes)
        self.cap = cap
        self.admission = admission

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else "unknown"
        if not self.cap.enter(address):
            await send({"type": "websocket.close", "code": 1008, "reason": "too_many_sockets"})
            return
        try:
            ticket = ticket_for(self.admission, scope, send)
            if isinstance(ticket, int):
                await shed(receive, send, ticket)
                return
            try:
                handler = self.routes.get(scope["path"])
                if handler is None:
                    ticket.settle()  # only the screens' handshakes are followed
                else:
                    scope[TICKET] = ticket
                await database_guarded(handler or self.app, scope, receive, send)
            finally:
                ticket.leave()
        finally:
            self.cap.leave(address)


#: The collector's thresholds while serving. With Python's (700, 10, 10) the objects of
#: requests in flight are promoted fast, and at 500 answers a second with 3,354 screens
#: held a full collection (210-245 ms, the loop stopped) ran every ~5 s: the answers' p99
#: was 208-268 ms. With these, young collections are rarer (33 in 60 s, ≤ 49 ms) and no
#: full one ran in the run; p99 79.5 ms (bench/forms.py, bench/README.md). Garbage in
#: cycles still goes, later.
GC_THRESHOLDS = (20_000, 50, 100)

FAVICON_ICO = PROJECT_ROOT / "app" / "static" / "favicon.ico"

# The stock Swagger UI page starts the UI with an inline script, which the
# Content-Security-Policy refuses; this one starts it from a file.
_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/swagger/swagger-ui.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="icon" href="/static/favicon-32.png" type="image/png" sizes="32x32">
<title>diemcau API</title>
</head>
<body>
<div id="swagger-ui"></div>
<script src="/static/swagger/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""


@asynccontextmanager
async def _lifespan(app: FastAPI, settings: Settings) -> AsyncIterator[dict[str, Any]]:
    """Start the engine, hub and background workers; stop them in reverse order. The
    state yielded reaches every connection's protocol: the admission, for app/uvicorn_ws.py
    to shed a storm's excess before the app."""
    engine = create_db_engine(settings.database_url, pool_size=settings.db_pool_size)
    app.state.engine = engine
    read_engine = app.state.read_engine = read_only(engine)
    write_gate = WriteGate(engine)
    app.state.write_gate = write_gate
    app.state.token_cache = TokenCache()
    app.state.published_defaults = _first_admin(engine, settings)
    # Made (or loaded) now, so no request ever waits to create the pass-signing key.
    checkin_keys.key_ring(engine, secret_key=settings.secret_key, need_signer=True)
    hub = _make_hub(settings)
    await hub.start()
    app.state.hub = hub
    revocations = app.state.revocations = SocketRevocations(
        hub=hub, find_stale=functools.partial(_stale_sessions, read_engine)
    )
    await revocations.start()
    presence = Presence(engine, interval=settings.presence_flush_seconds)
    await presence.start()
    # The screen socket reports to endpoints' presence without importing it.
    sessions_deps.provide(
        app.state, stage_cache=StageCache(hub=hub, engine=read_engine), presence=presence
    )
    presence_ticker = PresenceTicker(
        engine, publish=hub.publish, timeout=settings.presence_timeout_seconds,
        interval=settings.presence_tick_seconds,
    )
    await presence_ticker.start()
    presence.after_connect(presence_ticker.tick)
    app.state.presence_ticker = presence_ticker
    dashboards = Dashboards(
        hub=hub, engine=read_engine, interval=settings.dashboard_interval_seconds
    )
    with Session(read_engine) as db:
        live = conferences_today(db, today=datetime.now(LOCAL_TZ).date())
    # Conferences running today follow their channels from start-up; others on demand.
    await dashboards.start(conference_ids=live)
    app.state.dashboards = dashboards
    workers = await _start_workers(engine, settings, write_gate, app.state.admission)
    limiter = _throttles(app, settings, engine, write_gate)
    _tune_collector()
    try:
        yield {ADMISSION_STATE: app.state.admission}
    finally:
        for worker in reversed(workers):
            await worker.stop()
        await dashboards.stop()
        await presence_ticker.stop()
        await presence.stop()
        await revocations.stop()
        await hub.stop()
        if isinstance(limiter, RedisLimiter):
            limiter.close()
        write_gate.close()
        engine.dispose()


def _make_hub(settings: Settings) -> Hub:
    """The realtime hub of the broker URL; Redis channels carry the installation's prefix."""
    if settings.broker_url.startswith("memory"):
        return create_hub(settings.broker_url)
    return create_hub(settings.broker_url, channel_prefix=settings.broker_channel_prefix)


def _tune_collector() -> None:
    """Objects made at start-up live for the whole run: keep them out of GC passes,
    which otherwise pause fan-out for hundreds of ms with thousands of sockets; then
    serve with GC_THRESHOLDS."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def _start_workers(
    engine: Engine, settings: Settings, gate: WriteGate, admission: Admission
) -> list[MissFlusher | SpoolFlusher | RetentionJob | LagWatch]:
    """Background writers with no state the requests read: failed-scan counts, the audit
    log's summaries (through the write gate: on SQLite they take turns with the scans),
    the daily retention purge; and the event loop's lag for admission. Stopped in
    reverse order."""
    workers: list[MissFlusher | SpoolFlusher | RetentionJob | LagWatch] = [
        MissFlusher(engine, interval=settings.miss_flush_seconds),
        SpoolFlusher(engine, interval=settings.audit_flush_seconds, run=gate.run),
        RetentionJob(engine, hour=settings.purge_hour),
        LagWatch(admission, max_lag=settings.ws_admit_max_lag_ms / 1000),
    ]
    for worker in workers:
        await worker.start()
    return workers


def _throttles(app: FastAPI, settings: Settings, engine: Engine, gate: WriteGate) -> Limiter:
    """The attempt throttle of logins, self check-in and pairing codes (shared by workers)."""
    limiter = make_limiter(settings, engine, write=gate.call)
    # Request rates (the floor's asks and questions) are counted in Redis when workers
    # share it, else in this process: without Redis the server runs one process, and a
    # rate is no secret worth a database write on every ask (4,000 sites within seconds).
    rates = limiter if isinstance(limiter, RedisLimiter) else MemoryLimiter()
    app.state.throttle = Throttle(limiter, rates=rates)
    return limiter


def _first_admin(engine: Engine, settings: Settings) -> bool:
    """Create the first account if none exists; True while published defaults are in force.

    Read by ExposedDefaultsGuard. The full check (an account still on the default
    password, one argon2 run) is `diemcau serve`'s; this one costs nothing otherwise.
    """
    with Session(engine) as db:
        accounts_service.ensure_admin(
            db, username=settings.admin_username, password=settings.admin_password
        )
        return settings.uses_default_secret or (
            settings.admin_password == DEV_ADMIN_PASSWORD
            and accounts_service.default_admin_works(
                db, username=settings.admin_username, password=settings.admin_password
            )
        )


def _stale_sessions(engine: Engine, pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    with Session(engine) as db:
        return accounts_service.stale_sessions(db, pairs)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service; every entry point (CLI, tests, ASGI server) goes through here."""
    settings = settings or get_settings()

    app = DiemcauApp(
        title="diemcau",
        summary="Quản lý hội nghị trực tiếp kết hợp trực tuyến tại nhiều điểm cầu",
        version="0.1.0",
        lifespan=functools.partial(_lifespan, settings=settings),
        # The stock docs pages load Swagger UI from a CDN; ours serves it from this server.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_log_filters(socket_lines=settings.access_log)
    install_error_handlers(app)
    # Innermost: the answers skip FastAPI's router but not the headers or audit context.
    app.add_middleware(DirectPosts, routes=[
        (checkin_routes.CHECKINS_PATH, checkin_routes.check_in_direct),
        (checkin_answer_routes.ANSWERS_PATH, checkin_answer_routes.answer_direct)])
    # Added early, so DirectWebsockets stays outermost: screen sockets skip this frame too.
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AuditContext)
    app.state.ws_cap = ConnectionCap(settings.ws_connections_per_client)
    app.state.admission = admission_for(settings)
    screens = {"/ws/screen": sessions_ws.ScreenSocket()}
    app.add_middleware(DirectWebsockets, routes=screens, cap=app.state.ws_cap,
                       admission=app.state.admission)
    # Ahead of every middleware frame, with the same checks (DiemcauApp); the
    # middleware above still caps and admits the other sockets.
    app.serve_directly(screens, cap=app.state.ws_cap, admission=app.state.admission)
    # Outermost, so that every socket is covered too (/ws/screen: DiemcauApp checks it).
    app.add_middleware(ExposedDefaultsGuard)

    swagger = StaticFiles(directory=swagger_ui_bundle.swagger_ui_path)
    app.mount("/static/swagger", swagger, name="swagger")
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "app" / "static"), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(_DOCS_PAGE)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        """Browsers and bookmark tools ask for /favicon.ico whatever the page links."""
        return FileResponse(FAVICON_ICO, media_type="image/x-icon",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: 200 when the service is up."""
        return {"status": "ok"}

    # The screens' live form counts; the answers are checkin's, counted by its loader.
    sessions_deps.provide_form_loader(app.state, _form_count_parts)
    _include_routers(app)
    return app


def _form_count_parts(db: Session, form_id: int) -> tuple[dict[int, int], dict[int, int]]:
    return count_parts_by_site(db, form_id=form_id)


def _endpoint_routers() -> list[APIRouter]:
    """The site tree, screens, accounts, privacy and the audit log."""
    return [
        endpoints_routes.router,
        endpoints_invite_routes.router,
        endpoints_screen_routes.router,
        endpoints_import_routes.router,
        endpoints_presence_routes.router,
        endpoints_registry_routes.router,
        endpoints_participation_routes.router,
        endpoints_account_routes.router,
        endpoints_login_pages.router,
        endpoints_conference_pages.router,
        endpoints_site_pages.router,
        endpoints_invite_pages.router,
        endpoints_registration_pages.router,
        endpoints_import_pages.router,
        endpoints_participation_pages.router,
        endpoints_screen_pages.router,
        endpoints_readiness_pages.router,
        endpoints_units_pages.router,
        endpoints_account_pages.router,
        endpoints_privacy_routes.router,
        endpoints_privacy_pages.router,
        audit_routes.router,
        audit_pages.router,
    ]


def _session_routers() -> list[APIRouter]:
    """The programme, the stage, the floor and training forms."""
    return [
        sessions_ws.router,
        sessions_follow_ws.router,
        sessions_screen_pages.router,
        sessions_routes.router,
        sessions_floor_routes.router,
        sessions_minutes_routes.router,
        sessions_minutes_pages.router,
        sessions_floor_site_pages.router,
        sessions_floor_pages.router,
        sessions_floor_ws.router,
        sessions_routes.files,
        sessions_pages.router,
        sessions_status_pages.router,
        sessions_form_stage_routes.router,
        sessions_form_routes.router,
        sessions_form_pages.router,
    ]


def _checkin_routers() -> list[APIRouter]:
    """Check-in, rosters, dashboards, reports and answers."""
    return [
        checkin_routes.router,
        checkin_roster_routes.router,
        checkin_roster_pages.router,
        checkin_pages.router,
        checkin_offline_roster_routes.router,
        checkin_offline_pages.router,
        checkin_report_routes.router,
        checkin_retention_routes.router,
        checkin_site_qr_routes.router,
        checkin_headcount_routes.router,
        checkin_offline_routes.router,
        checkin_participation_routes.router,
        checkin_dashboard_pages.router,
        checkin_dashboard_routes.router,
        checkin_dashboard_ws.router,
        checkin_rights_routes.router,
        checkin_own_pages.router,
        checkin_request_pages.router,
        checkin_follow_question_routes.router,
        checkin_effectiveness_routes.router,
        checkin_effectiveness_pages.router,
        checkin_form_routes.router,
        checkin_answer_pages.router,
        checkin_tally_routes.router,
        checkin_tally_pages.router,
    ]


def _include_routers(app: FastAPI) -> None:
    # First: check-in bursts are the hottest path, and routers are matched in order.
    app.include_router(checkin_routes.scan_router)
    app.include_router(checkin_answer_routes.router)  # 500 answers a second at a test's end
    for router in (*_endpoint_routers(), *_session_routers(), *_checkin_routers()):
        app.include_router(router)
