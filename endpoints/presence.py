"""Screen heartbeats and site presence.

Heartbeats are noted in memory on every beat and written in one batch every few
seconds: writing each would be 5,000 screens / 15 s ≈ 330 writes per second on the
embedded SQLite; a batch per flush interval is one short transaction instead.

A site is online while at least one of its screens was seen within the timeout. A
ticker compares that with the stored state (`site_presence`) every few seconds,
records each transition (`site_presence_event`) and publishes it. The stored state
only changes through conditional UPDATEs (`WHERE online = <old>`), so two processes
ticking at once record each transition once.
"""

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from app.accounts.models import User
from app.db import LOCAL_TZ, read_only, utcnow
from app.realtime import Publish
from endpoints import events, screens
from endpoints import service as registry
from endpoints.models import Conference, Participation
from endpoints.screen_models import ScreenDevice, SitePresence, SitePresenceEvent

_CHUNK = 500
# A screen that just connected is written (and the ticker run) this soon after, so it
# shows online at once; the connections of one burst share the write.
CONNECT_FLUSH_SECONDS = 0.3

log = logging.getLogger(__name__)


class Closable(Protocol):
    """What presence needs of a socket: a way to close it."""

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class Presence:
    """Collects heartbeats of the screens connected to this process and flushes them."""

    def __init__(self, engine: Engine, *, interval: float = 10.0) -> None:
        self._engine = engine
        self._interval = interval
        self._pending: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self._soon: asyncio.Task[None] | None = None
        self._after_connect: Callable[[], Awaitable[object]] | None = None
        # Open sockets per screen, so a revoked screen can be cut off at the next flush.
        self._sockets: dict[int, set[Closable]] = {}

    def seen(self, screen_id: int) -> None:
        """Note a heartbeat of a screen."""
        self._pending.add(screen_id)

    def connected(self, screen_id: int, socket: "Closable") -> None:
        """A screen opened a socket: it counts as seen now, and is written soon (not at
        the next flush: the site page would show it offline meanwhile)."""
        self._sockets.setdefault(screen_id, set()).add(socket)
        self._pending.add(screen_id)
        if self._soon is None:
            with contextlib.suppress(RuntimeError):  # no running loop: the next flush
                self._soon = asyncio.get_running_loop().create_task(
                    self._flush_connected(), name="presence-connect"
                )

    def after_connect(self, callback: Callable[[], Awaitable[object]]) -> None:
        """Run `callback` (the presence ticker's tick) once a new connection is written,
        so the site turns online on the dashboard at once too."""
        self._after_connect = callback

    async def _flush_connected(self) -> None:
        await asyncio.sleep(CONNECT_FLUSH_SECONDS)
        self._soon = None  # a connection from now on asks for another write
        try:
            await self.flush()
            if self._after_connect is not None:
                await self._after_connect()
        except Exception:
            log.exception("presence write after a connection failed; the next flush retries")

    def disconnected(self, screen_id: int, socket: "Closable") -> None:
        """A screen's socket closed."""
        sockets = self._sockets.get(screen_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[screen_id]

    def connected_screens(self) -> int:
        """Screens with an open socket to this process."""
        return len(self._sockets)

    async def start(self) -> None:
        """Begin flushing in the background."""
        self._task = asyncio.create_task(self._run(), name="presence-flush")

    async def stop(self) -> None:
        """Flush what is pending and stop."""
        if self._soon is not None:
            self._soon.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._soon
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def flush(self) -> int:
        """Write the pending heartbeats now; returns how many screens were written."""
        if not self._pending:
            return 0
        batch, self._pending = self._pending, set()
        try:
            revoked = await run_in_threadpool(self._write, batch)
        except Exception:
            self._pending |= batch  # keep them for the next try
            raise
        for screen_id in revoked:
            for socket in list(self._sockets.get(screen_id, ())):
                with contextlib.suppress(Exception):
                    await socket.close(code=4401, reason="revoked")
        return len(batch)

    def _write(self, batch: set[int]) -> set[int]:
        with Session(self._engine) as db:
            return screens.mark_seen(db, screen_ids=batch)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.flush()
            except Exception:
                # A locked or unreachable database must not end presence for good.
                log.exception("presence flush failed; will retry")


# ------------------------------------------------------------------ transitions


def _live_sites(db: Session, since: datetime) -> set[int]:
    """Every site with a screen seen after `since` (screens belong to a site, not a
    conference)."""
    rows = db.execute(
        sa_select(col(ScreenDevice.site_id))
        .where(col(ScreenDevice.revoked).is_(False), col(ScreenDevice.last_seen_at) > since)
        .distinct()
    ).all()
    return {int(r[0]) for r in rows}


def _ensure_rows(db: Session, site_ids: Sequence[int], now: datetime) -> None:
    values = [{"site_id": s, "online": False, "changed_at": now} for s in site_ids]
    dialect = db.get_bind().dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(SitePresence).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(SitePresence).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported databases
        stmt = insert(SitePresence)
    for start in range(0, len(values), _CHUNK):
        db.execute(stmt, values[start : start + _CHUNK])


def _flip(db: Session, site_ids: Sequence[int], online: bool, now: datetime) -> list[int]:
    """Set `online` where it differs; returns the ids of the sites changed."""
    changed: list[int] = []
    for start in range(0, len(site_ids), _CHUNK):
        chunk = site_ids[start : start + _CHUNK]
        result = db.execute(
            update(SitePresence)
            .where(col(SitePresence.site_id).in_(chunk), col(SitePresence.online).is_(not online))
            .values(online=online, changed_at=now)
            .returning(col(SitePresence.site_id))
        )
        changed.extend(int(r[0]) for r in result.all())
    return changed


def _live_conferences(db: Session, site_ids: Sequence[int], today: date) -> dict[int, list[int]]:
    """site_id → the conferences live today that it takes part in, latest start first."""
    found: dict[int, list[int]] = defaultdict(list)
    for start in range(0, len(site_ids), _CHUNK):
        rows = db.execute(
            sa_select(col(Participation.site_id), col(Conference.id))
            .join(Conference, col(Conference.id) == col(Participation.conference_id))
            .where(col(Participation.site_id).in_(site_ids[start : start + _CHUNK]),
                   col(Conference.starts_on) <= today, col(Conference.ends_on) >= today)
            .order_by(col(Conference.starts_on).desc(), col(Conference.id).desc())
        ).all()
        for site_id, conference_id in rows:
            found[int(site_id)].append(int(conference_id))
    return found


def _diff(db: Session, timeout_seconds: float, now: datetime) -> tuple[list[int], list[int]]:
    live = _live_sites(db, now - timedelta(seconds=timeout_seconds))
    stored_online = {
        int(r[0])
        for r in db.execute(
            sa_select(col(SitePresence.site_id)).where(col(SitePresence.online).is_(True))
        ).all()
    }
    return sorted(live - stored_online), sorted(stored_online - live)


def transitions_due(db: Session, *, timeout_seconds: float, now: datetime) -> bool:
    """True when some site's stored presence is out of date (a read: no write lock taken)."""
    went_on, went_off = _diff(db, timeout_seconds, now)
    db.rollback()
    return bool(went_on or went_off)


def record_transitions(
    db: Session, *, timeout_seconds: float, now: datetime | None = None
) -> dict[int, list[tuple[int, bool]]]:
    """Bring stored presence in line with screen heartbeats; returns the changes per
    conference live today at the changed sites (a site between conferences changes
    without telling any conference)."""
    now = now or utcnow()
    went_on, went_off = _diff(db, timeout_seconds, now)
    if not went_on and not went_off:
        db.rollback()
        return {}
    _ensure_rows(db, went_on, now)
    flipped = [(site_id, online)
               for site_ids, online in ((went_on, True), (went_off, False))
               for site_id in _flip(db, site_ids, online, now)]
    live = _live_conferences(db, [s for s, _ in flipped], now.astimezone(LOCAL_TZ).date())
    changes: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for site_id, online in flipped:
        for conference_id in live.get(site_id, []):
            changes[conference_id].append((site_id, online))
    # One event per transition of the site, naming the conference live there then.
    rows = [
        {"conference_id": next(iter(live.get(s, [])), None), "site_id": s, "online": on,
         "at": now}
        for s, on in flipped
    ]
    for start in range(0, len(rows), _CHUNK):
        db.execute(insert(SitePresenceEvent), rows[start : start + _CHUNK])
    db.commit()
    return dict(changes)


def publish_transitions(
    changes: dict[int, list[tuple[int, bool]]], *, publish: Publish, at: datetime
) -> None:
    """One message per conference with every site that changed."""
    for conference_id, items in changes.items():
        publish(
            events.presence_channel(conference_id),
            events.encode_presence(conference_id=conference_id, changes=items, at=at),
        )


def online_sites(db: Session, *, conference_id: int) -> set[int]:
    """Sites of a conference stored as online."""
    return registry.online_sites(db, conference_id=conference_id)


def presence_history(
    db: Session, *, site_id: int, actor: User, limit: int = 100
) -> Sequence[SitePresenceEvent]:
    """Transitions of a site in the actor's scope, newest first."""
    registry.get_site(db, site_id=site_id, actor=actor)
    return db.exec(
        select(SitePresenceEvent)
        .where(SitePresenceEvent.site_id == site_id)
        .order_by(col(SitePresenceEvent.id).desc())
        .limit(max(1, min(limit, 1000)))
    ).all()


class PresenceTicker:
    """Background task: record presence transitions every tick and publish them."""

    def __init__(
        self, engine: Engine, *, publish: Publish, timeout: float, interval: float
    ) -> None:
        self._engine = engine
        self._publish = publish
        self._timeout = timeout
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin ticking in the background."""
        self._task = asyncio.create_task(self._run(), name="presence-ticker")

    async def stop(self) -> None:
        """Stop ticking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def tick(self) -> dict[int, list[tuple[int, bool]]]:
        """Record and publish the transitions due now."""
        now = utcnow()
        changes = await run_in_threadpool(self._record, now)
        publish_transitions(changes, publish=self._publish, at=now)
        return changes

    def _record(self, now: datetime) -> dict[int, list[tuple[int, bool]]]:
        # Look first without the write lock: most ticks change nothing, and on SQLite
        # a write transaction every few seconds would queue behind (and delay) check-ins.
        with Session(read_only(self._engine)) as db:
            if not transitions_due(db, timeout_seconds=self._timeout, now=now):
                return {}
        with Session(self._engine) as db:
            return record_transitions(db, timeout_seconds=self._timeout, now=now)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.tick()
            except Exception:
                log.exception("presence tick failed; will retry")
