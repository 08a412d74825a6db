"""What bench/offline.py checks after the islands synced: answers, rows, totals, dashboard.

Every island attendee must be recorded once, at the time the desk wrote (the session's
row and the conference-level row alike), every repeat answered "already" with the first
time, nothing refused, the totals exact, a replay of a queue give the same answers and
nothing new, and a dashboard that watched it all show the same totals, each synced
check-in in the minute it was scanned, and each island's return.
"""

import asyncio
import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import websockets

from bench.offline_world import Queue, World

#: A time read back may differ from the one sent by rounding to the microsecond.
TOLERANCE_SECONDS = 0.001


def _same_time(a: datetime, b: datetime) -> bool:
    return abs((a - b).total_seconds()) <= TOLERANCE_SECONDS


def answers(queue: Queue, results: list[dict[str, Any]]) -> dict[str, int]:
    """Compare one island's answers with its queue; counts by outcome and the mismatches."""
    by_nonce = {r["nonce"]: r for r in results}
    seen: set[int] = set()
    out: Counter[str] = Counter()
    for item in queue.items:
        result = by_nonce.get(item["nonce"])
        if result is None:
            out["missing"] += 1
            continue
        out[f"{item['kind']}_{result['outcome']}"] += 1
        if item["kind"] != "scan" or result["outcome"] == "refused":
            continue
        attendee = int((result.get("attendee") or {}).get("id") or 0)
        first = queue.first.get(attendee)
        want = "already" if attendee in seen else "accepted"
        if first is None or result["outcome"] != want or not _same_time(
                datetime.fromisoformat(result["at"]), first):
            out["wrong"] += 1
        seen.add(attendee)
    return dict(out)


def replay_differs(first: list[dict[str, Any]], again: list[dict[str, Any]]) -> int:
    """How many answers of a replayed queue differ from the first time's."""
    keys = ("nonce", "kind", "outcome", "status", "code", "at")

    def norm(r: dict[str, Any]) -> tuple[Any, ...]:
        at = datetime.fromisoformat(r["at"]).astimezone(UTC) if r.get("at") else None
        return tuple(at if k == "at" else r.get(k) for k in keys)

    return len(first) - sum(norm(a) == norm(b) for a, b in zip(first, again, strict=False)) + abs(
        len(first) - len(again))


def rows(db_url: str, world: World) -> dict[int, dict[int, datetime]]:
    """The attendance rows of the island sites: session key → attendee → checked_in_at."""
    from sqlalchemy import select as sa_select
    from sqlmodel import Session, col

    from app.db import create_db_engine
    from checkin.models import Attendance

    engine = create_db_engine(db_url, pool_size=1)
    out: dict[int, dict[int, datetime]] = {}
    counts: Counter[tuple[int, int]] = Counter()
    with Session(engine) as db:
        for attendee, key, at in db.execute(sa_select(
                col(Attendance.attendee_id), col(Attendance.session_key),
                col(Attendance.checked_in_at))
                .where(col(Attendance.conference_id) == world.conference_id,
                       col(Attendance.site_id).in_([i.site_id for i in world.islands]))).all():
            out.setdefault(int(key), {})[int(attendee)] = at
            counts[(int(key), int(attendee))] += 1
    engine.dispose()
    assert max(counts.values(), default=1) == 1, "an attendee recorded twice"
    return out


def recorded(by_key: dict[int, datetime], queues: list[Queue]) -> dict[str, int]:
    """Island attendees recorded once with their original time, missing, or at another time."""
    out: Counter[str] = Counter()
    for queue in queues:
        for attendee, first in queue.first.items():
            at = by_key.get(attendee)
            out["missing" if at is None else "exact" if _same_time(at, first) else "moved"] += 1
    expected = {a for q in queues for a in q.first}
    out["unexpected"] = len(set(by_key) - expected)
    return dict(out)


def attendance_total(base: str, token: str, world: World, session: bool) -> int:
    """checked_in of GET …/attendance (the conference, or the island session)."""
    params = {"session_id": world.session_id} if session else {}
    r = httpx.get(f"{base}/api/v1/conferences/{world.conference_id}/attendance", params=params,
                  headers={"Authorization": f"Bearer {token}"}, timeout=30)
    r.raise_for_status()
    return int(r.json()["checked_in"])


class Watcher:
    """A /ws/dashboard of the whole conference, in a thread: totals, arrivals, syncs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.checked_in = -1
        self.arrivals: dict[str, int] = {}
        self.syncs: list[dict[str, Any]] = []
        self.messages = 0
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> "Watcher":
        self._thread.start()
        if not self.ready.wait(30):
            raise TimeoutError("the dashboard sent no snapshot")
        return self

    async def _run(self) -> None:
        async with websockets.connect(self.url, max_size=2**24) as ws:
            while not self._stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                self._apply(json.loads(raw))

    def _apply(self, msg: dict[str, Any]) -> None:
        self.messages += 1
        if msg.get("type") == "snapshot":
            self.arrivals = {m: n for m, n in msg["arrivals"]}
        for m, n in msg.get("arrivals_tail", []):
            self.arrivals[m] = n
        if "syncs" in msg:
            self.syncs = msg["syncs"]
        if "totals" in msg:
            self.checked_in = int(msg["totals"]["checked_in"])
        self.ready.set()

    def wait_for(self, checked_in: int, timeout: float) -> bool:
        """Until the dashboard shows `checked_in` (False after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.checked_in == checked_in:
                return True
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def arrivals_exact(watcher: Watcher, queues: list[Queue]) -> tuple[int, int]:
    """Minutes of the cut the dashboard counted exactly as scanned, out of all of them."""
    from checkin.board import local_minute

    want = Counter(local_minute(at) for q in queues for at in q.first.values())
    return sum(watcher.arrivals.get(m) == n for m, n in want.items()), len(want)
