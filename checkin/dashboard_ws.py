"""/ws/dashboard: who may watch; then the scope's snapshot and its coalesced updates.

Query: ``conference_id`` (required), ``session_id``, ``under_id`` (a subtree within the
user's scope), ``since`` (resume), ``token`` (login token; else the login cookie).
Close codes, like /ws/screen: 4400 bad request, 4401 no or bad token, 4403 foreign
Origin (refused before accepting) or a subtree outside the user's scope, 4404 unknown
conference, session or site, 4408 too slow to keep up, 4429 too many messages.
"""

import asyncio
import contextlib
from functools import partial

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app import ws
from app.accounts import service as accounts_service
from app.config import Settings
from app.deps import (
    connection_read_engine,
    connection_revocations,
    connection_settings,
    login_cookie,
)
from app.errors import AppError
from app.unknown_tokens import UnknownTokens
from checkin.board import Scope
from checkin.coalescer import Sink
from checkin.dashboard import resolve_scope
from checkin.dashboards import Dashboards
from checkin.deps import dashboards_of

router = APIRouter()

MAX_MESSAGES_PER_MINUTE = 60
_REASONS = {
    ws.CLOSE_UNAUTHORIZED: "invalid_token",  # "account_revoked" when closed later
    ws.CLOSE_FORBIDDEN: "site_out_of_scope",
    ws.CLOSE_NOT_FOUND: "not_found",
}


def _authorize(
    engine: Engine, settings: Settings, token: str, conference_id: int, unknown: UnknownTokens,
    session_id: int | None, under_id: int | None,
) -> Scope | int:
    """The scope to watch, or a close code."""
    with Session(engine) as db:
        user = accounts_service.user_for_token(
            db, token=token, secret=settings.secret_key,
            max_age_seconds=settings.access_token_minutes * 60,
        ) if token else None
        if user is None:
            unknown.add(token)
            return ws.CLOSE_UNAUTHORIZED
        try:
            return resolve_scope(db, conference_id=conference_id, actor=user,
                                 session_id=session_id, under_id=under_id)
        except AppError as exc:
            return ws.close_code(exc)


async def _write(websocket: WebSocket, sink: Sink) -> None:
    while True:
        message = await sink.queue.get()
        await websocket.send_text(message)


@router.websocket("/ws/dashboard")
async def dashboard_socket(websocket: WebSocket) -> None:
    """Snapshot of the scope, then at most a few coalesced updates per second."""
    settings = connection_settings(websocket)
    if await ws.refuse_foreign_origin(websocket, settings.allowed_origins):
        return
    query = ws.query_of(websocket)
    token = ws.query_token(query, fallback=login_cookie(websocket))
    conference_id = ws.query_int(query, "conference_id", max_digits=12)
    session_id = ws.query_int(query, "session_id", max_digits=12)
    under_id = ws.query_int(query, "under_id", max_digits=12)
    since = ws.query_int(query, "since")
    await websocket.accept()
    if not isinstance(conference_id, int) or ws.BAD in (session_id, under_id, since):
        await websocket.close(code=ws.CLOSE_BAD_REQUEST, reason="bad_request")
        return
    unknown = ws.unknown_logins(websocket)
    claims = ws.login_claims(settings, token, unknown)
    if claims is None:
        await websocket.close(code=ws.CLOSE_UNAUTHORIZED, reason="invalid_token")
        return
    # Registered before the account is checked: a disable committed after the check
    # still reaches this socket, one committed before fails the check.
    revocations = connection_revocations(websocket)
    handle = revocations.register(
        user_id=claims.user_id, version=claims.version,
        close=partial(ws.close_quietly, websocket, ws.CLOSE_UNAUTHORIZED, "account_revoked"),
    )
    try:
        scope = await run_in_threadpool(
            _authorize, connection_read_engine(websocket), settings, token, conference_id,
            unknown, session_id if isinstance(session_id, int) else None,
            under_id if isinstance(under_id, int) else None,
        )
        if isinstance(scope, int):
            await websocket.close(code=scope, reason=_REASONS.get(scope, "bad_request"))
            return
        await _watch(websocket, scope, since if isinstance(since, int) else None)
    finally:
        if handle is not None:
            revocations.unregister(handle)


async def _watch(websocket: WebSocket, scope: Scope, since: int | None) -> None:
    """Join the scope's coalescer and forward its messages until the client leaves."""
    dashboards: Dashboards = dashboards_of(websocket)
    coalescer = await dashboards.get(scope.conference_id, scope.session_key)
    loop = asyncio.get_running_loop()
    closing: set[asyncio.Task[None]] = set()

    def drop() -> None:
        task = loop.create_task(ws.close_quietly(websocket, ws.CLOSE_TOO_SLOW, "too_slow"))
        closing.add(task)  # keep a reference until it ran

    sink = Sink(drop)
    version, snapshot = await coalescer.join(scope, sink)
    writer: asyncio.Task[None] | None = None
    try:
        if since == version:
            await websocket.send_text(ws.resumed_message(version))
        else:
            # Any other since (older, or from before a restart) gets a fresh snapshot.
            await websocket.send_text(snapshot)
        del snapshot
        writer = asyncio.create_task(_write(websocket, sink))
        writer.add_done_callback(partial(_writer_done, websocket))
        await ws.receive_loop(websocket, per_minute=MAX_MESSAGES_PER_MINUTE)
    except WebSocketDisconnect:
        pass
    finally:
        coalescer.leave(scope, sink)
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer


def _writer_done(websocket: WebSocket, task: "asyncio.Task[None]") -> None:
    # A failed send means the client is gone; the reading side notices and ends.
    if not task.cancelled() and task.exception() is not None:
        asyncio.get_running_loop().create_task(ws.close_quietly(websocket, 1011, "send_failed"))
