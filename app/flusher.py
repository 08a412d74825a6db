"""Writing what a hot path only counted: every few seconds, and once more at stop."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

log = logging.getLogger(__name__)


class Flusher:
    """Calls `flush(engine)` every `interval` seconds in a thread, and once more at stop.

    `run` is where the write runs (run it through the write gate's, so on SQLite the
    flush takes its turn with the check-ins instead of fighting them for the lock).
    """

    def __init__(
        self,
        flush: Callable[[Engine], int],
        engine: Engine,
        *,
        interval: float,
        name: str,
        run: Callable[..., Awaitable[Any]] = run_in_threadpool,
    ) -> None:
        self._flush = flush
        self._engine = engine
        self._interval = interval
        self._name = name
        self._run_in = run
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin flushing in the background."""
        self._task = asyncio.create_task(self._loop(), name=self._name)

    async def stop(self) -> None:
        """Write what is pending and stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self._run_in(self._flush, self._engine)
        except Exception:
            log.exception("%s: could not write what was counted at shutdown", self._name)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self._run_in(self._flush, self._engine)
            except Exception:
                # A locked or unreachable database must not end the counting for good.
                log.exception("%s failed; will retry", self._name)
