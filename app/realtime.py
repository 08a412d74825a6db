"""Realtime hub: transport-only pub/sub for websockets; it knows no domain.

Backends, chosen by URL through :func:`create_hub`:

* ``memory://`` — in-process, for the embedded single-worker deployment.
* ``redis://…`` / ``rediss://…`` — Redis pub/sub for several workers or hosts.
  Each process holds ONE subscription connection (not one per websocket) and
  one publishing connection. After the subscription connection drops (Redis
  restart, ``CLIENT KILL``, network) the hub reconnects with backoff,
  resubscribes every channel it needs, and then delivers :data:`RESYNC` to
  the local listeners of each channel: pub/sub is at-most-once, so they may
  have missed messages and should send their clients a fresh snapshot.

Two ways to listen, both fed by the same per-channel delivery loop:

* :meth:`Hub.attach` registers a *sender* (e.g. ``ws.send_text``). This is the
  path for "N screens on one channel". For each message ONE task per channel
  and process walks the channel's senders and calls each in turn, like
  ``websockets.broadcast()``. A sender may be a plain callable or a coroutine
  function. A coroutine is started eagerly (``coro.send(None)``): a websocket
  send whose bytes fit into the transport buffer finishes in that first step,
  so the common case costs no task, no queue and no wake-up. Only a send that
  really suspends (the client's socket buffer is full) is finished in its own
  task; further messages for that sender wait in a small bounded backlog, and
  when the backlog overflows or a send takes longer than ``send_timeout`` the
  sender is detached and ``on_drop`` is called (close the socket there). A
  sender that raises is detached the same way. So a slow or dead client
  never delays the others, and nothing is ever awaited on the fan-out path.

  Why this design (measured; see bench/README.md "Fan-out"): one task per
  client per message, or a per-connection sender task woken by a queue, was
  6–7x slower than a plain send loop at 3k clients (FIELD-NOTES) and the
  task churn feeds the garbage collector. A plain ``await ws.send(m)`` loop is
  fast but lets one stuck client stall the whole channel. Eager start keeps
  the speed of the plain loop and the isolation of per-client tasks.

* :meth:`Hub.subscribe` gives an async iterator with a bounded queue, for
  consumers that do more than forward bytes (coalescing dashboards, tests).
  On overflow it raises :class:`SubscriberDropped` instead of blocking.

Messages are ``str`` or ``bytes``, encoded once by the publisher; every
listener receives the very same object. :meth:`Hub.publish` never blocks and
may be called from the event loop or from any thread (FastAPI runs sync
routes in a threadpool). Messages of one channel keep their publish order
for every listener. Call ``gc.freeze()`` after app start-up: with thousands
of connections full GC passes otherwise pause delivery for hundreds of ms.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import enum
import logging
import threading
import types
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

__all__ = [
    "RESYNC",
    "Attachment",
    "Hub",
    "Marker",
    "MemoryHub",
    "Message",
    "Publish",
    "RedisHub",
    "Resync",
    "Sender",
    "SubscriberDropped",
    "Subscription",
    "create_hub",
]

logger = logging.getLogger(__name__)

Message = bytes | str

#: What services take to announce a change after commit: `hub.publish(channel, text)`.
Publish = Callable[[str, str], None]


class Marker(enum.Enum):
    """Out-of-band markers delivered in the message stream."""

    RESYNC = "resync"


#: Delivered to listeners when messages may have been lost (after a Redis
#: reconnect): the stream layer should send a fresh snapshot.
RESYNC: Final = Marker.RESYNC
Resync = Literal[Marker.RESYNC]
Item = Message | Resync

#: A sender receives each message unchanged (str or bytes, as published) and
#: returns None or an awaitable (``ws.send_text`` fits).
Sender = Callable[[Any], Awaitable[object] | None]
DropCallback = Callable[[str], Awaitable[object] | None]
ResyncCallback = Callable[[], Awaitable[object] | None]

DEFAULT_QUEUE_SIZE: Final = 256
DEFAULT_MAX_PENDING: Final = 64
DEFAULT_SEND_TIMEOUT: Final = 10.0
# Senders handled between two yields to the event loop: keeps reads,
# pings and HTTP requests flowing during a large fan-out at a tiny cost.
FANOUT_CHUNK: Final = 512


class SubscriberDropped(Exception):
    """The subscriber fell behind (or could not send) and was removed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


class _Sink(abc.ABC):
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


class Subscription(_Sink):
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


class Attachment(_Sink):
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


class _Channel:
    """Local listeners of one channel and the messages waiting for them."""

    __slots__ = ("_snapshot", "name", "pending", "sinks", "task")

    def __init__(self, name: str) -> None:
        self.name = name
        self.sinks: dict[_Sink, None] = {}  # ordered set
        self.pending: deque[Item] = deque()
        self.task: asyncio.Task[None] | None = None
        self._snapshot: tuple[_Sink, ...] | None = None

    def snapshot(self) -> tuple[_Sink, ...]:
        # Cached: sinks change rarely compared to messages.
        snap = self._snapshot
        if snap is None:
            snap = self._snapshot = tuple(self.sinks)
        return snap

    def add(self, sink: _Sink) -> None:
        self.sinks[sink] = None
        self._snapshot = None

    def discard(self, sink: _Sink) -> None:
        if self.sinks.pop(sink, 0) is None:
            self._snapshot = None


class Hub(abc.ABC):
    """Channel pub/sub for one process; backends differ in how messages travel."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._running = False
        self._channels: dict[str, _Channel] = {}
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

    def _add(self, sink: _Sink) -> None:
        if not self._running:
            raise RuntimeError("Hub is not running")
        ch = self._channels.get(sink.channel)
        if ch is None:
            ch = self._channels[sink.channel] = _Channel(sink.channel)
            self._channel_opened(sink.channel)
        ch.add(sink)

    def _remove(self, sink: _Sink, reason: str | None) -> None:
        if sink.closed:
            return
        sink.closed = True
        sink.dropped_reason = reason
        ch = self._channels.get(sink.channel)
        if ch is not None:
            ch.discard(sink)
            self._maybe_close_channel(ch)
        sink._on_closed()

    def _drop(self, sink: _Sink, reason: str) -> None:
        if not sink.closed:
            self.dropped += 1
            logger.info("dropping listener of %r: %s", sink.channel, reason)
        self._remove(sink, reason)

    def _maybe_close_channel(self, ch: _Channel) -> None:
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

    async def _run_channel(self, ch: _Channel) -> None:
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


class MemoryHub(Hub):
    """In-process backend: one worker, no network."""

    def _publish_on_loop(self, channel: str, message: Message, payload: bytes | None) -> None:
        self._fanout(channel, message)


# Wire format on Redis: one tag byte, then the payload, so str stays str.
_TAG_STR: Final = 0x73  # b"s"
_TAG_BYTES: Final = 0x62  # b"b"
_RESYNC_PAYLOAD: Final = b"r"


class RedisHub(Hub):
    """Redis pub/sub backend: one subscription connection per process."""

    def __init__(
        self,
        url: str,
        *,
        channel_prefix: str = "diemcau:",
        ping_interval: float = 10.0,
        ready_timeout: float = 3.0,
        max_outbox: int = 10_000,
        client_name: str = "diemcau-realtime",
    ) -> None:
        super().__init__()
        self.url = url
        self.prefix = channel_prefix
        self._prefix_b = channel_prefix.encode()
        self._ping_interval = ping_interval
        self._ready_timeout = ready_timeout
        self._max_outbox = max_outbox
        self.client_name = client_name  # shows in CLIENT LIST; tests kill by it
        self._sub_client: aioredis.Redis | None = None
        self._pub_client: aioredis.Redis | None = None
        # Subscription state; "sent" and "acks" belong to the current connection.
        self._wanted: set[str] = set()
        self._sent: set[str] = set()
        self._acks: dict[str, deque[bool]] = {}
        self._confirmed: set[str] = set()
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._resync_due: set[str] = set()
        self._command_wakeup = asyncio.Event()
        self._connected = asyncio.Event()
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._outbox_wakeup = asyncio.Event()
        self._lost: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self.reconnects = 0

    # -- lifecycle ---------------------------------------------------------

    async def _start_backend(self) -> None:
        # Fail fast inside redis-py: it would otherwise reconnect and
        # resubscribe silently, and we could not tell listeners to resync.
        self._sub_client = aioredis.Redis.from_url(
            self.url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=3,
            socket_timeout=10,
            client_name=self.client_name + "-sub",
        )
        self._pub_client = aioredis.Redis.from_url(
            self.url, socket_connect_timeout=3, socket_timeout=10, client_name=self.client_name
        )
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._subscriber(), name="realtime-redis-subscriber"),
            loop.create_task(self._publisher(), name="realtime-redis-publisher"),
        ]
        # Start degraded rather than fail: listeners get RESYNC once connected.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), self._ready_timeout)

    async def _stop_backend(self) -> None:
        if self._outbox:  # give queued publishes a moment to leave
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    while self._outbox:
                        await asyncio.sleep(0.01)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for client in (self._sub_client, self._pub_client):
            if client is not None:
                await client.aclose()
        for waiters in self._waiters.values():
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)
        self._waiters.clear()

    # -- publishing --------------------------------------------------------

    def _encode(self, message: Message) -> bytes:
        if isinstance(message, str):
            return b"s" + message.encode()
        return b"b" + message

    def _publish_on_loop(self, channel: str, message: Message, payload: bytes | None) -> None:
        assert payload is not None
        if len(self._outbox) >= self._max_outbox:
            # Redis is unreachable for long: drop, and tell that channel's
            # listeners to resync once publishing works again.
            self._lost.add(channel)
            return
        self._outbox.append((channel, payload))
        self._outbox_wakeup.set()

    async def _publisher(self) -> None:
        """Send queued publishes in pipelined batches, retrying until Redis is back."""
        assert self._pub_client is not None
        client = self._pub_client
        backoff = 0.05
        while True:
            if not self._outbox and not self._lost:
                self._outbox_wakeup.clear()
                await self._outbox_wakeup.wait()
            batch = [self._outbox.popleft() for _ in range(min(len(self._outbox), 1000))]
            if not batch:
                batch = [(ch, _RESYNC_PAYLOAD) for ch in self._lost]
                self._lost.clear()
            while True:
                try:
                    if len(batch) == 1:
                        await client.publish(self.prefix + batch[0][0], batch[0][1])
                    else:
                        async with client.pipeline(transaction=False) as pipe:
                            for ch, payload in batch:
                                pipe.publish(self.prefix + ch, payload)
                            await pipe.execute()
                    backoff = 0.05
                    break
                except Exception as exc:
                    logger.warning("redis publish failed, retrying: %r", exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)

    # -- subscribing -------------------------------------------------------

    def _channel_opened(self, channel: str) -> None:
        self._wanted.add(channel)
        self._command_wakeup.set()

    def _channel_closed(self, channel: str) -> None:
        self._wanted.discard(channel)
        self._resync_due.discard(channel)
        self._command_wakeup.set()

    async def _wait_ready(self, channel: str) -> None:
        if channel in self._confirmed and channel not in self._acks:
            return
        fut = self._loop_or_raise().create_future()
        self._waiters.setdefault(channel, []).append(fut)
        try:
            await asyncio.wait_for(asyncio.shield(fut), self._ready_timeout)
        except TimeoutError:
            # Go on degraded; whatever was missed is covered by a RESYNC
            # once the subscription is confirmed.
            logger.warning("redis subscription to %r not confirmed yet", channel)
            self._resync_due.add(channel)

    async def _subscriber(self) -> None:
        """Own the subscription connection: (re)connect, resubscribe, read."""
        backoff = 0.05
        first = True
        while True:
            assert self._sub_client is not None
            pubsub = self._sub_client.pubsub(ignore_subscribe_messages=False)
            self._sent.clear()
            self._acks.clear()
            self._confirmed.clear()
            try:
                await pubsub.connect()  # type: ignore[no-untyped-call]  # redis-py lacks hints
                if not first:
                    self.reconnects += 1
                    logger.warning("redis pub/sub reconnected; resubscribing")
                    self._resync_due |= self._wanted
                first = False
                backoff = 0.05
                self._connected.set()
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._read(pubsub))
                    group.create_task(self._command(pubsub))
            except* Exception as group_exc:
                logger.warning("redis pub/sub connection lost: %r", group_exc.exceptions[0])
            finally:
                self._connected.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py lacks hints
            # Messages published while we were away are lost for good.
            self._resync_due |= self._wanted
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _command(self, pubsub: aioredis.client.PubSub) -> None:
        """Bring Redis's subscriptions in line with the channels we need."""
        while True:
            self._command_wakeup.clear()
            add = self._wanted - self._sent
            remove = self._sent - self._wanted
            # Book the expected acks before sending, so replies match.
            for ch in add:
                self._acks.setdefault(ch, deque()).append(True)
            for ch in remove:
                self._acks.setdefault(ch, deque()).append(False)
                self._confirmed.discard(ch)
            self._sent |= add
            self._sent -= remove
            # Raw commands: redis-py's own bookkeeping would resubscribe
            # silently on a reconnect we need to notice.
            if add:
                await pubsub.execute_command("SUBSCRIBE", *(self.prefix + c for c in add))
            if remove:
                await pubsub.execute_command("UNSUBSCRIBE", *(self.prefix + c for c in remove))
            await self._command_wakeup.wait()

    async def _read(self, pubsub: aioredis.client.PubSub) -> None:
        loop = asyncio.get_running_loop()
        last_rx = loop.time()
        prefix_len = len(self._prefix_b)
        while True:
            msg = await pubsub.get_message(timeout=self._ping_interval)
            now = loop.time()
            if msg is None:
                # Quiet line: PING, and give up if the last PING got no answer.
                if now - last_rx >= 2 * self._ping_interval:
                    raise ConnectionError("redis pub/sub: no reply to PING")
                await pubsub.ping()
                continue
            last_rx = now
            kind = msg["type"]
            if kind == "message":
                channel = msg["channel"][prefix_len:].decode()
                data: bytes = msg["data"]
                tag = data[0] if data else 0
                item: Item
                if tag == _TAG_STR:
                    item = data[1:].decode()
                elif tag == _TAG_BYTES:
                    item = data[1:]
                else:
                    item = RESYNC
                self._fanout(channel, item)
            elif kind in ("subscribe", "unsubscribe"):
                self._on_ack(msg["channel"][prefix_len:].decode(), kind == "subscribe")

    def _on_ack(self, channel: str, subscribed: bool) -> None:
        queue = self._acks.get(channel)
        if queue:
            queue.popleft()
            if not queue:
                del self._acks[channel]
        if channel in self._acks or not subscribed or channel not in self._sent:
            return
        self._confirmed.add(channel)
        for fut in self._waiters.pop(channel, ()):
            if not fut.done():
                fut.set_result(None)
        if channel in self._resync_due:
            self._resync_due.discard(channel)
            self._fanout(channel, RESYNC)


def create_hub(url: str, **options: Any) -> Hub:
    """Build a hub from a URL: ``memory://`` or ``redis://…``/``rediss://…``.

    ``options`` go to the backend (e.g. ``channel_prefix`` for Redis).
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        return MemoryHub(**options)
    if scheme in ("redis", "rediss"):
        return RedisHub(url, **options)
    raise ValueError(
        f"unsupported realtime broker URL {url!r}: expected memory:// or redis://host:port/db"
    )
