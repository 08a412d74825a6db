"""The hub interface and the per-channel delivery loop every backend shares."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from app.realtime.sinks import Attachment, Channel, Sink, Subscription
from app.realtime.types import (
    DEFAULT_MAX_PENDING,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_SEND_TIMEOUT,
    FANOUT_CHUNK,
    DropCallback,
    Item,
    Message,
    ResyncCallback,
    Sender,
)

# One logger for the whole hub, named as before the package split.
logger = logging.getLogger("app.realtime")


class Hub(abc.ABC):
    """Channel pub/sub for one process; backends differ in how messages travel."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._running = False
        self._channels: dict[str, Channel] = {}
        self._background: set[asyncio.Future[Any]] = set()
        self.published = 0
        self.dropped = 0

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        """Bind to the running loop and start the backend."""
        if self._running:
            return
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._running = True
        await self._start_backend()

    async def stop(self) -> None:
        """Stop the backend; end every subscription and detach every sender."""
        if not self._running:
            return
        self._running = False
        await self._stop_backend()
        for channel in list(self._channels.values()):
            if channel.task is not None:
                channel.task.cancel()
            for sink in list(channel.sinks):
                # Iterators just end; senders get on_drop so sockets close.
                self._remove(sink, None if isinstance(sink, Subscription) else "hub stopped")
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    async def __aenter__(self) -> Hub:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- public API --------------------------------------------------------

    def publish(self, channel: str, message: Message) -> None:
        """Send ``message`` to every listener of ``channel``; never blocks.

        Safe from the event loop and from other threads. Raises RuntimeError
        before :meth:`start`; after :meth:`stop` the message is dropped.
        """
        if not isinstance(message, (bytes, str)):
            raise TypeError(f"message must be bytes or str, not {type(message).__name__}")
        loop = self._loop
        if loop is None:
            raise RuntimeError("Hub.publish() called before Hub.start()")
        if not self._running:
            return
        self.published += 1
        payload = self._encode(message)
        if threading.get_ident() == self._loop_thread:
            self._publish_on_loop(channel, message, payload)
        else:
            with contextlib.suppress(RuntimeError):  # loop closed: shutdown race
                loop.call_soon_threadsafe(self._publish_on_loop, channel, message, payload)

    def subscribe(self, channel: str, *, maxsize: int = DEFAULT_QUEUE_SIZE) -> Subscription:
        """Listen to ``channel`` through a bounded queue.

        Registered at once; ``async with`` also waits until the backend
        delivers (Redis confirmed the subscription).
        """
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        sub = Subscription(self, channel, maxsize)
        self._add(sub)
        return sub

    async def attach(
        self,
        channel: str,
        send: Sender,
        *,
        on_drop: DropCallback | None = None,
        on_resync: ResyncCallback | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
        send_timeout: float | None = DEFAULT_SEND_TIMEOUT,
    ) -> Attachment:
        """Deliver every message of ``channel`` by calling ``send(message)``.

        ``send`` may return None or an awaitable (``ws.send_text`` fits). A
        sender that raises, keeps more than ``max_pending`` messages waiting,
        or needs more than ``send_timeout`` seconds for one send is detached
        and ``on_drop(reason)`` is called: close the socket there. On
        :data:`RESYNC` ``on_resync()`` is called in order with the messages;
        without it the sender is dropped with reason "resync". Returns once
        the backend delivers on ``channel``.
        """
        if max_pending < 0:
            raise ValueError("max_pending must be >= 0")
        att = Attachment(self, channel, send, on_drop, on_resync, max_pending, send_timeout)
        self._add(att)
        await self._wait_ready(channel)
        return att

    def listeners(self, channel: str) -> int:
        """Local listeners of ``channel`` in this process."""
        ch = self._channels.get(channel)
        return 0 if ch is None else len(ch.sinks)

    # -- local fan-out -----------------------------------------------------

    def _loop_or_raise(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("Hub is not started")
        return self._loop

    def _add(self, sink: Sink) -> None:
        if not self._running:
            raise RuntimeError("Hub is not running")
        ch = self._channels.get(sink.channel)
        if ch is None:
            ch = self._channels[sink.channel] = Channel(sink.channel)
            self._channel_opened(sink.channel)
        ch.add(sink)

    def _remove(self, sink: Sink, reason: str | None) -> None:
        if sink.closed:
            return
        sink.closed = True
        sink.dropped_reason = reason
        ch = self._channels.get(sink.channel)
        if ch is not None:
            ch.discard(sink)
            self._maybe_close_channel(ch)
        sink._on_closed()

    def _drop(self, sink: Sink, reason: str) -> None:
        if not sink.closed:
            self.dropped += 1
            logger.info("dropping listener of %r: %s", sink.channel, reason)
        self._remove(sink, reason)

    def _maybe_close_channel(self, ch: Channel) -> None:
        if not ch.sinks and ch.task is None and self._channels.get(ch.name) is ch:
            del self._channels[ch.name]
            if self._running:
                self._channel_closed(ch.name)

    def _fanout(self, channel: str, item: Item) -> None:
        """Queue ``item`` for the local listeners of ``channel`` (on the loop)."""
        ch = self._channels.get(channel)
        if ch is None:
            return
        ch.pending.append(item)
        if ch.task is None:
            ch.task = self._loop_or_raise().create_task(self._run_channel(ch))

    async def _run_channel(self, ch: Channel) -> None:
        """The one task per channel: hand each item to every sink, in order."""
        try:
            while ch.pending:
                item = ch.pending.popleft()
                sinks = ch.snapshot()
                n = len(sinks)
                for start in range(0, n, FANOUT_CHUNK):
                    for sink in sinks[start : start + FANOUT_CHUNK]:
                        if not sink.closed:
                            sink._deliver(item)
                    if start + FANOUT_CHUNK < n:
                        await asyncio.sleep(0)
        finally:
            ch.task = None
            self._maybe_close_channel(ch)

    def _call_soon(self, fn: Callable[..., Awaitable[object] | None], *args: Any) -> None:
        """Run a user callback; if it returns an awaitable, run that as a task."""
        try:
            result = fn(*args)
        except Exception:
            logger.exception("realtime callback %r failed", fn)
            return
        if result is not None:
            task = asyncio.ensure_future(result, loop=self._loop_or_raise())
            self._background.add(task)
            task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Future[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("realtime callback failed: %r", task.exception())

    # -- backend hooks -----------------------------------------------------

    def _encode(self, message: Message) -> bytes | None:
        """Wire form for the backend, computed once in the caller's thread."""
        return None

    @abc.abstractmethod
    def _publish_on_loop(self, channel: str, message: Message, payload: bytes | None) -> None:
        """Publish on the event loop thread."""

    async def _start_backend(self) -> None:
        """Start connections and tasks."""
        return  # default: nothing to do

    async def _stop_backend(self) -> None:
        """Stop connections and tasks."""
        return  # default: nothing to do

    def _channel_opened(self, channel: str) -> None:
        """First local listener of ``channel`` arrived."""
        return  # default: nothing to do

    def _channel_closed(self, channel: str) -> None:
        """Last local listener of ``channel`` left."""
        return  # default: nothing to do

    async def _wait_ready(self, channel: str) -> None:
        """Return once messages published on ``channel`` reach this process."""
        return  # default: nothing to do
