"""The dashboards of this process: one coalescer per conference and session.

Coalescers are made on first use and dropped when idle; the conferences running today
get theirs at application start (``start(conference_ids=...)`` in the lifespan), so
their channels are followed from the first message on.
"""

import asyncio
import contextlib
import time
from collections.abc import Iterable
from typing import Final

from sqlalchemy.engine import Engine

from app.realtime import Hub
from checkin.coalescer import Coalescer
from checkin.models import CONFERENCE_LEVEL

_IDLE_SECONDS: Final = 60.0


class Dashboards:
    """The coalescers of this process, made on first use, dropped when idle."""

    def __init__(self, *, hub: Hub, engine: Engine, interval: float) -> None:
        self.hub = hub
        self.engine = engine
        self.interval = interval
        self._coalescers: dict[tuple[int, int], Coalescer] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def start(self, *, conference_ids: Iterable[int] = ()) -> None:
        """Follow these conferences now (conference level), and drop idle coalescers."""
        for conference_id in conference_ids:
            await self.get(conference_id, CONFERENCE_LEVEL)
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
