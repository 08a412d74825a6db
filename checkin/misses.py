"""Anonymous refused scans (self check-in) counted in memory and written in batches.

Every miss of the anonymous self check-in used to insert a `scan_failure` row under the
write lock: a guesser's flood became a flood of writes. A miss is now one counter bump
in this process (conference, site, session, reason and minute); a flusher writes the
counts every few seconds as rows of `scan_failure_count` (plain INSERTs: several
processes add up). The dashboard adds them to the failed-scan count. Staff scans, which
have an actor to answer for them, still keep one detailed `scan_failure` row each.

The memory is bounded: past MAX_KEYS distinct keys, new misses are counted at the
conference level (the session named by a caller is the one thing a guesser controls).
"""

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import PerPool, utcnow
from app.flusher import Flusher
from checkin import sites as checkin_sites
from checkin.models import CONFERENCE_LEVEL, ScanFailureCount

MAX_KEYS = 10_000


@dataclass(frozen=True)
class MissKey:
    """What a miss is counted by (the conference may be resolved at flush time)."""

    conference_id: int | None
    site_id: int
    session_id: int | None
    reason: str
    minute: datetime


class MissCounter:
    """The misses of one database not yet written, in this process."""

    def __init__(self) -> None:
        self._counts: Counter[MissKey] = Counter()
        self._lock = threading.Lock()

    def note(self, *, conference_id: int | None, site_id: int, session_id: int | None,
             reason: str, at: datetime | None = None) -> None:
        """Count one miss (no database work)."""
        minute = (at or utcnow()).replace(second=0, microsecond=0)
        key = MissKey(conference_id, site_id, session_id, reason[:40], minute)
        with self._lock:
            if key not in self._counts and len(self._counts) >= MAX_KEYS:
                key = MissKey(conference_id, site_id, None, key.reason, minute)
            self._counts[key] += 1

    def pending(self) -> int:
        """Misses counted and not yet written."""
        with self._lock:
            return sum(self._counts.values())

    def take(self) -> Counter[MissKey]:
        """Everything counted so far; the counter starts again from zero."""
        with self._lock:
            batch, self._counts = self._counts, Counter()
        return batch

    def give_back(self, batch: Counter[MissKey]) -> None:
        """A batch that could not be written: counted again for the next flush."""
        with self._lock:
            self._counts.update(batch)


#: The counter of a database (per connection pool, like the key ring).
counter_for: PerPool[MissCounter] = PerPool(MissCounter)


def _rows(db: Session, batch: Counter[MissKey]) -> list[dict[str, Any]]:
    conferences: dict[tuple[int, int | None], int | None] = {}
    rows = []
    for key, count in batch.items():
        conference_id = key.conference_id
        if conference_id is None:
            where = (key.site_id, key.session_id)
            if where not in conferences:
                conferences[where] = checkin_sites.known_conference(
                    db, site_id=key.site_id, session_id=key.session_id)
            conference_id = conferences[where]
        rows.append({"conference_id": conference_id, "site_id": key.site_id,
                     "session_key": key.session_id or CONFERENCE_LEVEL, "reason": key.reason,
                     "minute": key.minute, "count": count})
    return rows


def flush(engine: Engine) -> int:
    """Write the pending misses of a database in one transaction; how many were written."""
    counter = counter_for(engine)
    batch = counter.take()
    if not batch:
        return 0
    try:
        with Session(engine) as db:
            db.execute(insert(ScanFailureCount), _rows(db, batch))
            db.commit()
    except Exception:
        counter.give_back(batch)
        raise
    return sum(batch.values())


class MissFlusher(Flusher):
    """Flushes the counted misses every `interval` seconds, and once more at stop."""

    def __init__(self, engine: Engine, *, interval: float = 5.0) -> None:
        super().__init__(flush, engine, interval=interval, name="miss-flush")
