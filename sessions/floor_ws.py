"""/ws/floor: the chair's live view of a session's floor (central office only).

Query: ``session_id`` (required), ``hub_id`` and ``kind`` (the chair's filters),
``since`` (resume), ``token`` (login token; else the login cookie).
Messages: see :mod:`sessions.floor_feed` (a snapshot, then coalesced states, each with
the session's `floor_version`); ``{"type": "resumed", "version"}`` when `since` is the
current version. Close codes, like /ws/dashboard: 4400 bad request, 4401 no, bad or
revoked token, 4403 foreign Origin (refused before accepting) or not the central office
(`admin_only`), 4404 unknown session, 4408 too slow to keep up, 4429 too many messages.
"""

import asyncio
import contextlib
from functools import partial

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from app import ws
from app.accounts import service as accounts_service
from app.accounts.models import User
from app.config import Settings
from app.deps import (
    connection_hub,
    connection_read_engine,
    connection_revocations,
    connection_settings,
    login_cookie,
)
from app.errors import AppError
from app.unknown_tokens import UnknownTokens
from endpoints.models import SiteKind
from sessions.floor_feed import FeedKey, FloorFeed, FloorFeeds, FloorSink
from sessions.loading import load_session

router = APIRouter()

MAX_MESSAGES_PER_MINUTE = 60
_KINDS = frozenset(k.value for k in SiteKind)
_REASONS = {
    ws.CLOSE_UNAUTHORIZED: "invalid_token",  # "account_revoked" when closed later
    ws.CLOSE_FORBIDDEN: "admin_only",
    ws.CLOSE_NOT_FOUND: "not_found",
}


def floor_feeds(connection: HTTPConnection) -> FloorFeeds:
    """This app's chair feeds (made on first use on the event loop, per app)."""
    state = connection.app.state
    feeds: FloorFeeds | None = getattr(state, "floor_feeds", None)
    if feeds is None:
        feeds = state.floor_feeds = FloorFeeds(hub=connection_hub(connection),
                                               engine=connection_read_engine(connection))
    return feeds


def _authorize(
    engine: Engine, settings: Settings, token: str, session_id: int, unknown: UnknownTokens
) -> tuple[User, int] | int:
    """The chair and the session's conference, or a close code."""
    with Session(engine) as db:
        user = accounts_service.user_for_token(
            db, token=token, secret=settings.secret_key,
            max_age_seconds=settings.access_token_minutes * 60,
        )
        if user is None:
            unknown.add(token)
            return ws.CLOSE_UNAUTHORIZED
        try:
            accounts_service.require_admin(user)
            session = load_session(db, session_id)
        except AppError as exc:
            return ws.close_code(exc)
        db.expunge(user)
        return user, session.conference_id


def _filters(websocket: WebSocket) -> tuple[FeedKey, ws.QueryInt] | None:
    """The feed key and `since` from the query; None when malformed."""
    query = ws.query_of(websocket)
    session_id = ws.query_int(query, "session_id", max_digits=12)
    hub_id = ws.query_int(query, "hub_id", max_digits=12)
    since = ws.query_int(query, "since")
    kind = query.get("kind") or None
    if not isinstance(session_id, int) or ws.BAD in (hub_id, since):
        return None
    if kind is not None and kind not in _KINDS:
        return None
    return FeedKey(session_id, hub_id if isinstance(hub_id, int) else None, kind), since


@router.websocket("/ws/floor")
async def floor_socket(websocket: WebSocket) -> None:
    """The queue's snapshot, then at most four coalesced states a second."""
    settings = connection_settings(websocket)
    if await ws.refuse_foreign_origin(websocket, settings.allowed_origins):
        return
    token = ws.query_token(ws.query_of(websocket), fallback=login_cookie(websocket))
    parsed = _filters(websocket)
    await websocket.accept()
    if parsed is None:
        await websocket.close(code=ws.CLOSE_BAD_REQUEST, reason="bad_request")
        return
    key, since = parsed
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
        found = await run_in_threadpool(
            _authorize, connection_read_engine(websocket), settings, token, key.session_id,
            unknown,
        )
        if isinstance(found, int):
            await websocket.close(code=found, reason=_REASONS.get(found, "bad_request"))
            return
        user, conference_id = found
        await _watch(websocket, key, conference_id, user,
                     since if isinstance(since, int) else None)
    finally:
        revocations.unregister(handle)


async def _write(websocket: WebSocket, sink: FloorSink, sent: int) -> None:
    """Forward the outbox, skipping anything not newer than what the chair has."""
    while True:
        version, message = await sink.queue.get()
        if version > sent:
            await websocket.send_text(message)
            sent = version


async def _watch(
    websocket: WebSocket, key: FeedKey, conference_id: int, user: User, since: int | None
) -> None:
    """Join the feed, send the snapshot (or `resumed`), forward until the chair leaves."""
    feeds = floor_feeds(websocket)
    loop = asyncio.get_running_loop()
    closing: set[asyncio.Task[None]] = set()

    def drop() -> None:
        task = loop.create_task(ws.close_quietly(websocket, ws.CLOSE_TOO_SLOW, "too_slow"))
        closing.add(task)  # keep a reference until it ran

    sink = FloorSink(drop)
    feed: FloorFeed | None = None
    writer: asyncio.Task[None] | None = None
    try:
        feed = await feeds.join(key, conference_id=conference_id, actor=user, sink=sink)
        version, snapshot = feed.snapshot()
        # Any other since (older, or unknown) gets the full snapshot.
        await websocket.send_text(ws.resumed_message(version) if since == version else snapshot)
        del snapshot
        writer = asyncio.create_task(_write(websocket, sink, version))
        writer.add_done_callback(partial(_writer_done, websocket))
        await ws.receive_loop(websocket, per_minute=MAX_MESSAGES_PER_MINUTE)
    except WebSocketDisconnect:
        pass
    finally:
        if feed is not None:
            feeds.leave(feed, sink)
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer


def _writer_done(websocket: WebSocket, task: "asyncio.Task[None]") -> None:
    # A failed send means the client is gone; the reading side notices and ends.
    if not task.cancelled() and task.exception() is not None:
        asyncio.get_running_loop().create_task(ws.close_quietly(websocket, 1011, "send_failed"))
