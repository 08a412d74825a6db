"""The live dashboard: attendance, presence and readiness per site, rolled up the tree.

A :class:`Board` holds one conference (and session) in memory: one row per site and,
for every site, the sum over its subtree ("rollup"; a hub's totals are the sum of its
children at every level). It is loaded with one grouped query per table and then
kept current by the realtime messages of check-in, headcounts, presence and
roll-call, each applied in O(depth).

A :class:`Coalescer` (one per conference and session per process) owns a board and
sends each dashboard scope (the whole conference, or a coordinator's subtree) at most
one update per interval, whatever the check-in rate: the message is encoded once per
scope and the same string goes to every dashboard of that scope.

Messages (JSON):
* ``{"type": "snapshot", "version", "conference_id", "session_id", "scope_site_id",
  "totals", "rollups", "sites", "sites_total", "sites_complete", "arrivals",
  "incidents"}``
* ``{"type": "update", "version", "totals", "sites" (changed rows, ≤ 500),
  "rollups" (changed), "arrivals_tail", "incidents"? (when changed), "refresh"}``;
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col
from starlette.concurrency import run_in_threadpool

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.realtime import Hub
from app.templating import LOCAL_TZ
from app.text import search_key
from checkin import events as checkin_events
from checkin.errors import CheckinSessionNotFound
from checkin.models import CONFERENCE_LEVEL, Attendance, Headcount
from endpoints import errors as endpoints_errors
from endpoints import events as endpoints_events
from endpoints import service as endpoints_service
from endpoints.events import incident_view
from endpoints.models import READY, Incident, Readiness, Site, SitePresence
from sessions import service as sessions_service

log = logging.getLogger(__name__)

COUNTERS: Final = (
    "sites",
    "sites_online",
    "sites_ready",
    "sites_missing",
    "checked_in",
    "headcount",
    "expected",
    "present",
)
#: Scopes up to this many sites get every row in the snapshot; larger ones get rollups
#: only and page through rows over HTTP.
SNAPSHOT_ROWS: Final = 500
#: Changed rows per update; beyond that the update says ``refresh``.
UPDATE_ROWS: Final = 500
RECENT_INCIDENTS: Final = 20
_KEPT_INCIDENTS: Final = 200
# Check-ins committed this close before a load may still have their message in flight.
_RECENT_SECONDS: Final = 30.0
_IDLE_SECONDS: Final = 60.0
SINK_QUEUE: Final = 16

Filter = Literal["not_ready", "offline", "below_half"]


# ---------------------------------------------------------------- the board


@dataclass(slots=True)
class SiteState:
    """One site: its own counts and the sums over its subtree."""

    site_id: int
    parent_id: int | None
    path: str
    depth: int
    name: str
    name_key: str
    kind: str
    readiness: str
    expected: int
    online: bool = False
    checked_in: int = 0
    headcount: int | None = None
    ancestors: tuple[int, ...] = ()
    children: int = 0
    rollup: list[int] = field(default_factory=lambda: [0] * len(COUNTERS))

    @property
    def participating(self) -> bool:
        """False when the site was marked không tham gia."""
        return self.readiness != Readiness.not_participating

    @property
    def present(self) -> int:
        """Checked in, or the reported headcount when higher (same rule as attendance_summary)."""
        return max(self.checked_in, self.headcount or 0)

    @property
    def ready(self) -> bool:
        """Connection tested or declared ready."""
        return self.readiness in READY

    @property
    def missing(self) -> bool:
        """Taking part but offline or not ready."""
        return self.participating and not (self.online and self.ready)

    def own(self) -> tuple[int, ...]:
        """This site's own contribution to each counter."""
        p = self.participating
        return (
            int(p),
            int(p and self.online),
            int(p and self.ready),
            int(self.missing),
            self.checked_in,
            self.headcount or 0,
            self.expected if p else 0,
            self.present,
        )

    def row(self) -> dict[str, Any]:
        """The JSON row of this site."""
        return {
            "site_id": self.site_id,
            "parent_id": self.parent_id,
            "path": self.path,
            "depth": self.depth,
            "name": self.name,
            "kind": self.kind,
            "readiness": self.readiness,
            "online": self.online,
            "checked_in": self.checked_in,
            "headcount": self.headcount,
            "expected": self.expected,
            "present": self.present,
        }

    def rollup_row(self) -> dict[str, Any]:
        """The JSON row of this site with the totals of its subtree."""
        body = self.row()
        body["totals"] = dict(zip(COUNTERS, self.rollup, strict=True))
        return body


def _ancestors(path: str, site_id: int) -> tuple[int, ...]:
    return tuple(int(p) for p in path.strip("/").split("/") if p and int(p) != site_id)


def _minute(at: datetime) -> str:
    """Local minute of an instant: "2025-09-09T08:01"."""
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


class Board:
    """A conference's sites in memory, with rollups kept current message by message."""

    def __init__(self, conference_id: int, session_key: int, sites: Iterable[SiteState]) -> None:
        self.conference_id = conference_id
        self.session_key = session_key
        self.sites: dict[int, SiteState] = {s.site_id: s for s in sites}
        self.total = [0] * len(COUNTERS)
        self.incidents: list[dict[str, Any]] = []
        self.dirty: set[int] = set()
        self.incidents_dirty = False
        self.unknown_site = False
        for s in self.sites.values():
            s.ancestors = _ancestors(s.path, s.site_id)
            if s.parent_id in self.sites:
                self.sites[s.parent_id].children += 1
        for s in self.sites.values():
            self._add(s, s.own())

    def _add(self, site: SiteState, delta: Iterable[int]) -> None:
        delta = tuple(delta)
        if not any(delta):
            return
        for target in (site.rollup, self.total, *(
            self.sites[a].rollup for a in site.ancestors if a in self.sites
        )):
            for i, d in enumerate(delta):
                target[i] += d

    def _change(self, site_id: int, mutate: Callable[[SiteState], None]) -> None:
        site = self.sites.get(site_id)
        if site is None:
            self.unknown_site = True  # created after the load: reload
            return
        before = site.own()
        mutate(site)
        after = site.own()
        self._add(site, (a - b for a, b in zip(after, before, strict=True)))
        self.dirty.add(site_id)

    # -- changes ------------------------------------------------------------

    def checked_in(self, site_id: int) -> None:
        """One more first check-in at a site."""

        def bump(s: SiteState) -> None:
            s.checked_in += 1

        self._change(site_id, bump)

    def set_headcount(self, site_id: int, total: int) -> None:
        """A site's current headcount report."""

        def put(s: SiteState) -> None:
            s.headcount = total

        self._change(site_id, put)

    def set_online(self, site_id: int, online: bool) -> None:
        """A presence transition."""

        def put(s: SiteState) -> None:
            s.online = online

        self._change(site_id, put)

    def set_site(self, site_id: int, *, readiness: str, expected: int, name: str) -> None:
        """Roll-call fields of a site changed."""

        def put(s: SiteState) -> None:
            s.readiness, s.expected = readiness, expected
            if name != s.name:
                s.name, s.name_key = name, search_key(name)

        self._change(site_id, put)

    def note_incident(self, incident: dict[str, Any]) -> None:
        """An incident opened or resolved: newest first, by id."""
        self.incidents = [i for i in self.incidents if i.get("id") != incident.get("id")]
        self.incidents.insert(0, incident)
        self.incidents.sort(key=lambda i: (i.get("opened_at") or "", i.get("id") or 0),
                            reverse=True)
        del self.incidents[_KEPT_INCIDENTS:]
        self.incidents_dirty = True

    # -- reading ------------------------------------------------------------

    def in_scope(self, site: SiteState, root: int | None) -> bool:
        """True when `site` is `root` or below it (root None: everything)."""
        return root is None or site.site_id == root or root in site.ancestors

    def scope_sites(self, root: int | None) -> list[SiteState]:
        """Sites of a scope in tree order."""
        sites = [s for s in self.sites.values() if self.in_scope(s, root)]
        sites.sort(key=lambda s: s.path)
        return sites

    def totals(self, root: int | None) -> dict[str, int]:
        """Sums over a scope."""
        values = self.total if root is None else self.sites[root].rollup
        return dict(zip(COUNTERS, values, strict=True))

    def incidents_for(self, root: int | None) -> list[dict[str, Any]]:
        """Recent incidents of a scope (≤ 20)."""
        out = [
            i for i in self.incidents
            if (s := self.sites.get(int(i["site_id"]))) is not None and self.in_scope(s, root)
        ]
        return out[:RECENT_INCIDENTS]


# ------------------------------------------------------------------ loading


def _scope_path(db: Session, root: int | None) -> str | None:
    if root is None:
        return None
    site = db.get(Site, root)
    return site.path if site is not None else None


def _pairs(rows: Any) -> dict[int, int]:
    return {int(r[0]): int(r[1]) for r in rows}


def load_board(db: Session, *, conference_id: int, session_key: int) -> tuple[Board, set[int]]:
    """Read a conference's board: one grouped query per table, in one snapshot.

    Also returns the attendees checked in during the last seconds: their messages may
    still be on the way and must not be counted twice.
    """
    if db.get_bind().dialect.name == "postgresql":
        db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    sites = db.execute(
        sa_select(
            col(Site.id), col(Site.parent_id), col(Site.path), col(Site.depth), col(Site.name),
            col(Site.name_key), col(Site.kind), col(Site.readiness),
            col(Site.expected_attendees),
        ).where(col(Site.conference_id) == conference_id)
    ).all()
    checked = _pairs(
        db.execute(
            sa_select(col(Attendance.site_id), func.count())
            .where(col(Attendance.conference_id) == conference_id,
                   col(Attendance.session_key) == session_key)
            .group_by(col(Attendance.site_id))
        ).all()
    )
    heads = _pairs(
        db.execute(
            sa_select(col(Headcount.site_id), col(Headcount.total)).where(
                col(Headcount.conference_id) == conference_id,
                col(Headcount.session_key) == session_key,
                col(Headcount.superseded).is_(False),
            )
        ).all()
    )
    online = {
        int(r[0]) for r in db.execute(
            sa_select(col(SitePresence.site_id)).where(
                col(SitePresence.conference_id) == conference_id,
                col(SitePresence.online).is_(True),
            )
        ).all()
    }
    since = datetime.now(UTC) - timedelta(seconds=_RECENT_SECONDS)
    recent = {
        int(r[0]) for r in db.execute(
            sa_select(col(Attendance.attendee_id)).where(
                col(Attendance.conference_id) == conference_id,
                col(Attendance.session_key) == session_key,
                col(Attendance.checked_in_at) >= since,
            )
        ).all()
    }
    incidents = db.execute(
        sa_select(Incident, col(Site.name))
        .join(Site, col(Site.id) == col(Incident.site_id))
        .where(col(Incident.conference_id) == conference_id)
        .order_by(col(Incident.opened_at).desc(), col(Incident.id).desc())
        .limit(_KEPT_INCIDENTS)
    ).all()
    db.rollback()
    board = Board(
        conference_id,
        session_key,
        (
            SiteState(
                site_id=r[0], parent_id=r[1], path=r[2], depth=r[3], name=r[4], name_key=r[5],
                kind=str(r[6]), readiness=str(r[7]), expected=int(r[8]),
                online=r[0] in online, checked_in=int(checked.get(r[0], 0)),
                headcount=int(heads[r[0]]) if r[0] in heads else None,
            )
            for r in sites
        ),
    )
    board.incidents = [incident_view(i, name) for i, name in incidents]
    board.dirty.clear()
    board.incidents_dirty = False
    return board, recent


def load_arrivals(
    db: Session, *, conference_id: int, session_key: int, root_path: str | None
) -> Counter[str]:
    """First check-ins per local minute in a scope."""
    dialect = db.get_bind().dialect.name
    at = col(Attendance.checked_in_at)
    bucket: Any = (
        func.to_char(func.date_trunc("minute", at), 'YYYY-MM-DD"T"HH24:MI')
        if dialect == "postgresql"
        else func.strftime("%Y-%m-%dT%H:%M", at)
    )
    query = (
        sa_select(bucket, func.count())
        .where(col(Attendance.conference_id) == conference_id,
               col(Attendance.session_key) == session_key)
        .group_by(bucket)
    )
    if root_path is not None:
        query = query.join(Site, col(Site.id) == col(Attendance.site_id)).where(
            col(Site.path).startswith(root_path)
        )
    counts: Counter[str] = Counter()
    for minute_utc, count in db.execute(query).all():
        if minute_utc:
            at_utc = datetime.strptime(str(minute_utc), "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
            counts[_minute(at_utc)] += int(count)
    db.rollback()
    return counts


def arrivals_list(counts: Counter[str]) -> list[list[Any]]:
    """[[minute, count], ...] in time order."""
    return [[m, counts[m]] for m in sorted(counts)]


# ------------------------------------------------------------ scope and views


@dataclass(frozen=True)
class Scope:
    """What an actor's dashboard covers: the whole conference or one subtree."""

    conference_id: int
    session_id: int | None
    root: int | None

    @property
    def session_key(self) -> int:
        """Key of the session in attendance rows (0 = conference-level check-in)."""
        return self.session_id if self.session_id is not None else CONFERENCE_LEVEL


def resolve_scope(
    db: Session,
    *,
    conference_id: int,
    actor: User,
    session_id: int | None = None,
    under_id: int | None = None,
) -> Scope:
    """The scope an actor may watch; `under_id` narrows it (refused outside their subtree)."""
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    if session_id is not None:
        session = sessions_service.get_session(db, session_id=session_id, actor=actor)
        if session.conference_id != conference_id:
            raise CheckinSessionNotFound()
    root: int | None = None
    if under_id is not None:
        site = endpoints_service.get_site(db, site_id=under_id, actor=actor)
        if site.conference_id != conference_id:
            raise endpoints_errors.SiteNotFound()
        root = under_id
    elif not accounts_service.is_admin(actor):
        if actor.site_id is None:
            raise endpoints_errors.SiteOutOfScope()
        site = endpoints_service.get_site(db, site_id=actor.site_id, actor=actor)
        root = site.id
    db.rollback()
    return Scope(conference_id=conference_id, session_id=session_id, root=root)


def snapshot_body(
    board: Board, scope: Scope, arrivals: Counter[str], version: int
) -> dict[str, Any]:
    """The snapshot message of a scope."""
    sites = board.scope_sites(scope.root)
    complete = len(sites) <= SNAPSHOT_ROWS
    return {
        "type": "snapshot",
        "version": version,
        "conference_id": scope.conference_id,
        "session_id": scope.session_id,
        "scope_site_id": scope.root,
        "totals": board.totals(scope.root),
        "rollups": [s.rollup_row() for s in sites if s.children],
        "sites": [s.row() for s in sites] if complete else [],
        "sites_total": len(sites),
        "sites_complete": complete,
        "arrivals": arrivals_list(arrivals),
        "incidents": board.incidents_for(scope.root),
    }


@dataclass(frozen=True)
class DashboardView:
    """What the dashboard shows for a scope (the snapshot, read from the database)."""

    body: dict[str, Any]

    @property
    def totals(self) -> dict[str, int]:
        """Sums over the scope."""
        totals: dict[str, int] = self.body["totals"]
        return totals


def dashboard_snapshot(
    db: Session,
    *,
    conference_id: int,
    actor: User,
    session_id: int | None = None,
    under_id: int | None = None,
) -> DashboardView:
    """Totals, rollups, rows (small scopes), arrivals and incidents, straight from the database."""
    scope = resolve_scope(db, conference_id=conference_id, actor=actor, session_id=session_id,
                          under_id=under_id)
    board, _ = load_board(db, conference_id=conference_id, session_key=scope.session_key)
    arrivals = load_arrivals(db, conference_id=conference_id, session_key=scope.session_key,
                             root_path=_scope_path(db, scope.root))
    return DashboardView(snapshot_body(board, scope, arrivals, version=0))


@dataclass(frozen=True)
class SitePage:
    """A page of dashboard rows."""

    total: int
    offset: int
    limit: int
    rows: list[dict[str, Any]]


def filter_rows(
    board: Board,
    *,
    root: int | None,
    filter: Filter | None = None,
    q: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> SitePage:
    """Rows of a scope, filtered (not ready / offline / below half of expected) and searched
    without diacritics, in tree order."""
    key = search_key(q) if q else ""
    rows = []
    for s in board.scope_sites(root):
        if filter == "not_ready" and (s.ready or not s.participating):
            continue
        if filter == "offline" and (s.online or not s.participating):
            continue
        if filter == "below_half" and not (s.expected > 0 and 2 * s.present < s.expected):
            continue
        if key and key not in s.name_key:
            continue
        rows.append(s)
    offset, limit = max(0, offset), max(1, min(limit, 500))
    page = rows[offset : offset + limit]
    return SitePage(total=len(rows), offset=offset, limit=limit,
                    rows=[s.rollup_row() if s.children else s.row() for s in page])


def dashboard_sites(
    db: Session,
    *,
    conference_id: int,
    actor: User,
    session_id: int | None = None,
    under_id: int | None = None,
    filter: Filter | None = None,
    q: str | None = None,
    offset: int = 0,
    limit: int = 100,
    board: Board | None = None,
) -> SitePage:
    """A page of rows for the dashboard table (from the live board when given)."""
    scope = resolve_scope(db, conference_id=conference_id, actor=actor, session_id=session_id,
                          under_id=under_id)
    if board is None:
        board, _ = load_board(db, conference_id=conference_id, session_key=scope.session_key)
    return filter_rows(board, root=scope.root, filter=filter, q=q, offset=offset, limit=limit)


# ---------------------------------------------------------------- coalescing


def _encode(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


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
        self._held: list[str | bytes] | None = []
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
        for channel in (
            checkin_events.attendance_channel(self.conference_id),
            endpoints_events.presence_channel(self.conference_id),
            endpoints_events.readiness_channel(self.conference_id),
        ):
            self._attachments.append(
                await self.hub.attach(channel, self._on_message, on_resync=self._on_resync,
                                      max_pending=1_000_000)
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
        self._recent, self._recent_until = recent, time.monotonic() + _RECENT_SECONDS
        held, self._held = self._held or [], None
        for message in held:
            self._apply(message)
        board.dirty.clear()

    def _read_board(self) -> tuple[Board, set[int]]:
        with Session(self.engine) as db:
            return load_board(db, conference_id=self.conference_id, session_key=self.session_key)

    # -- messages ---------------------------------------------------------------

    def _on_message(self, message: str | bytes) -> None:
        self.messages_in += 1
        if self._held is not None:
            self._held.append(message)
            return
        self._apply(message)

    def _on_resync(self) -> None:
        self._reload_due = True

    def _apply(self, message: str | bytes) -> None:
        board = self.board
        if board is None:
            return
        try:
            body = json.loads(message)
            kind = body.get("type")
            if kind == "presence":
                for site_id, online in body["changes"]:
                    board.set_online(int(site_id), bool(online))
            elif kind == "site":
                board.set_site(int(body["site_id"]), readiness=str(body["readiness"]),
                               expected=int(body["expected"]), name=str(body["name"]))
                if body.get("incident"):
                    board.note_incident(body["incident"])
            elif kind in ("checkin", "headcount"):
                session_key = body.get("session_id") or CONFERENCE_LEVEL
                if session_key != self.session_key:
                    return
                if kind == "headcount":
                    board.set_headcount(int(body["site_id"]), int(body["total"]))
                    return
                if self._recent and time.monotonic() > self._recent_until:
                    self._recent = set()
                if self._recent and int(body["attendee_id"]) in self._recent:
                    self._recent.discard(int(body["attendee_id"]))  # counted by the load
                    return
                board.checked_in(int(body["site_id"]))
                minute = _minute(datetime.fromisoformat(body["at"]))
                site = board.sites.get(int(body["site_id"]))
                for feed in self._feeds.values():
                    if site is not None and board.in_scope(site, feed.scope.root):
                        feed.arrivals[minute] += 1
                        feed.dirty_minutes.add(minute)
        except (ValueError, KeyError, TypeError):
            log.warning("dashboard: ignoring malformed message %r", message[:200])
        if board.unknown_site:
            self._reload_due = True

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
            return load_arrivals(db, conference_id=self.conference_id,
                                 session_key=self.session_key, root_path=_scope_path(db, root))

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
        incidents_dirty = board.incidents_dirty
        board.dirty = set()
        board.incidents_dirty = False
        sent = 0
        for feed in self._feeds.values():
            message = self._update(board, feed, dirty, incidents_dirty)
            if message is None:
                continue
            sent += 1
            for sink in list(feed.sinks):
                sink.put(message)
        self.flushes += 1
        return sent

    def _update(
        self, board: Board, feed: _ScopeFeed, dirty: list[SiteState], incidents_dirty: bool
    ) -> str | None:
        root = feed.scope.root
        changed = [s for s in dirty if board.in_scope(s, root)]
        minutes, feed.dirty_minutes = feed.dirty_minutes, set()
        incidents = incidents_dirty and bool(board.incidents_for(root))
        if not changed and not minutes and not incidents:
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
            "rollups": [g.rollup_row() for g in sorted(groups.values(), key=lambda g: g.path)],
            "arrivals_tail": [[m, feed.arrivals[m]] for m in sorted(minutes)],
            "refresh": len(changed) > UPDATE_ROWS,
        }
        if incidents:
            body["incidents"] = board.incidents_for(root)
        return _encode(body)


class Dashboards:
    """The coalescers of this process, made on first use, dropped when idle."""

    def __init__(self, *, hub: Hub, engine: Engine, interval: float) -> None:
        self.hub = hub
        self.engine = engine
        self.interval = interval
        self._coalescers: dict[tuple[int, int], Coalescer] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin dropping idle coalescers in the background."""
        self._task = asyncio.create_task(self._reap(), name="dashboard-reaper")

    async def stop(self) -> None:
        """Stop every coalescer."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for coalescer in list(self._coalescers.values()):
            await coalescer.stop()
        self._coalescers.clear()

    def running(self, conference_id: int, session_key: int) -> Coalescer | None:
        """The live coalescer of a conference and session, if any."""
        return self._coalescers.get((conference_id, session_key))

    async def get(self, conference_id: int, session_key: int) -> Coalescer:
        """The coalescer of a conference and session, started on first use."""
        key = (conference_id, session_key)
        coalescer = self._coalescers.get(key)
        if coalescer is not None:
            return coalescer
        async with self._lock:
            coalescer = self._coalescers.get(key)
            if coalescer is None:
                coalescer = Coalescer(hub=self.hub, engine=self.engine,
                                      conference_id=conference_id, session_key=session_key,
                                      interval=self.interval)
                await coalescer.start()
                self._coalescers[key] = coalescer
        return coalescer

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(_IDLE_SECONDS / 2)
            now = time.monotonic()
            for key, c in list(self._coalescers.items()):
                if c.idle_since is not None and now - c.idle_since > _IDLE_SECONDS:
                    del self._coalescers[key]
                    await c.stop()
