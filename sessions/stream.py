"""The stage stream of one process: a snapshot cache per conference and per-socket forwarding.

Every state message carries the whole stage, so the newest message of a channel is
also the snapshot a late joiner needs. The cache keeps it per conference (one JSON
parse per message per process), which means thousands of screens reconnecting after
a network drop cost one database read, not thousands.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.realtime import Hub
from app.wsfast import DirectSocket
from sessions import events
from sessions import stage as sessions_stage


@dataclass
class _Entry:
    version: int
    snapshot: str


class StageCache:
    """Newest stage per conference, fed by the hub, loaded from the database when cold."""

    def __init__(self, *, hub: Hub, engine: Engine) -> None:
        self._hub = hub
        self._engine = engine
        self._entries: dict[int, _Entry] = {}
        self._watched: set[int] = set()
        self._locks: dict[int, asyncio.Lock] = {}

    async def snapshot(self, conference_id: int) -> tuple[int, str]:
        """(version, snapshot message) of a conference's stage."""
        entry = self._entries.get(conference_id)
        if entry is not None:
            return entry.version, entry.snapshot
        lock = self._locks.setdefault(conference_id, asyncio.Lock())
        async with lock:
            await self._watch(conference_id)
            entry = self._entries.get(conference_id)
            if entry is None:
                view = await run_in_threadpool(self._load, conference_id)
                loaded = _Entry(view.version, events.encode_stage("snapshot", view))
                # A message may have arrived while we read; keep whichever is newer.
                current = self._entries.get(conference_id)
                entry = current if current and current.version >= loaded.version else loaded
                self._entries[conference_id] = entry
        return entry.version, entry.snapshot

    def _load(self, conference_id: int) -> events.StageView:
        with Session(self._engine) as db:
            return sessions_stage.get_stage(db, conference_id=conference_id)

    async def _watch(self, conference_id: int) -> None:
        if conference_id in self._watched:
            return
        self._watched.add(conference_id)

        def on_message(message: str | bytes) -> None:
            if isinstance(message, bytes):
                message = message.decode()
            version = events.stage_version(message)
            entry = self._entries.get(conference_id)
            if entry is None or version > entry.version:
                self._entries[conference_id] = _Entry(version, events.as_snapshot(message))

        def on_resync() -> None:
            # Messages may have been lost: the next reader reloads from the database.
            self._entries.pop(conference_id, None)

        await self._hub.attach(
            events.stage_channel(conference_id),
            on_message,
            on_resync=on_resync,
            max_pending=1_000_000,
        )


class Forwarder:
    """Per-socket sender: holds messages until the snapshot is out, then passes them through.

    Attached to the hub before the snapshot is read, so no change can fall between
    the two; what arrived meanwhile is sent after the snapshot if it is newer. With a
    :class:`~app.wsfast.DirectSocket` (uvicorn) a change is written as a frame made
    once for all screens, synchronously, like ``websockets.broadcast()``; a client
    that leaves too much unread raises :class:`~app.wsfast.SlowClient`, which makes
    the hub drop it. Without one (TestClient, other servers) the ASGI send is used.
    """

    __slots__ = ("_direct", "_held", "_open", "_send")

    def __init__(
        self, send: Callable[[str], Awaitable[None]], direct: DirectSocket | None = None
    ) -> None:
        self._send = send
        self._direct = direct
        self._open = False
        # Made on first use: most screens never hold anything, and an empty deque
        # costs ~760 bytes per connection.
        self._held: list[str | bytes] | None = None

    def __call__(self, message: str | bytes) -> Awaitable[None] | None:
        if self._open:
            direct = self._direct
            if direct is not None:
                direct.send(message)
                return None
            return self._send(message.decode() if isinstance(message, bytes) else message)
        if self._held is None:
            self._held = []
        self._held.append(message)
        return None

    async def open_after(self, version: int) -> None:
        """Send what was held and is newer than `version`, then forward directly."""
        while self._held:
            message = self._held.pop(0)
            text = message.decode() if isinstance(message, bytes) else message
            if events.stage_version(text) > version:
                await self._send(text)
        self._held = None
        # No await between the empty check and opening: nothing can slip in between.
        self._open = True
