"""Coalescing of dashboard updates: one board per conference and session in this process.

A :class:`Coalescer` listens to the attendance, presence and readiness channels of a
conference (:func:`dashboard_channels`), keeps its :class:`~checkin.board.Board`
current, and sends each dashboard scope (the whole conference, or a coordinator's
subtree) at most one update per interval, whatever the check-in rate: the message is
encoded once per scope and the same string goes to every dashboard of that scope.

Messages (JSON):
* ``{"type": "snapshot", "version", "conference_id", "session_id", "scope_site_id",
  "totals", "rollups", "sites", "sites_total", "sites_complete", "arrivals",
  "incidents", "syncs"}``
* ``{"type": "update", "version", "totals", "sites" (changed rows, ≤ 500),
  "rollups" (changed), "arrivals_tail", "incidents"? (when changed), "syncs"? (when a
  site of the scope synced its offline queue), "refresh"}``;
  ``refresh: true`` means more rows changed than an update carries: reload the rows
  shown over HTTP.
* ``{"type": "resumed", "version"}`` after a reconnect with ``since`` = current version.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.db import local_today
from app.realtime import Hub, Message
from checkin import attendance
from checkin import events as checkin_events
from checkin.board import Board, Scope, SiteState, local_minute, snapshot_body
from checkin.models import CONFERENCE_LEVEL
from checkin.sync_view import SyncSummary
from endpoints import events as endpoints_events

log = logging.getLogger(__name__)

#: Changed rows per update; beyond that the update says ``refresh``.
UPDATE_ROWS: Final = 500
SINK_QUEUE: Final = 16


def dashboard_channels(conference_id: int) -> dict[str, str]:
    """The channels a conference's dashboards follow, by what they carry."""
    return {
        "attendance": checkin_events.attendance_channel(conference_id),
        "presence": endpoints_events.presence_channel(conference_id),
        "readiness": endpoints_events.readiness_channel(conference_id),
    }


def _encode(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _counts_in(
    event: checkin_events.CheckinMessage | checkin_events.HeadcountMessage, session_key: int
) -> bool:
    """Whether a board of this session key counts the message: its own session's, and at
    the conference level also a session check-in that was the attendee's first there."""
    if (event.session_id or CONFERENCE_LEVEL) == session_key:
        return True
    return (session_key == CONFERENCE_LEVEL
            and isinstance(event, checkin_events.CheckinMessage) and event.conference)


@dataclass(frozen=True, slots=True)
class _Changes:
    """What changed since the last flush besides rows and minutes."""

    incidents: bool
    syncs: bool


class Sink:
    """One dashboard socket's outbox: a few messages, then it is dropped as too slow."""

    __slots__ = ("dropped", "on_drop", "queue")

    def __init__(self, on_drop: Callable[[], None]) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=SINK_QUEUE)
        self.on_drop = on_drop
        self.dropped = False

    def put(self, message: str) -> None:
        """Queue a message; a full queue drops the dashboard (it reconnects and resyncs)."""
        if self.dropped:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped = True
            self.on_drop()


class _ScopeFeed:
    """Dashboards of one scope: version, arrivals, the cached snapshot."""

    def __init__(self, scope: Scope, arrivals: Counter[str]) -> None:
        self.scope = scope
        # Time-based start: a client resuming after a server restart never matches by chance.
        self.version = int(time.time() * 1000)
        self.arrivals = arrivals
        self.dirty_minutes: set[str] = set()
        self.sinks: set[Sink] = set()
        self.snapshot: str | None = None


class Coalescer:
    """One conference (and session) in this process: board, hub listeners, flush loop."""

    def __init__(
        self, *, hub: Hub, engine: Engine, conference_id: int, session_key: int, interval: float
    ) -> None:
        self.hub = hub
        self.engine = engine
        self.conference_id = conference_id
        self.session_key = session_key
        self.interval = interval
        self.board: Board | None = None
        self._recent: set[int] = set()
        self._recent_until = 0.0
        self._held: list[tuple[Callable[[Message], None], Message]] | None = []
        self._feeds: dict[int | None, _ScopeFeed] = {}
        self._attachments: list[Any] = []
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._reload_due = False
        self.idle_since: float | None = None
        self.messages_in = 0
        self.flushes = 0

    # -- lifecycle ------------------------------------------------------------

    async def start(self) -> None:
        """Listen first (what arrives meanwhile is held), then load the board."""
        channels = dashboard_channels(self.conference_id)
        for name, handle in (("attendance", self._on_attendance), ("presence", self._on_site),
                             ("readiness", self._on_site)):
            self._attachments.append(
                await self.hub.attach(channels[name], self._receiver(handle),
                                      on_resync=self._on_resync, max_pending=1_000_000)
            )
        await self._load()
        self._task = asyncio.create_task(self._run(), name=f"dashboard-{self.conference_id}")

    async def stop(self) -> None:
        """Stop listening and close every dashboard's feed."""
        for attachment in self._attachments:
            attachment.detach()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _load(self) -> None:
        self._held = []
        board, recent = await run_in_threadpool(self._read_board)
        self.board = board
        self._recent = recent
        self._recent_until = time.monotonic() + attendance.RECENT_SECONDS
        held, self._held = self._held or [], None
        for handle, message in held:
            self._apply(handle, message)
        board.dirty.clear()

    def _read_board(self) -> tuple[Board, set[int]]:
        with Session(self.engine) as db:
            return attendance.load_board(db, conference_id=self.conference_id,
                                         session_key=self.session_key)

    # -- messages ---------------------------------------------------------------

    def _receiver(self, handle: Callable[[Message], None]) -> Callable[[Message], None]:
        def receive(message: Message) -> None:
            self.messages_in += 1
            if self._held is not None:
                self._held.append((handle, message))
                return
            self._apply(handle, message)

        return receive

    def _on_resync(self) -> None:
        self._reload_due = True

    def _apply(self, handle: Callable[[Message], None], message: Message) -> None:
        if self.board is None:
            return
        try:
            handle(message)
        except ValueError:
            log.warning("dashboard: ignoring malformed message %r", message[:200])
        if self.board.unknown_site:
            self._reload_due = True

    def _on_site(self, message: Message) -> None:
        board = self.board
        assert board is not None
        event = endpoints_events.decode(message)
        if isinstance(event, endpoints_events.PresenceMessage):
            for site_id, online in event.changes:
                board.set_online(site_id, online)
        elif isinstance(event, endpoints_events.SiteMessage):
            board.set_site(event.site_id, readiness=event.readiness, expected=event.expected,
                           name=event.name)
            if event.incident:
                board.note_incident(event.incident)

    def _on_attendance(self, message: Message) -> None:
        board = self.board
        assert board is not None
        event = checkin_events.decode(message)
        if isinstance(event, checkin_events.SyncedMessage):
            self._on_synced(board, event)
            return
        if not isinstance(event, (checkin_events.CheckinMessage,
                                  checkin_events.HeadcountMessage)):
            return
        if not _counts_in(event, self.session_key):
            return
        if isinstance(event, checkin_events.HeadcountMessage):
            board.set_headcount(event.site_id, event.total)
            return
        if self._recent and time.monotonic() > self._recent_until:
            self._recent = set()
        if self._recent and event.attendee_id in self._recent:
            self._recent.discard(event.attendee_id)  # counted by the load
            return
        board.checked_in(event.site_id)
        # The check-in's own time, not now: a queue synced after 40 minutes offline
        # lands in the minutes it was scanned.
        minute = local_minute(event.at)
        site = board.sites.get(event.site_id)
        for feed in self._feeds.values():
            if site is not None and board.in_scope(site, feed.scope.root):
                feed.arrivals[minute] += 1
                feed.dirty_minutes.add(minute)

    @staticmethod
    def _on_synced(board: Board, event: checkin_events.SyncedMessage) -> None:
        """A site's offline queue arrived: its row and the recent-syncs list say so (its
        check-ins came as check-in messages of their own)."""
        board.note_sync(event.site_id, SyncSummary.of(
            checkins=event.checkins, headcounts=event.headcounts, refused=event.refused,
            oldest=event.oldest, at=event.at,
        ), today=local_today())

    # -- dashboards ---------------------------------------------------------------

    async def join(self, scope: Scope, sink: Sink) -> tuple[int, str]:
        """Register a dashboard; returns the scope's (version, snapshot message)."""
        feed = self._feeds.get(scope.root)
        if feed is None:
            arrivals = await run_in_threadpool(self._read_arrivals, scope.root)
            feed = self._feeds.get(scope.root)
            if feed is None:
                feed = self._feeds[scope.root] = _ScopeFeed(scope, arrivals)
        feed.sinks.add(sink)
        self.idle_since = None
        return feed.version, self._snapshot(feed)

    def leave(self, scope: Scope, sink: Sink) -> None:
        """A dashboard left."""
        feed = self._feeds.get(scope.root)
        if feed is not None:
            feed.sinks.discard(sink)
        if not any(f.sinks for f in self._feeds.values()):
            self.idle_since = time.monotonic()

    def _read_arrivals(self, root: int | None) -> Counter[str]:
        with Session(self.engine) as db:
            return attendance.load_arrivals(
                db, conference_id=self.conference_id, session_key=self.session_key,
                root_path=attendance.site_path(db, root),
            )

    def _snapshot(self, feed: _ScopeFeed) -> str:
        if feed.snapshot is None:
            assert self.board is not None
            feed.snapshot = _encode(snapshot_body(self.board, feed.scope, feed.arrivals,
                                                  feed.version))
        return feed.snapshot

    # -- flushing -----------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                if self._reload_due:
                    await self.reload()
                else:
                    self.flush()
            except Exception:
                log.exception("dashboard flush failed")

    async def reload(self) -> None:
        """Read everything again (lost messages, new sites) and send fresh snapshots."""
        self._reload_due = False
        async with self._lock:
            await self._load()
            for root, feed in list(self._feeds.items()):
                feed.arrivals = await run_in_threadpool(self._read_arrivals, root)
                feed.version += 1
                feed.snapshot = None
                message = self._snapshot(feed)
                for sink in list(feed.sinks):
                    sink.put(message)

    def flush(self) -> int:
        """Send each scope with changes one update; returns the number of messages encoded."""
        board = self.board
        if board is None:
            return 0
        if board.unknown_site:
            return 0
        dirty = [board.sites[i] for i in board.dirty if i in board.sites]
        changes = _Changes(incidents=board.incidents_dirty, syncs=board.syncs_dirty)
        board.dirty = set()
        board.incidents_dirty = board.syncs_dirty = False
        sent = 0
        for feed in self._feeds.values():
            message = self._update(board, feed, dirty, changes)
            if message is None:
                continue
            sent += 1
            for sink in list(feed.sinks):
                sink.put(message)
        self.flushes += 1
        return sent

    def _update(
        self, board: Board, feed: _ScopeFeed, dirty: list[SiteState], changes: _Changes
    ) -> str | None:
        root = feed.scope.root
        changed = [s for s in dirty if board.in_scope(s, root)]
        minutes, feed.dirty_minutes = feed.dirty_minutes, set()
        incidents = changes.incidents and bool(board.incidents_for(root))
        syncs = board.syncs_for(root) if changes.syncs else []
        if not changed and not minutes and not incidents and not syncs:
            return None
        groups: dict[int, SiteState] = {}
        for s in changed:
            for a in (*s.ancestors, s.site_id):
                g = board.sites.get(a)
                if g is not None and g.children and board.in_scope(g, root):
                    groups[a] = g
        feed.version += 1
        feed.snapshot = None
        body: dict[str, Any] = {
            "type": "update",
            "version": feed.version,
            "totals": board.totals(root),
            "sites": [s.row() for s in changed[:UPDATE_ROWS]],
            "rollups": [g.rollup_row()
                        for g in sorted(groups.values(), key=lambda g: (g.order, g.path))],
            "arrivals_tail": [[m, feed.arrivals[m]] for m in sorted(minutes)],
            "refresh": len(changed) > UPDATE_ROWS,
        }
        if incidents:
            body["incidents"] = board.incidents_for(root)
        if syncs:
            body["syncs"] = syncs
        return _encode(body)
