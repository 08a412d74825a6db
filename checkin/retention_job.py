"""The daily retention job inside the service: purge the conferences that are due.

It runs once shortly after start-up, then every day at `DIEMCAU_PURGE_HOUR` (Vietnam's
local time); -1 turns it off (`diemcau purge` still works). With several workers or
hosts on PostgreSQL, one process purges at a time (a session advisory lock, tried, not
waited for: the others skip that run); on SQLite the write lock already makes them take
turns. A purge is idempotent, so a second run finds nothing due. It logs counts only,
never a name.
"""

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.audit.context import Actor, set_actor
from app.db import LOCAL_TZ, local_today
from app.errors import AppError
from checkin import retention
from checkin.retention_models import PurgeReport

log = logging.getLogger(__name__)

# pg_try_advisory_lock key of the purge ("purge" in ASCII).
LOCK_KEY = 0x7075726765
# The first run waits this long after start-up: the service is serving by then.
START_DELAY_SECONDS = 30.0


@contextmanager
def _turn(engine: Engine) -> Iterator[bool]:
    """True when this process may purge now (always on SQLite; on PostgreSQL, when no
    other process holds the purge lock)."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as conn:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY})
                   .scalar_one())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                conn.commit()


def purge_due(engine: Engine, *, today: date | None = None) -> list[PurgeReport]:
    """Purge every conference due on `today` (default: Vietnam's today); the reports."""
    today = today or local_today()
    set_actor(Actor(role="system", username="retention"))
    done: list[PurgeReport] = []
    with _turn(engine) as mine:
        if not mine:
            log.info("retention purge: another process is purging; skipped")
            return done
        with Session(engine, expire_on_commit=False) as db:
            due = [int(c.id) for c in retention.due_conferences(db, today=today)
                   if c.id is not None]
            db.rollback()
            for conference_id in due:
                try:
                    report = retention.purge(db, conference_id=conference_id, today=today)
                except AppError as exc:  # purged meanwhile by a `diemcau purge`
                    db.rollback()
                    log.info("retention purge: conference %s skipped (%s)", conference_id,
                             exc.code)
                    continue
                done.append(report)
                log.info(
                    "retention purge: conference %s, %s attendees anonymised, %s phones "
                    "dropped, %s failed scans cleared", conference_id, report.attendees,
                    report.phones, report.failed_scans,
                )
    return done


def seconds_until(hour: int, *, now: datetime) -> float:
    """Seconds from `now` to the next `hour`:00 local time (tomorrow's if it has passed)."""
    local = now.astimezone(LOCAL_TZ)
    target = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target <= local:
        target = (target + timedelta(days=1)).replace(hour=hour)
    return max(0.0, (target - local).total_seconds())


class RetentionJob:
    """Runs `purge_due` after start-up, then daily at `hour` local time (-1: never)."""

    def __init__(self, engine: Engine, *, hour: int, start_delay: float | None = None) -> None:
        self._engine = engine
        self._hour = hour
        self._start_delay = START_DELAY_SECONDS if start_delay is None else start_delay
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin in the background (nothing when turned off)."""
        if self._hour >= 0:
            self._task = asyncio.create_task(self._run(), name="retention-purge")

    async def stop(self) -> None:
        """Stop waiting; a purge under way is cut at its next await (chunks are committed,
        the next run finishes it)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = self._start_delay
        while True:
            await asyncio.sleep(delay)
            try:
                await run_in_threadpool(purge_due, self._engine)
            except Exception:
                # A locked or unreachable database must not end the daily job for good.
                log.exception("retention purge failed; will retry at the next run")
            delay = seconds_until(self._hour, now=datetime.now(LOCAL_TZ))
