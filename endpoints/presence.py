"""Screen heartbeats: noted in memory on every beat, written in one batch every few seconds.

Writing each heartbeat would be 5,000 screens / 15 s ≈ 330 writes per second on the
embedded SQLite; a batch per flush interval is one short transaction instead.
"""

import asyncio
import contextlib
import logging
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from endpoints import screens

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
        # Open sockets per screen, so a revoked screen can be cut off at the next flush.
        self._sockets: dict[int, set[Closable]] = {}

    def seen(self, screen_id: int) -> None:
        """Note a heartbeat of a screen."""
        self._pending.add(screen_id)

    def connected(self, screen_id: int, socket: "Closable") -> None:
        """A screen opened a socket: it counts as seen now."""
        self._sockets.setdefault(screen_id, set()).add(socket)
        self._pending.add(screen_id)

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
