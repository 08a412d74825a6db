"""Websockets of the stage: who may listen, then subscribe and forward.

Close codes are app.ws's: 4400 malformed message, bad or future `since`; 4401 bad
or revoked token; 4403 foreign Origin (refused before accepting); 4408 too slow;
4429 too many messages. Commands never come this way: they are HTTP requests.

A screen belongs to its site and follows whatever conference is live there today.
Between conferences it gets a "waiting" message (site, next conference, time) and
the socket stays open: every few seconds (sessions.waiting.RECHECK_SECONDS) the
server looks again, and once a conference is live it sends that conference's
snapshot and follows it on the same socket, as if the screen had just connected.
A screen resuming with `since=` names the conference of that version with
`conference=`; a version of another conference is ignored (a snapshot is sent).
"""

import asyncio
import contextlib
from collections.abc import Callable
from functools import partial

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.routing import WebSocketRoute
from starlette.types import Receive, Scope, Send

from app import ws
from app.admission import settle
from app.deps import connection_hub, connection_read_engine, connection_settings
from app.realtime import Attachment
from app.unknown_tokens import UnknownTokens
from app.wsfast import DirectSocket
from endpoints import models as endpoints_models
from endpoints import service as endpoints_service
from sessions import events, waiting
from sessions.deps import (
    ScreenPresence,
    form_counts,
    recheck_seconds,
    screen_presence,
    stage_cache,
)
from sessions.stream import Forwarder

# Plain Starlette routes, not FastAPI's: the dependency machinery (exit stacks,
# wrappers) would stay alive in every one of thousands of open sockets.
router = APIRouter()

MAX_MESSAGES_PER_MINUTE = 30  # heartbeats come every 15 s; anything faster is misuse


class StageFollower:
    """One socket's callbacks for the hub (methods, not per-socket closures)."""

    __slots__ = ("cache", "conference_id", "direct", "websocket")

    def __init__(self, websocket: WebSocket, conference_id: int) -> None:
        self.websocket = websocket
        self.direct = DirectSocket.find(websocket)  # None under TestClient: ASGI sends then
        if self.direct is not None:
            self.direct.release_handshake()
        self.cache = stage_cache(websocket)
        self.conference_id = conference_id

    async def drop(self, reason: str) -> None:
        """The hub gave up on this socket (too slow, send failed): close it 4408."""
        close = partial(self.websocket.close, code=ws.CLOSE_TOO_SLOW, reason=reason[:100])
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


class _Screen(StageFollower):
    """A site screen's follower, which also reports its heartbeats and gets its site's
    live form count (sessions.form_feed) on a path of its own, after its snapshot."""

    __slots__ = ("presence", "screen_id", "sending", "site_id")

    def __init__(
        self, websocket: WebSocket, conference_id: int, presence: ScreenPresence, screen_id: int,
        site_id: int,
    ) -> None:
        super().__init__(websocket, conference_id)
        self.presence = presence
        self.screen_id = screen_id
        self.site_id = site_id
        self.sending: set[asyncio.Task[None]] | None = None  # ASGI sends under way (tests)

    def count(self, message: str) -> None:
        """A form_count message: one frame made once for the site's screens (uvicorn), or
        an ASGI send (TestClient); raises SlowClient for a screen that does not read."""
        if self.direct is not None:
            self.direct.send(message)
            return
        if self.sending is None:
            self.sending = set()
        task = asyncio.ensure_future(self.websocket.send_text(message))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    def heartbeat(self, text: str) -> bool:
        """Take a client message: a heartbeat is noted, anything else refused."""
        return _heartbeat(self.presence, self.screen_id, text)


def _heartbeat(presence: ScreenPresence, screen_id: int, text: str) -> bool:
    if not events.is_heartbeat(text):
        return False
    presence.seen(screen_id)
    return True


async def open_stage(follower: StageFollower, since: int | None) -> Attachment | None:
    """Attach to the stage, send the snapshot (or `resumed`); None when the socket was closed.

    The caller reads the socket afterwards in its own frame and detaches at the end:
    every suspended coroutine frame is held by each of thousands of open sockets.
    """
    websocket = follower.websocket
    forwarder = Forwarder(websocket.send_text, follower.direct)
    # Attach before reading the snapshot: a change made in between is held, not lost.
    attachment = await connection_hub(websocket).attach(
        events.stage_channel(follower.conference_id),
        forwarder,
        on_drop=follower.drop,
        on_resync=follower.resync,
    )
    try:
        version, snapshot = await follower.cache.snapshot(follower.conference_id)
        if since is not None and since > version:
            attachment.detach()
            await websocket.close(code=ws.CLOSE_BAD_REQUEST, reason="since_in_future")
            return None
        if since is not None and since == version:
            await websocket.send_text(ws.resumed_message(version))
        else:
            await websocket.send_text(snapshot)
        del snapshot  # the cache keeps the newest; this frame would pin an old one
        await forwarder.open_after(version)
    except BaseException:
        attachment.detach()
        raise
    return attachment


class ScreenSocket:
    """/ws/screen: snapshot with version, then versioned changes; resume with since=.

    A bare ASGI app rather than a function endpoint: Starlette would wrap a function
    in websocket_session and a second exception wrapper, frames every open socket
    keeps alive (the app-level exception wrapper still applies).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive=receive, send=send)
        allowed = connection_settings(websocket).allowed_origins
        if await ws.refuse_foreign_origin(websocket, allowed):
            return
        query = ws.query_of(websocket)
        since = ws.query_int(query, "since")
        context = await _screen_context(websocket, ws.query_token(query))
        await websocket.accept()
        if context is None:
            await websocket.close(code=ws.CLOSE_UNAUTHORIZED, reason="invalid_token")
            return
        if since == ws.BAD:
            await websocket.close(code=ws.CLOSE_BAD_REQUEST, reason="bad_since")
            return
        resume = _since_for(since, ws.query_int(query, "conference"), context.conference_id)
        presence = screen_presence(websocket)
        screen_id, conference_id = context.screen_id, context.conference_id
        del allowed, query, since
        presence.connected(screen_id, websocket)
        try:
            if conference_id is None:
                settle(scope)  # a waiting screen's handshake is over too
                conference_id = await wait_until_live(
                    websocket, context, partial(_heartbeat, presence, screen_id)
                )
                if conference_id is None:
                    return
            # Read in this frame, not a helper's: each open socket keeps its frames alive.
            screen = _Screen(websocket, conference_id, presence, screen_id, context.site_id)
            del context
            attachment = await open_stage(screen, resume)
            settle(scope)  # the snapshot is out: a place for the next handshake
            if attachment is not None:
                counts = form_counts(websocket)
                # After the snapshot: a count never comes before the stage it belongs to.
                feed = None if counts is None else await counts.join(
                    conference_id, screen.site_id, screen)
                try:
                    await ws.receive_loop(
                        websocket, per_minute=MAX_MESSAGES_PER_MINUTE, accept=screen.heartbeat
                    )
                finally:
                    attachment.detach()
                    if feed is not None and counts is not None:
                        counts.leave(feed, screen.site_id, screen)
        except WebSocketDisconnect:
            pass
        finally:
            presence.disconnected(screen_id, websocket)


def _since_for(since: ws.QueryInt, conference: ws.QueryInt, live: int | None) -> int | None:
    """The version to resume from: none when it belongs to another conference (or none
    is live: a screen coming out of waiting always gets a snapshot). A bad `since` was
    refused before; a bad `conference` makes the version unusable too."""
    if not isinstance(since, int) or live is None:
        return None
    if conference is not None and conference != live:
        return None
    return since


async def wait_until_live(
    websocket: WebSocket,
    context: endpoints_models.ScreenContext,
    heartbeat: Callable[[str], bool],
) -> int | None:
    """Show the waiting screen until a conference is live at the screen's site; its id,
    or None when the socket ended meanwhile. Heartbeats are read (and rate-limited) as
    on a following socket; the waiting message is sent again only when it changes."""
    engine = connection_read_engine(websocket)
    interval = recheck_seconds(websocket)
    reader = asyncio.ensure_future(
        ws.receive_loop(websocket, per_minute=MAX_MESSAGES_PER_MINUTE, accept=heartbeat)
    )
    shown: tuple[str, events.NextConference | None] | None = None
    try:
        while True:
            live, view = await run_in_threadpool(_waiting, engine, context)
            if live is not None:
                return live
            assert view is not None
            if (view.site_name, view.next) != shown:
                await websocket.send_text(events.encode_waiting(view))
                shown = (view.site_name, view.next)
            done, _ = await asyncio.wait({reader}, timeout=interval)
            if done:
                reader.result()  # a disconnect raised while reading goes to the caller
                return None
    finally:
        if not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


router.routes.append(WebSocketRoute("/ws/screen", ScreenSocket(), name="screen_socket"))


def unknown_screens(connection: HTTPConnection) -> UnknownTokens:
    """This app's memory of screen tokens that matched nothing (per app, made on first use
    on the event loop, so two apps in one process, as in tests, never share it)."""
    state = connection.app.state
    memo: UnknownTokens | None = getattr(state, "unknown_screens", None)
    if memo is None:
        memo = state.unknown_screens = UnknownTokens()
    return memo


async def _screen_context(
    websocket: WebSocket, token: str
) -> endpoints_models.ScreenContext | None:
    """The screen of a token; a malformed or recently unknown one costs no lookup (nor a
    thread hop): a flood of made-up tokens must cost almost nothing."""
    unknown = unknown_screens(websocket)
    if not endpoints_service.screen_token_well_formed(token) or token in unknown:
        return None
    context = await run_in_threadpool(_screen_for, connection_read_engine(websocket), token)
    if context is None:
        unknown.add(token)
    return context


def _screen_for(engine: Engine, token: str) -> endpoints_models.ScreenContext | None:
    with Session(engine) as db:
        return endpoints_service.screen_for_token(db, token=token)


def _waiting(
    engine: Engine, context: endpoints_models.ScreenContext
) -> tuple[int | None, events.WaitingView | None]:
    """The conference live at the screen's site now, else what its waiting screen shows."""
    with Session(engine) as db:
        live = waiting.live_conference(db, site_id=context.site_id)
        if live is not None:
            return live, None
        return None, waiting.waiting_view(
            db, site_id=context.site_id, site_name=context.site_name
        )
