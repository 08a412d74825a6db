"""Frequent events summarised per batch: check-ins, refused scans, views of personal data.

One audit row per scan would put a hash-chain append (and on PostgreSQL the chain's lock)
on every check-in. Instead the hot path only counts: `note` bumps a counter in this
process under a lock (no I/O), keyed by what an auditor asks (action, object, actor and
role, address, conference, site, and a few details such as session and method), with the
first and last time. `SpoolFlusher` writes every `interval` seconds one chained entry per
key, scans folded into one per action and conference (FOLDED), in one transaction, and
once more at shutdown; a failed flush gives the
batch back to be written next time. Counted events lost in a crash are at most one
interval's worth, and the rows they describe (attendance) keep their own times and actors.

The memory is bounded: past MAX_KEYS distinct keys new events are counted without their
address and details (an anonymous self check-in's address is the one thing a flood
controls).
"""

import asyncio
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from app.audit import chain
from app.audit.context import Actor, current_actor
from app.db import PerPool
from app.flusher import Flusher

MAX_KEYS = 10_000

# (action, object_type, object_id, actor_id, actor_name, role, address, conference_id,
#  site_id, details as sorted (name, value) pairs)
Key = tuple[str, str, str | None, int | None, str | None, str, str | None, int | None,
            int | None, tuple[tuple[str, Any], ...]]


@dataclass
class Tally:
    """What one key counted since the last flush."""

    first_at: datetime
    last_at: datetime
    count: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    def merge(self, other: "Tally") -> None:
        """Add another tally of the same key (a batch given back)."""
        self.first_at = min(self.first_at, other.first_at)
        self.last_at = max(self.last_at, other.last_at)
        self.count += other.count
        self.outcomes.update(other.outcomes)


class Spool:
    """The events of one database counted and not yet written, in this process."""

    def __init__(self) -> None:
        self._tallies: dict[Key, Tally] = {}
        self._lock = threading.Lock()

    def note(self, *, action: str, object_type: str, object_id: str | int | None = None,
             conference_id: int | None = None, site_id: int | None = None,
             outcome: str | None = None, details: tuple[tuple[str, Any], ...] = (),
             actor: Actor | None = None) -> None:
        """Count one event of `actor`, by default the current one (no database work)."""
        actor = actor or current_actor()
        now = datetime.now(UTC)
        key: Key = (action, object_type, None if object_id is None else str(object_id),
                    actor.user_id, actor.username, actor.role, actor.address,
                    conference_id, site_id, details)
        with self._lock:
            tally = self._tallies.get(key)
            if tally is None:
                if len(self._tallies) >= MAX_KEYS:
                    key = (*key[:6], None, conference_id, site_id, ())
                    tally = self._tallies.get(key)
                if tally is None:
                    tally = self._tallies[key] = Tally(first_at=now, last_at=now)
            tally.last_at = now
            tally.count += 1
            if outcome is not None:
                tally.outcomes[outcome] += 1

    def pending(self) -> int:
        """Events counted and not yet written."""
        with self._lock:
            return sum(t.count for t in self._tallies.values())

    def take(self) -> dict[Key, Tally]:
        """Everything counted so far; the spool starts again from empty."""
        with self._lock:
            batch, self._tallies = self._tallies, {}
        return batch

    def give_back(self, batch: dict[Key, Tally]) -> None:
        """A batch that could not be written: counted again for the next flush."""
        with self._lock:
            for key, tally in batch.items():
                mine = self._tallies.get(key)
                if mine is None:
                    self._tallies[key] = tally
                else:
                    mine.merge(tally)


#: The spool of a database (per connection pool: read and write engines share it).
spool_for: PerPool[Spool] = PerPool(Spool)


def _iso(at: datetime) -> str:
    return at.replace(tzinfo=None).isoformat(timespec="seconds")


def entry_of(key: Key, tally: Tally) -> dict[str, Any]:
    """The chained entry that summarises one key's events."""
    (action, object_type, object_id, actor_id, actor_name, role, address,
     conference_id, site_id, details) = key
    detail: dict[str, Any] = {"count": tally.count, "first_at": _iso(tally.first_at),
                              "last_at": _iso(tally.last_at), **dict(details)}
    if tally.outcomes:
        detail["outcomes"] = dict(sorted(tally.outcomes.items()))
    return {
        "at": tally.last_at, "actor_id": actor_id, "actor_name": actor_name, "role": role,
        "address": address, "action": action, "object_type": object_type,
        "object_id": object_id, "conference_id": conference_id, "site_id": site_id,
        "before": None, "after": None, "detail": detail,
    }


# Scans come from every site at once (a national check-in: hundreds of scanning accounts
# in one flush): their keys are folded into one entry per action and conference, the
# breakdown by actor, site and detail in `detail["by"]`, so a flush appends a handful of
# entries instead of one per scanning account (which held the write gate for tens of ms).
FOLDED = frozenset({"checkin.batch", "checkout.batch", "floor.ask", "form.answer"})


def folded_entry(items: list[tuple[Key, Tally]]) -> dict[str, Any]:
    """One entry for several keys of the same action and conference."""
    if len(items) == 1:
        return entry_of(*items[0])
    total = Tally(first_at=items[0][1].first_at, last_at=items[0][1].last_at)
    by = []
    for key, tally in items:
        total.merge(tally)
        (_, _, _, actor_id, actor_name, role, address, _, site_id, details) = key
        row = {"actor_id": actor_id, "actor_name": actor_name, "role": role,
               "address": address, "site_id": site_id, **dict(details), "count": tally.count}
        if tally.outcomes:
            row["outcomes"] = dict(sorted(tally.outcomes.items()))
        by.append(row)
    first = items[0][0]
    actors = {k[3:7] for k, _ in items}
    sites = {k[8] for k, _ in items}
    one_actor = next(iter(actors)) if len(actors) == 1 else (None, None, "several", None)
    whole: Key = (first[0], first[1], first[2], *one_actor, first[7],
                  next(iter(sites)) if len(sites) == 1 else None, ())
    entry = entry_of(whole, total)
    entry["detail"]["by"] = by
    return entry


def entries_of(batch: dict[Key, Tally]) -> list[dict[str, Any]]:
    """The chained entries of a flush, oldest first (the log reads in time order)."""
    entries: list[dict[str, Any]] = []
    folded: dict[tuple[str, str, int | None], list[tuple[Key, Tally]]] = {}
    for key, tally in sorted(batch.items(), key=lambda item: item[1].last_at):
        if key[0] in FOLDED:
            folded.setdefault((key[0], key[1], key[7]), []).append((key, tally))
        else:
            entries.append(entry_of(key, tally))
    entries.extend(folded_entry(items) for items in folded.values())
    return sorted(entries, key=lambda e: e["at"])


def flush(engine: Engine) -> int:
    """Write the pending events of a database in one transaction (see FOLDED); how many
    events the entries count."""
    spool = spool_for(engine)
    batch = spool.take()
    if not batch:
        return 0
    try:
        with engine.begin() as conn:
            chain.append(conn, entries_of(batch))
    except Exception:
        spool.give_back(batch)
        raise
    return sum(t.count for t in batch.values())


class SpoolFlusher(Flusher):
    """Flushes the spool every `interval` seconds, and once more at stop (the app runs
    it through its write gate: on SQLite the flush takes its turn with the scans)."""

    def __init__(self, engine: Engine, *, interval: float = 5.0,
                 run: Callable[..., Awaitable[Any]] = asyncio.to_thread) -> None:
        super().__init__(flush, engine, interval=interval, name="audit-spool-flush", run=run)


def viewed(db: Any, *, what: str, object_id: str | int | None = None,
           conference_id: int | None = None, site_id: int | None = None,
           **details: Any) -> None:
    """Count a view of personal data by the current actor (`what`: the object type shown,
    e.g. "attendee_list"); written with the next flush as one "view" entry per actor,
    object, conference and site. `details` name the view's kind, never what was typed."""
    spool_for(db.get_bind()).note(
        action="view", object_type=what, object_id=object_id, conference_id=conference_id,
        site_id=site_id, details=tuple(sorted(details.items())),
    )
