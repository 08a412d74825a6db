"""/ws/dashboard: who may watch; then the scope's snapshot and its coalesced updates.

Query: ``conference_id`` (required), ``session_id``, ``under_id`` (a subtree within the
user's scope), ``since`` (resume), ``token`` (login token; else the login cookie).
Close codes, like /ws/screen: 4400 bad request, 4401 no or bad token, 4403 foreign
Origin (refused before accepting) or a subtree outside the user's scope, 4404 unknown
conference, session or site, 4408 too slow to keep up, 4429 too many messages.
"""

import asyncio
import contextlib
import json
import time
from functools import partial

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketState

from app.accounts import service as accounts_service
from app.config import Settings
from app.errors import AppError
from app.security import SESSION_COOKIE
from checkin.board import Scope
from checkin.coalescer import Sink
from checkin.dashboard import resolve_scope
from checkin.dashboards import Dashboards
from sessions.ws import (
    CLOSE_BAD_REQUEST,
    CLOSE_FORBIDDEN,
    CLOSE_RATE,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHORIZED,
    origin_ok,
    parse_since,
)

router = APIRouter()

CLOSE_NOT_FOUND = 4404
MAX_MESSAGES_PER_MINUTE = 60
MAX_MESSAGE_CHARS = 1024


def _int(raw: str | None) -> int | str | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 12:
        return "bad"
    return int(raw)


def _authorize(
    engine: Engine, settings: Settings, token: str, conference_id: int,
    session_id: int | None, under_id: int | None,
) -> Scope | int:
    """The scope to watch, or a close code."""
    with Session(engine) as db:
        user = accounts_service.user_for_token(
            db, token=token[:2000], secret=settings.secret_key,
            max_age_seconds=settings.access_token_minutes * 60,
        ) if token else None
        if user is None:
            return CLOSE_UNAUTHORIZED
        try:
            return resolve_scope(db, conference_id=conference_id, actor=user,
                                 session_id=session_id, under_id=under_id)
        except AppError as exc:
            if exc.status_code == 403:
                return CLOSE_FORBIDDEN
            if exc.status_code == 404:
                return CLOSE_NOT_FOUND
            return CLOSE_BAD_REQUEST


async def _write(websocket: WebSocket, sink: Sink) -> None:
    while True:
        message = await sink.queue.get()
        await websocket.send_text(message)


async def _read(websocket: WebSocket) -> None:
    """Read until the client leaves; dashboards only send pings."""
    window_start, count = time.monotonic(), 0
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        now = time.monotonic()
        if now - window_start > 60:
            window_start, count = now, 0
        count += 1
        if count > MAX_MESSAGES_PER_MINUTE:
            await websocket.close(code=CLOSE_RATE, reason="too_many_messages")
            return
        text = message.get("text")
        if text is None or len(text) > MAX_MESSAGE_CHARS:
            await websocket.close(code=CLOSE_BAD_REQUEST, reason="bad_message")
            return


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code=code, reason=reason)


@router.websocket("/ws/dashboard")
async def dashboard_socket(websocket: WebSocket) -> None:
    """Snapshot of the scope, then at most a few coalesced updates per second."""
    app = websocket.app
    settings: Settings = app.state.settings
    if not origin_ok(websocket, settings):
        await websocket.close(code=CLOSE_FORBIDDEN)
        return
    query = websocket.query_params
    token = query.get("token") or websocket.cookies.get(SESSION_COOKIE) or ""
    conference_id = _int(query.get("conference_id"))
    session_id = _int(query.get("session_id"))
    under_id = _int(query.get("under_id"))
    since = parse_since(query.get("since"))
    await websocket.accept()
    if not isinstance(conference_id, int) or "bad" in (session_id, under_id, since):
        await websocket.close(code=CLOSE_BAD_REQUEST, reason="bad_request")
        return
    scope = await run_in_threadpool(
        _authorize, app.state.read_engine, settings, token, conference_id,
        session_id if isinstance(session_id, int) else None,
        under_id if isinstance(under_id, int) else None,
    )
    if isinstance(scope, int):
        reasons = {CLOSE_UNAUTHORIZED: "invalid_token", CLOSE_FORBIDDEN: "site_out_of_scope",
                   CLOSE_NOT_FOUND: "not_found"}
        await websocket.close(code=scope, reason=reasons.get(scope, "bad_request"))
        return
    dashboards: Dashboards = app.state.dashboards
    coalescer = await dashboards.get(scope.conference_id, scope.session_key)
    loop = asyncio.get_running_loop()
    closing: set[asyncio.Task[None]] = set()

    def drop() -> None:
        task = loop.create_task(_close(websocket, CLOSE_TOO_SLOW, "too_slow"))
        closing.add(task)  # keep a reference until it ran

    sink = Sink(drop)
    version, snapshot = await coalescer.join(scope, sink)
    writer: asyncio.Task[None] | None = None
    try:
        if since == version:
            await websocket.send_text(json.dumps({"type": "resumed", "version": version}))
        else:
            # Any other since (older, or from before a restart) gets a fresh snapshot.
            await websocket.send_text(snapshot)
        del snapshot
        writer = asyncio.create_task(_write(websocket, sink))
        writer.add_done_callback(partial(_writer_done, websocket))
        await _read(websocket)
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
        asyncio.get_running_loop().create_task(_close(websocket, 1011, "send_failed"))
