"""Websockets of the stage: who may listen, then subscribe and forward.

Close codes (sent after accepting, so the page can tell the user why):
4400 bad request (malformed message, bad or future `since`), 4401 bad or revoked
token, 4403 foreign Origin (refused before accepting), 4408 too slow to keep up,
4429 too many messages. Commands never come this way: they are HTTP requests.
"""

import json
import time
from collections.abc import Callable
from functools import partial

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, QueryParams
from starlette.routing import WebSocketRoute
from starlette.types import Receive, Scope, Send

from app.config import Settings
from app.realtime import Hub
from app.security import origin_allowed
from app.wsfast import DirectSocket
from endpoints import models as endpoints_models
from endpoints import service as endpoints_service
from endpoints.presence import Presence
from sessions import events
from sessions.stream import Forwarder, StageCache

# Plain Starlette routes, not FastAPI's: the dependency machinery (exit stacks,
# wrappers) would stay alive in every one of thousands of open sockets.
router = APIRouter()

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_SLOW = 4408
CLOSE_RATE = 4429
MAX_MESSAGES_PER_MINUTE = 30  # heartbeats come every 15 s; anything faster is misuse
MAX_MESSAGE_CHARS = 1024


def origin_ok(websocket: WebSocket, settings: Settings) -> bool:
    """The handshake's Origin is this server or one of DIEMCAU_ALLOWED_ORIGINS."""
    # Read from the scope: websocket.headers / .url would be cached on the socket for its life.
    headers = Headers(scope=websocket.scope)
    return origin_allowed(
        headers.get("origin"),
        host=headers.get("host"),
        scheme=websocket.scope.get("scheme", "ws"),
        allowed=settings.allowed_origins,
    )


def parse_since(raw: str | None) -> int | str | None:
    """The `since` query value: None when absent, an int, or the string "bad"."""
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        return "bad"
    return int(raw)


class _Follower:
    """One socket's callbacks for the hub (methods, not per-socket closures)."""

    __slots__ = ("cache", "conference_id", "direct", "websocket")

    def __init__(
        self,
        websocket: WebSocket,
        direct: DirectSocket | None,
        cache: StageCache,
        conference_id: int,
    ) -> None:
        self.websocket = websocket
        self.direct = direct
        self.cache = cache
        self.conference_id = conference_id

    async def drop(self, reason: str) -> None:
        """The hub gave up on this socket (too slow, send failed): close it 4408."""
        close = partial(self.websocket.close, code=CLOSE_TOO_SLOW, reason=reason[:100])
        if self.direct is not None:
            await self.direct.close(close)  # aborts a client that does not read
            return
        try:
            await close()
        except Exception:  # already closed
            return

    async def resync(self) -> None:
        """Messages may have been lost (broker reconnect): send a fresh snapshot."""
        _, snapshot = await self.cache.snapshot(self.conference_id)
        await self.websocket.send_text(snapshot)


async def follow_stage(
    websocket: WebSocket,
    *,
    conference_id: int,
    since: int | None,
    on_heartbeat: Callable[[], None] | None = None,
) -> None:
    """Send the stage snapshot, then every change, until the client leaves.

    One coroutine for the whole life of the socket, reading loop included: every
    suspended coroutine frame is held by each of thousands of open sockets.
    """
    app = websocket.app
    hub: Hub = app.state.hub
    cache: StageCache = app.state.stage_cache
    direct = DirectSocket.find(websocket)  # None under TestClient: ASGI sends then
    if direct is not None:
        direct.release_handshake()
    follower = _Follower(websocket, direct, cache, conference_id)
    forwarder = Forwarder(websocket.send_text, direct)

    # Attach before reading the snapshot: a change made in between is held, not lost.
    attachment = await hub.attach(
        events.stage_channel(conference_id),
        forwarder,
        on_drop=follower.drop,
        on_resync=follower.resync,
    )
    try:
        version, snapshot = await cache.snapshot(conference_id)
        if since is not None and since > version:
            await websocket.close(code=CLOSE_BAD_REQUEST, reason="since_in_future")
            return
        if since is not None and since == version:
            await websocket.send_text(json.dumps({"type": "resumed", "version": version}))
        else:
            await websocket.send_text(snapshot)
        del snapshot  # the cache keeps the newest; this frame would pin an old one
        await forwarder.open_after(version)

        # Reading is what notices a vanished client (starlette #759): always keep reading.
        window_start = time.monotonic()
        count = 0
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
            try:
                kind = json.loads(text).get("type")
            except (ValueError, AttributeError):
                kind = None
            if kind != "heartbeat":
                await websocket.close(code=CLOSE_BAD_REQUEST, reason="bad_message")
                return
            if on_heartbeat is not None:
                on_heartbeat()
    except WebSocketDisconnect:
        pass
    finally:
        attachment.detach()


class ScreenSocket:
    """/ws/screen: snapshot with version, then versioned changes; resume with since=.

    A bare ASGI app rather than a function endpoint: Starlette would wrap a function
    in websocket_session and a second exception wrapper, frames every open socket
    keeps alive (the app-level exception wrapper still applies).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive=receive, send=send)
        settings: Settings = websocket.app.state.settings
        if not origin_ok(websocket, settings):
            await websocket.close(code=CLOSE_FORBIDDEN)
            return
        query = QueryParams(scope.get("query_string", b""))
        token = query.get("token", "")
        since = parse_since(query.get("since"))
        context = await run_in_threadpool(_screen_for, websocket.app.state.read_engine, token)
        await websocket.accept()
        if context is None:
            await websocket.close(code=CLOSE_UNAUTHORIZED, reason="invalid_token")
            return
        if since == "bad":
            await websocket.close(code=CLOSE_BAD_REQUEST, reason="bad_since")
            return
        presence: Presence = websocket.app.state.presence
        screen_id, conference_id = context.screen_id, context.conference_id
        presence.connected(screen_id, websocket)
        try:
            await follow_stage(
                websocket,
                conference_id=conference_id,
                since=since if isinstance(since, int) else None,
                on_heartbeat=partial(presence.seen, screen_id),
            )
        finally:
            presence.disconnected(screen_id, websocket)


router.routes.append(WebSocketRoute("/ws/screen", ScreenSocket(), name="screen_socket"))


def _screen_for(engine: Engine, token: str) -> endpoints_models.ScreenContext | None:
    with Session(engine) as db:
        return endpoints_service.screen_for_token(db, token=token)
