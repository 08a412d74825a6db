"""Listeners of a channel: queued subscriptions, eager-send attachments, the channel's set."""

from __future__ import annotations

import abc
import asyncio
import logging
import types
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Generator
from typing import TYPE_CHECKING, Any

from app.realtime.types import (
    RESYNC,
    DropCallback,
    Item,
    ResyncCallback,
    Sender,
    SubscriberDropped,
)

if TYPE_CHECKING:
    from app.realtime.hub import Hub

# One logger for the whole hub, named as before the package split.
logger = logging.getLogger("app.realtime")


class _Resume:
    """Awaitable that finishes a coroutine already advanced by one step.

    The first ``coro.send(None)`` happened outside any task; what it yielded
    (a future, or None for a bare yield) is handed to the awaiting task as if
    the coroutine had been awaited from the start.
    """

    __slots__ = ("_coro", "_first")

    def __init__(self, coro: types.CoroutineType[Any, Any, Any], first: Any) -> None:
        self._coro = coro
        self._first = first

    def __await__(self) -> Generator[Any, None, None]:
        coro, value = self._coro, self._first
        while True:
            try:
                yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation/timeout goes into the send
                try:
                    value = coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    value = coro.send(None)
                except StopIteration:
                    return


class Sink(abc.ABC):
    """One local listener of one channel."""

    __slots__ = ("_hub", "channel", "closed", "dropped_reason")

    def __init__(self, hub: Hub, channel: str) -> None:
        self._hub = hub
        self.channel = channel
        self.closed = False
        self.dropped_reason: str | None = None

    @abc.abstractmethod
    def _deliver(self, item: Item) -> None:
        """Take one item without blocking; drop self via the hub if it cannot."""

    def _on_closed(self) -> None:
        """Hook run once when the sink leaves the hub."""
        return  # default: nothing to do


class Subscription(Sink):
    """Async iterator over one channel with a bounded queue.

    ``async with hub.subscribe(ch) as sub: async for msg in sub: ...``
    yields str/bytes messages and :data:`RESYNC`; raises
    :class:`SubscriberDropped` after a queue overflow; ends when closed or
    when the hub stops.
    """

    __slots__ = ("_queue", "_waiter", "maxsize")

    def __init__(self, hub: Hub, channel: str, maxsize: int) -> None:
        super().__init__(hub, channel)
        self.maxsize = maxsize
        self._queue: deque[Item] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def _deliver(self, item: Item) -> None:
        if len(self._queue) >= self.maxsize:
            self._hub._drop(self, "queue overflow")
            return
        self._queue.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _on_closed(self) -> None:
        if self.dropped_reason is not None:
            self._queue.clear()  # stale; the consumer must resync anyway
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def __aenter__(self) -> Subscription:
        await self._hub._wait_ready(self.channel)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def __aiter__(self) -> AsyncIterator[Item]:
        return self

    async def __anext__(self) -> Item:
        while True:
            if self.dropped_reason is not None:
                raise SubscriberDropped(self.dropped_reason)
            if self._queue:
                return self._queue.popleft()
            if self.closed:
                raise StopAsyncIteration
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None

    def qsize(self) -> int:
        """Messages waiting to be read."""
        return len(self._queue)

    def close(self) -> None:
        """Stop listening; pending messages are still readable."""
        self._hub._remove(self, None)


class Attachment(Sink):
    """A sender attached to a channel; see :meth:`Hub.attach`."""

    __slots__ = (
        "_backlog",
        "_closed_future",
        "_inflight",
        "max_pending",
        "on_drop",
        "on_resync",
        "send",
        "send_timeout",
    )

    def __init__(
        self,
        hub: Hub,
        channel: str,
        send: Sender,
        on_drop: DropCallback | None,
        on_resync: ResyncCallback | None,
        max_pending: int,
        send_timeout: float | None,
    ) -> None:
        super().__init__(hub, channel)
        self.send = send
        self.on_drop = on_drop
        self.on_resync = on_resync
        self.max_pending = max_pending
        self.send_timeout = send_timeout
        # Both made on first use: an empty deque alone is ~760 bytes, times every
        # connected client, and most senders never suspend nor get awaited.
        self._backlog: deque[Item] | None = None
        self._inflight: asyncio.Task[None] | None = None
        self._closed_future: asyncio.Future[str | None] | None = None

    def __enter__(self) -> Attachment:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.detach()

    def detach(self) -> None:
        """Stop sending to this sender (no ``on_drop`` call); idempotent."""
        self._hub._remove(self, None)

    async def wait_closed(self) -> str | None:
        """Wait until detached; return the drop reason, or None if detached."""
        if self.closed:
            return self.dropped_reason
        if self._closed_future is None:
            self._closed_future = self._hub._loop_or_raise().create_future()
        return await asyncio.shield(self._closed_future)

    def _call(self, item: Item) -> Awaitable[object] | None:
        if item is RESYNC:
            if self.on_resync is None:
                # Without a snapshot callback the only safe move is to close
                # the client: its reconnect logic fetches what it missed.
                self._hub._drop(self, "resync")
                return None
            return self.on_resync()
        return self.send(item)

    def _deliver(self, item: Item) -> None:
        if self._inflight is not None:
            backlog = self._backlog
            if backlog is None:
                backlog = self._backlog = deque()
            if len(backlog) >= self.max_pending:
                self._hub._drop(self, "too slow")
            else:
                backlog.append(item)
            return
        try:
            result = self._call(item)
            if result is None:
                return
            if type(result) is types.CoroutineType:
                # Eager start: most sends complete in this first step.
                try:
                    first = result.send(None)
                except StopIteration:
                    return
                awaitable: Awaitable[object] = _Resume(result, first)
            else:
                awaitable = result
        except Exception as exc:
            logger.debug("sender on %r failed: %r", self.channel, exc)
            self._hub._drop(self, f"send failed: {exc!r}")
            return
        if not self.closed:
            self._inflight = self._hub._loop_or_raise().create_task(self._finish(awaitable))

    async def _finish(self, first: Awaitable[object]) -> None:
        """Finish a suspended send, then the backlog, in order."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.send_timeout) as deadline:
                await first
                while self._backlog and not self.closed:
                    if self.send_timeout is not None:
                        deadline.reschedule(loop.time() + self.send_timeout)
                    result = self._call(self._backlog.popleft())
                    if result is not None:
                        await result
        except TimeoutError:
            self._hub._drop(self, "send timed out")
        except Exception as exc:
            self._hub._drop(self, f"send failed: {exc!r}")
        finally:
            self._inflight = None

    def _on_closed(self) -> None:
        self._backlog = None
        task = self._inflight
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        self._inflight = None
        future = self._closed_future
        if future is not None and not future.done():
            future.set_result(self.dropped_reason)
        if self.dropped_reason is not None and self.on_drop is not None:
            self._hub._call_soon(self.on_drop, self.dropped_reason)


class Channel:
    """Local listeners of one channel and the messages waiting for them."""

    __slots__ = ("_snapshot", "name", "pending", "sinks", "task")

    def __init__(self, name: str) -> None:
        self.name = name
        self.sinks: dict[Sink, None] = {}  # ordered set
        self.pending: deque[Item] = deque()
        self.task: asyncio.Task[None] | None = None
        self._snapshot: tuple[Sink, ...] | None = None

    def snapshot(self) -> tuple[Sink, ...]:
        # Cached: sinks change rarely compared to messages.
        snap = self._snapshot
        if snap is None:
            snap = self._snapshot = tuple(self.sinks)
        return snap

    def add(self, sink: Sink) -> None:
        self.sinks[sink] = None
        self._snapshot = None

    def discard(self, sink: Sink) -> None:
        if self.sinks.pop(sink, 0) is None:
            self._snapshot = None
