"""Redis pub/sub backend: one subscription and one publishing connection per process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Final

import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.realtime.hub import Hub
from app.realtime.types import (
    RESYNC,
    Item,
    Message,
)

# One logger for the whole hub, named as before the package split.
logger = logging.getLogger("app.realtime")


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
