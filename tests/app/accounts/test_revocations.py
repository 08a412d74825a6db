"""One subscription per process closes the sockets of a revoked account; after a
possible loss (RESYNC, falling behind) every open socket's account is checked again."""

import asyncio

from app.accounts.revocations import (
    REVOKED_CHANNEL,
    Close,
    SocketRevocations,
    announce_revoked,
)
from app.realtime import RESYNC, MemoryHub


async def _eventually(check: object, timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.01)


def _closer(closed: list[str], name: str) -> Close:
    async def close() -> None:
        closed.append(name)

    return close


def test_announcement_closes_only_that_accounts_sockets() -> None:
    async def scenario() -> list[str]:
        closed: list[str] = []
        async with MemoryHub() as hub:
            revocations = SocketRevocations(hub=hub, find_stale=lambda pairs: set())
            await revocations.start()
            revocations.register(user_id=1, version=0, close=_closer(closed, "a"))
            revocations.register(user_id=1, version=0, close=_closer(closed, "b"))
            revocations.register(user_id=2, version=0, close=_closer(closed, "c"))
            gone = revocations.register(user_id=1, version=0, close=_closer(closed, "d"))
            revocations.unregister(gone)
            hub.publish(REVOKED_CHANNEL, "not json")  # ignored, the listener survives
            announce_revoked(hub.publish, user_id=1)
            await _eventually(lambda: len(closed) == 2)
            assert revocations.open_sockets() == 1
            await revocations.stop()
        return sorted(closed)

    assert asyncio.run(scenario()) == ["a", "b"]


def test_resync_rechecks_every_open_socket_in_one_query() -> None:
    queries: list[set[tuple[int, int]]] = []

    def find_stale(pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
        queries.append(pairs)
        return {(2, 0)}  # account 2 was disabled while messages may have been lost

    async def scenario() -> list[str]:
        closed: list[str] = []
        async with MemoryHub() as hub:
            revocations = SocketRevocations(hub=hub, find_stale=find_stale)
            await revocations.start()
            revocations.register(user_id=1, version=3, close=_closer(closed, "a"))
            revocations.register(user_id=2, version=0, close=_closer(closed, "b"))
            hub._fanout(REVOKED_CHANNEL, RESYNC)  # what the Redis hub delivers after a reconnect
            await _eventually(lambda: closed == ["b"])
            await revocations.stop()
        return closed

    assert asyncio.run(scenario()) == ["b"]
    assert queries == [{(1, 3), (2, 0)}]
