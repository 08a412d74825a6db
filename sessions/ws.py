"""Websockets of the stage: who may listen, then subscribe and forward.

Close codes (sent after accepting, so the page can tell the user why):
4400 bad request (malformed message, bad or future `since`), 4401 bad or revoked
token, 4403 foreign Origin (refused before accepting), 4408 too slow to keep up,
4429 too many messages. Commands never come this way: they are HTTP requests.
"""

import contextlib
import json
import time
from collections.abc import Callable

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.realtime import Hub
from app.security import origin_allowed
from endpoints import screens as endpoints_screens
from endpoints.presence import Presence
from sessions import events
from sessions.stream import Forwarder, StageCache

router = APIRouter()

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_SLOW = 4408
CLOSE_RATE = 4429
MAX_MESSAGES_PER_MINUTE = 30  # heartbeats come every 15 s; anything faster is misuse


def origin_ok(websocket: WebSocket, settings: Settings) -> bool:
    """The handshake's Origin is this server or one of DIEMCAU_ALLOWED_ORIGINS."""
    return origin_allowed(
        websocket.headers.get("origin"),
        host=websocket.headers.get("host"),
        scheme=websocket.url.scheme,
        allowed=settings.allowed_origins,
    )


def parse_since(raw: str | None) -> int | None | str:
    """The `since` query value: None when absent, an int, or the string "bad"."""
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        return "bad"
    return int(raw)


async def follow_stage(
    websocket: WebSocket,
    *,
    conference_id: int,
    since: int | None,
    on_heartbeat: Callable[[], None] | None = None,
) -> None:
    """Send the stage snapshot, then every change, until the client leaves."""
    app = websocket.app
    hub: Hub = app.state.hub
    cache: StageCache = app.state.stage_cache
    forwarder = Forwarder(websocket.send_text)

    async def drop(reason: str) -> None:
        with contextlib.suppress(Exception):
            await websocket.close(code=CLOSE_TOO_SLOW, reason=reason[:100])

    async def resync() -> None:
        _, snapshot = await cache.snapshot(conference_id)
        await websocket.send_text(snapshot)

    # Attach before reading the snapshot: a change made in between is held, not lost.
    attachment = await hub.attach(
        events.stage_channel(conference_id), forwarder, on_drop=drop, on_resync=resync
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
        await forwarder.open_after(version)
        await _receive_loop(websocket, on_heartbeat)
    except WebSocketDisconnect:
        pass
    finally:
        attachment.detach()



async def _receive_loop(
    websocket: WebSocket, on_heartbeat: Callable[[], None] | None
) -> None:
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
        if text is None or len(text) > 1024:
            await websocket.close(code=CLOSE_BAD_REQUEST, reason="bad_message")
            return
        try:
            kind = json.loads(text).get("type")
        except (ValueError, AttributeError):
            kind = None
        if kind == "heartbeat":
            if on_heartbeat is not None:
                on_heartbeat()
            continue
        await websocket.close(code=CLOSE_BAD_REQUEST, reason="bad_message")
        return


@router.websocket("/ws/screen")
async def screen_socket(websocket: WebSocket) -> None:
    """A site screen: snapshot with version, then versioned changes; resume with since=."""
    settings: Settings = websocket.app.state.settings
    if not origin_ok(websocket, settings):
        await websocket.close(code=CLOSE_FORBIDDEN)
        return
    token = websocket.query_params.get("token", "")
    since = parse_since(websocket.query_params.get("since"))
    context = await run_in_threadpool(_screen_for, websocket, token)
    await websocket.accept()
    if context is None:
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason="invalid_token")
        return
    if since == "bad":
        await websocket.close(code=CLOSE_BAD_REQUEST, reason="bad_since")
        return
    presence: Presence = websocket.app.state.presence
    screen_id = context.screen_id
    presence.connected(screen_id, websocket)
    try:
        await follow_stage(
            websocket,
            conference_id=context.conference_id,
            since=since if isinstance(since, int) else None,
            on_heartbeat=lambda: presence.seen(screen_id),
        )
    finally:
        presence.disconnected(screen_id, websocket)


def _screen_for(websocket: WebSocket, token: str) -> endpoints_screens.ScreenContext | None:
    with Session(websocket.app.state.read_engine) as db:
        return endpoints_screens.screen_for_token(db, token=token)
