"""Group commit: the hot path's writes that queue while the write gate is busy go through
it together, in one hop and one transaction.

On SQLite one thread runs every write (`app.db.WriteGate`), so at 500 answers a second
each answer used to pay its own thread hop, BEGIN IMMEDIATE and COMMIT. Here the first
request of a quiet moment starts a drain task; every request that arrives while a batch is
in the gate waits in the queue and goes with the next batch. Nobody waits for a timer: a
lone request runs at once, a burst is taken up to `max_batch` at a time (the same idea as
PostgreSQL's and SQLite-WAL servers' group commit).

The batch function gets the items and returns one outcome per item, in order: a result,
or the exception that item alone raised. It owns the transaction: it must keep one item's
refusal from undoing the others (see `checkin.answer_batch`).
"""

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeAlias, TypeVar

I = TypeVar("I")  # noqa: E741 - the item, beside R the result
R = TypeVar("R")

#: A batch's outcome for one item: its result, or what it alone raised.
Outcome: TypeAlias = R | Exception

#: Answers taken in one hop at most: bounds one transaction's length (and so how long a
#: presenter's command may wait for the lock behind it) to tens of milliseconds.
MAX_BATCH = 64


@dataclass
class GroupCommit(Generic[I, R]):
    """Queue of one kind of write, drained in batches by `run(batch)` (one gate hop)."""

    run: Callable[[list[I]], Awaitable[list[Outcome[R]]]]
    max_batch: int = MAX_BATCH
    _queue: list[tuple[I, "asyncio.Future[R]"]] = field(default_factory=list)
    _draining: bool = False
    _task: "asyncio.Task[None] | None" = None  # held: the loop keeps only weak references
    batches: int = 0  # how many batches ran (tests and benches read it)

    async def submit(self, item: I) -> R:
        """Queue `item`, wait for its batch and return its result (or raise its error)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append((item, future))
        if not self._draining:
            self._draining = True
            # A context of its own: the batch serves many requests, it is none of them.
            self._task = loop.create_task(self._drain(), context=contextvars.Context())
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                await self._run_batch(batch)
        finally:
            self._draining = False

    async def _run_batch(self, batch: Sequence[tuple[I, "asyncio.Future[R]"]]) -> None:
        self.batches += 1
        try:
            outcomes = await self.run([item for item, _ in batch])
        except Exception as exc:  # the batch itself failed: every item hears it
            outcomes = [exc] * len(batch)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # the request went away (client closed): nobody to tell
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
