"""The chairs' views of a session's floor in this process: one feed per session and filter.

A :class:`FloorFeed` listens to its conference's floor channel
(`events.floor_channel`). A `{"type": "floor", "session_id", "version"}` for its
session with a newer version marks it stale; at most every `interval` seconds
(0.25 s: four sends a second; longer after a long read) it reads the queue once (one
SELECT of the open requests, in a thread), encodes it once, and puts the same string in
the outbox of every chair socket with that session and filter. Many asks in a burst become a few
messages, and a thousand chairs cost one read, not a thousand.

Messages (JSON, `type` first): ``{"type": "snapshot", "now", ...FloorQueuePublic}`` on
connect, ``{"type": "state", "now", ...FloorQueuePublic}`` after each change; `version`
is the session's `floor_version`, so it only grows, across restarts too. `now` is the
server's time, for the page's timer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.accounts.models import User
from app.db import utcnow
from app.realtime import Attachment, Hub, Message
from sessions import events, floor_view

log = logging.getLogger(__name__)

#: Seconds between two sends of one feed: four a second at most.
INTERVAL: Final = 0.25
#: Pause after a read, as a multiple of the read's time (when longer than INTERVAL).
READ_SHARE: Final = 2.0
#: Messages a chair socket may have waiting before it is dropped as too slow.
SINK_QUEUE: Final = 8


@dataclass(frozen=True, slots=True)
class FeedKey:
    """A session and the chair's filters: sockets with the same key share every read."""

    session_id: int
    hub_id: int | None
    kind: str | None


class FloorSink:
    """One chair socket's outbox of (version, message); full, the socket is dropped."""

    __slots__ = ("dropped", "on_drop", "queue")

    def __init__(self, on_drop: Callable[[], None]) -> None:
        self.queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue(maxsize=SINK_QUEUE)
        self.on_drop = on_drop
        self.dropped = False

    def put(self, version: int, message: str) -> None:
        """Queue a message; a full outbox drops the socket (the page reconnects)."""
        if self.dropped:
            return
        try:
            self.queue.put_nowait((version, message))
        except asyncio.QueueFull:
            self.dropped = True
            self.on_drop()


def _framed(kind: str, body: str) -> str:
    """`{"type": kind, "now": …, <the queue's fields>}` around an encoded queue."""
    now = utcnow().isoformat()
    return f'{{"type":"{kind}","now":"{now}",{body[1:]}'


class FloorFeed:
    """The chairs of one session and filter: the last read queue and their outboxes."""

    def __init__(self, *, key: FeedKey, conference_id: int, hub: Hub, engine: Engine,
                 actor: User, interval: float) -> None:
        self.key = key
        self.conference_id = conference_id
        self.hub = hub
        self.engine = engine
        self.actor = actor  # the first chair: the reads need an admin (each socket checked)
        self.interval = interval
        self.sinks: set[FloorSink] = set()
        self.version = -1
        self.body = ""  # the queue as JSON, as last read
        self.wanted = -1  # the newest version announced
        self.reads = 0
        self._stale = asyncio.Event()
        self._attachment: Attachment | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen first (a change made meanwhile marks the feed stale), then read."""
        self._attachment = await self.hub.attach(
            events.floor_channel(self.conference_id), self._receive,
            on_resync=self._resync, max_pending=1_000_000,
        )
        await self._read()
        self._task = asyncio.create_task(self._run(), name=f"floor-{self.key.session_id}")

    def stop(self) -> None:
        """Stop listening and reading."""
        if self._attachment is not None:
            self._attachment.detach()
        if self._task is not None:
            self._task.cancel()

    def _receive(self, message: Message) -> None:
        try:
            session_id, version = events.decode_floor_changed(message)
        except (ValueError, KeyError, TypeError):
            log.warning("floor: ignoring a malformed message")
            return
        if session_id == self.key.session_id and version > max(self.version, self.wanted):
            self.wanted = version
            self._stale.set()

    def _resync(self) -> None:
        # Messages may have been lost (broker reconnect): read again whatever the version.
        self.wanted = max(self.wanted, self.version + 1)
        self._stale.set()

    def snapshot(self) -> tuple[int, str]:
        """The version and the snapshot message a joining chair gets."""
        return self.version, _framed("snapshot", self.body)

    async def _run(self) -> None:
        while True:
            await self._stale.wait()
            self._stale.clear()
            started = time.monotonic()
            try:
                if await self._read():
                    message = _framed("state", self.body)
                    for sink in list(self.sinks):
                        sink.put(self.version, message)
            except Exception:
                log.exception("floor: reading the queue failed")
            # The coalescing: changes meanwhile wait. A long queue takes long to read
            # (4,000 requests: about 0.3-0.6 s), so the pause grows with the read and
            # reading never takes more than a third of the time, whatever the burst.
            spent = time.monotonic() - started
            await asyncio.sleep(max(self.interval, READ_SHARE * spent))

    async def _read(self) -> bool:
        """Read the queue; True when its version grew."""
        version, body = await run_in_threadpool(self._read_queue)
        self.reads += 1
        if version <= self.version:
            return False
        self.version, self.body = version, body
        return True

    def _read_queue(self) -> tuple[int, str]:
        with Session(self.engine) as db:
            queue = floor_view.queue(db, session_id=self.key.session_id, actor=self.actor,
                                     hub_id=self.key.hub_id, kind=self.key.kind)
        return queue.version, queue.model_dump_json()


class FloorFeeds:
    """The feeds of this process, made on a chair's first join, dropped with its last."""

    def __init__(self, *, hub: Hub, engine: Engine, interval: float = INTERVAL) -> None:
        self.hub = hub
        self.engine = engine
        self.interval = interval
        self._feeds: dict[FeedKey, FloorFeed] = {}
        self._lock = asyncio.Lock()

    def running(self, key: FeedKey) -> FloorFeed | None:
        """The live feed of a key, if any."""
        return self._feeds.get(key)

    async def join(
        self, key: FeedKey, *, conference_id: int, actor: User, sink: FloorSink
    ) -> FloorFeed:
        """The key's feed (started and read on first use), with `sink` registered."""
        async with self._lock:
            feed = self._feeds.get(key)
            if feed is None:
                feed = FloorFeed(key=key, conference_id=conference_id, hub=self.hub,
                                 engine=self.engine, actor=actor, interval=self.interval)
                try:
                    await feed.start()
                except BaseException:
                    feed.stop()
                    raise
                self._feeds[key] = feed
            feed.sinks.add(sink)
            return feed

    def leave(self, feed: FloorFeed, sink: FloorSink) -> None:
        """A chair left; the last one stops the feed."""
        feed.sinks.discard(sink)
        if not feed.sinks and self._feeds.get(feed.key) is feed:
            del self._feeds[feed.key]
            feed.stop()
