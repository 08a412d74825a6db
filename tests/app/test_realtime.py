"""Realtime hub: ordering, bounded queues, slow senders, threads, Redis reconnect."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import pytest
import redis

from app.realtime import (
    RESYNC,
    Attachment,
    Hub,
    Item,
    MemoryHub,
    RedisHub,
    SubscriberDropped,
    Subscription,
    create_hub,
)

T = TypeVar("T")
REDIS_URL = os.environ.get("DIEMCAU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def run(coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    """Run one test body on a fresh loop, bounded in time."""

    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


async def drain(sub: Subscription, count: int) -> list[Item]:
    got: list[Item] = []
    async for item in sub:
        got.append(item)
        if len(got) == count:
            break
    return got


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


def redis_url() -> str:
    """The test Redis, or skip (fail under CI=true) when it is unreachable."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.exceptions.RedisError as exc:
        message = f"Redis at {REDIS_URL} unreachable ({exc!r})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return REDIS_URL


def redis_hub(url: str, prefix: str, name: str) -> RedisHub:
    return RedisHub(url, channel_prefix=prefix, client_name=name, ready_timeout=5.0)


# -- factory and lifecycle --------------------------------------------------


def test_create_hub_unknown_scheme_raises_value_error() -> None:
    with pytest.raises(ValueError, match="memory:// or redis://"):
        create_hub("kafka://localhost")


def test_create_hub_picks_backend_by_scheme() -> None:
    assert isinstance(create_hub("memory://"), MemoryHub)
    assert isinstance(create_hub("redis://127.0.0.1:6379/0"), RedisHub)
    assert isinstance(create_hub("rediss://example.invalid:6380"), RedisHub)


def test_publish_before_start_raises_runtime_error() -> None:
    with pytest.raises(RuntimeError, match=r"before Hub\.start"):
        MemoryHub().publish("c", "m")


def test_publish_non_text_raises_type_error() -> None:
    async def body() -> None:
        async with MemoryHub() as hub:
            with pytest.raises(TypeError):
                hub.publish("c", 42)  # type: ignore[arg-type]

    run(body())


def test_stop_ends_iterators_and_drops_senders() -> None:
    async def body() -> None:
        hub = MemoryHub()
        await hub.start()
        sub = hub.subscribe("c")
        reasons: list[str] = []
        att = await hub.attach("c", lambda m: None, on_drop=reasons.append)
        await hub.stop()
        assert [m async for m in sub] == []
        assert await att.wait_closed() == "hub stopped"
        assert reasons == ["hub stopped"]
        hub.publish("c", "after stop is dropped")  # no error

    run(body())


# -- memory backend ---------------------------------------------------------


def test_publish_keeps_order_per_channel() -> None:
    async def body() -> None:
        async with MemoryHub() as hub, hub.subscribe("a") as sub_a, hub.subscribe("b") as sub_b:
            for i in range(200):
                hub.publish("a", f"a{i}")
                hub.publish("b", f"b{i}".encode())
            assert await drain(sub_a, 200) == [f"a{i}" for i in range(200)]
            assert await drain(sub_b, 200) == [f"b{i}".encode() for i in range(200)]

    run(body())


def test_publish_delivers_same_object_to_every_listener() -> None:
    async def body() -> None:
        async with MemoryHub() as hub:
            seen: list[object] = []
            for _ in range(3):
                await hub.attach("c", seen.append)
            async with hub.subscribe("c") as sub:
                message = "x" * 200
                hub.publish("c", message)
                assert await drain(sub, 1) == [message]
            assert len(seen) == 3
            assert all(m is message for m in seen)

    run(body())


def test_publish_without_listeners_is_noop() -> None:
    async def body() -> None:
        async with MemoryHub() as hub:
            hub.publish("nobody", "m")
            await asyncio.sleep(0)
            assert hub.listeners("nobody") == 0

    run(body())


def test_subscribe_overflow_drops_slow_subscriber_only() -> None:
    async def body() -> None:
        async with MemoryHub() as hub:
            slow = hub.subscribe("c", maxsize=10)
            fast = hub.subscribe("c", maxsize=10)
            received: list[Item] = []
            for i in range(50):
                hub.publish("c", str(i))
                # The fast one reads as messages come; the slow one never does.
                received.extend(await drain(fast, 1))
            assert received == [str(i) for i in range(50)]
            with pytest.raises(SubscriberDropped, match="overflow"):
                await slow.__anext__()
            assert hub.listeners("c") == 1
            assert hub.dropped == 1

    run(body())


def test_attach_stuck_sender_does_not_delay_others() -> None:
    async def body() -> None:
        async with MemoryHub() as hub:
            loop = asyncio.get_running_loop()
            never = loop.create_future()
            times: dict[int, list[float]] = {}
            sent_at: list[float] = []

            def fast(k: int) -> Callable[[str], None]:
                times[k] = []
                return lambda m: times[k].append(time.perf_counter())

            async def stuck(message: str) -> None:
                await never  # a client whose socket buffer never drains

            def broken(message: str) -> None:
                raise ConnectionResetError("peer gone")

            drops: dict[str, str] = {}
            for k in range(100):
                await hub.attach("c", fast(k))
            stuck_att = await hub.attach(
                "c", stuck, max_pending=5, on_drop=lambda r: drops.__setitem__("stuck", r)
            )
            await hub.attach("c", broken, on_drop=lambda r: drops.__setitem__("broken", r))
            for i in range(20):
                sent_at.append(time.perf_counter())
                hub.publish("c", str(i))
                await asyncio.sleep(0.005)
            await eventually(lambda: all(len(t) == 20 for t in times.values()))
            worst = max(t[i] - sent_at[i] for t in times.values() for i in range(20))
            assert worst < 0.05, f"fast senders waited {worst * 1000:.1f} ms"
            assert drops["stuck"] == "too slow"
            assert drops["broken"].startswith("send failed")
            assert await stuck_att.wait_closed() == "too slow"
            assert hub.listeners("c") == 100

    run(body())


def test_attach_send_timeout_drops_stuck_sender() -> None:
    async def body() -> None:
        async with MemoryHub() as hub:

            async def stuck(message: str) -> None:
                await asyncio.sleep(3600)

            att = await hub.attach("c", stuck, send_timeout=0.1)
            hub.publish("c", "m")
            assert await att.wait_closed() == "send timed out"

    run(body())


def test_attach_coroutine_sender_keeps_order_when_some_sends_suspend() -> None:
    async def body() -> None:
        async with MemoryHub() as hub:
            got: list[str] = []

            async def sometimes_slow(message: str) -> None:
                if int(message) % 7 == 0:
                    await asyncio.sleep(0.002)  # buffer full for a moment
                got.append(message)

            att: Attachment = await hub.attach("c", sometimes_slow, max_pending=100)
            for i in range(60):
                hub.publish("c", str(i))
            await eventually(lambda: len(got) == 60)
            assert got == [str(i) for i in range(60)]
            assert not att.closed

    run(body())


def test_attach_resync_without_callback_drops_and_with_callback_calls_in_order() -> None:
    async def body() -> None:
        async with MemoryHub() as hub:
            log: list[str] = []
            plain = await hub.attach("c", log.append)
            aware = await hub.attach("c", lambda m: None, on_resync=lambda: log.append("snapshot"))
            hub._fanout("c", RESYNC)  # what the Redis backend does after a reconnect
            await eventually(lambda: plain.closed)
            assert plain.dropped_reason == "resync"
            assert log == ["snapshot"]
            assert not aware.closed

    run(body())


def test_publish_from_worker_threads_delivers_in_thread_order() -> None:
    async def body() -> None:
        async with MemoryHub() as hub, hub.subscribe("c", maxsize=10_000) as sub:

            def worker(name: str) -> None:
                for i in range(500):
                    hub.publish("c", f"{name}:{i}")

            threads = [threading.Thread(target=worker, args=(f"t{n}",)) for n in range(4)]
            for t in threads:
                t.start()
            got = await drain(sub, 2000)
            for t in threads:
                t.join()
            for n in range(4):
                mine = [m for m in got if isinstance(m, str) and m.startswith(f"t{n}:")]
                assert mine == [f"t{n}:{i}" for i in range(500)]

    run(body())


def test_publish_from_threadpool_like_sync_route_delivers() -> None:
    async def body() -> None:
        async with MemoryHub() as hub, hub.subscribe("c") as sub:
            await asyncio.to_thread(hub.publish, "c", b"from a sync route")
            assert await drain(sub, 1) == [b"from a sync route"]

    run(body())


# -- Redis backend ----------------------------------------------------------


def kill_pubsub_connections(url: str, client_name: str) -> int:
    """CLIENT KILL TYPE pubsub, limited to our hub's connection (shared server)."""
    admin = redis.Redis.from_url(url)
    killed = 0
    for client in admin.client_list(_type="pubsub"):
        if client.get("name") == client_name:
            killed += int(admin.client_kill_filter(_id=client["id"], _type="pubsub"))
    admin.close()
    return killed


def test_redis_delivers_across_two_hubs() -> None:
    url = redis_url()
    prefix = f"test-{uuid.uuid4().hex}:"

    async def body() -> None:
        receiver = redis_hub(url, prefix, "t-receiver")
        sender = redis_hub(url, prefix, "t-sender")
        async with receiver, sender, receiver.subscribe("ch") as sub:
            got: list[object] = []
            await receiver.attach("ch", got.append)
            for i in range(100):
                sender.publish("ch", f"m{i}" if i % 2 else f"m{i}".encode())
            expected: list[Item] = [f"m{i}" if i % 2 else f"m{i}".encode() for i in range(100)]
            assert await drain(sub, 100) == expected
            await eventually(lambda: len(got) == 100)
            assert got == expected
            # a sync route in a worker thread of the sending process
            await asyncio.to_thread(sender.publish, "ch", "threaded")
            assert await drain(sub, 1) == ["threaded"]

    run(body())


def test_redis_resubscribes_after_connection_killed_and_sends_resync() -> None:
    url = redis_url()
    prefix = f"test-{uuid.uuid4().hex}:"
    name = f"t-kill-{uuid.uuid4().hex[:8]}"

    async def body() -> None:
        receiver = redis_hub(url, prefix, name)
        sender = redis_hub(url, prefix, "t-sender")
        async with receiver, sender, receiver.subscribe("ch") as sub:
            snapshots: list[str] = []
            att = await receiver.attach(
                "ch", lambda m: None, on_resync=lambda: snapshots.append("s")
            )
            sender.publish("ch", "before")
            assert await drain(sub, 1) == ["before"]

            assert kill_pubsub_connections(url, name + "-sub") == 1
            assert await drain(sub, 1) == [RESYNC]
            assert receiver.reconnects == 1
            sender.publish("ch", "after")
            assert await drain(sub, 1) == ["after"]
            assert snapshots == ["s"]
            assert not att.closed

    run(body())


def test_redis_subscribe_after_unsubscribe_receives() -> None:
    url = redis_url()
    prefix = f"test-{uuid.uuid4().hex}:"

    async def body() -> None:
        receiver = redis_hub(url, prefix, "t-receiver")
        sender = redis_hub(url, prefix, "t-sender")
        async with receiver, sender:
            for round_ in range(3):
                async with receiver.subscribe("ch") as sub:
                    sender.publish("ch", str(round_))
                    assert await drain(sub, 1) == [str(round_)]
            assert receiver.listeners("ch") == 0

    run(body())


def test_hub_interface_is_shared_by_backends() -> None:
    hubs: list[Hub] = [MemoryHub(), RedisHub("redis://127.0.0.1:6379/0")]
    for hub in hubs:
        attach: Callable[..., Awaitable[Attachment]] = hub.attach
        assert callable(attach)
        assert callable(hub.subscribe)
        assert callable(hub.publish)
