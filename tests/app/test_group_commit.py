"""Group commit: what queues while a batch runs goes in the next one; outcomes go to
their own caller."""

import asyncio

import pytest

from app.group_commit import GroupCommit, Outcome

pytestmark = pytest.mark.anyio


class Gate:
    """A batch runner that takes `delay` seconds per batch and records the batches."""

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.seen: list[list[int]] = []

    async def run(self, items: list[int]) -> list[Outcome[int]]:
        self.seen.append(items)
        await asyncio.sleep(self.delay)
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]


async def test_what_queues_meanwhile_goes_together() -> None:
    gate = Gate()
    group: GroupCommit[int, int] = GroupCommit(run=gate.run)
    first = asyncio.ensure_future(group.submit(0))
    await asyncio.sleep(0.001)  # its batch is in the gate now
    done = await asyncio.gather(*(group.submit(i) for i in range(2, 40, 2)))
    assert await first == 0 and done == [i * 10 for i in range(2, 40, 2)]
    # The first ran at once, alone; the 19 that queued meanwhile went in one batch.
    assert gate.seen == [[0], list(range(2, 40, 2))]
    assert group.batches == 2


async def test_a_lone_item_waits_for_no_timer() -> None:
    gate = Gate(delay=0)
    group: GroupCommit[int, int] = GroupCommit(run=gate.run)
    assert await asyncio.wait_for(group.submit(4), timeout=0.05) == 40
    assert await asyncio.wait_for(group.submit(6), timeout=0.05) == 60
    assert gate.seen == [[4], [6]]


async def test_each_caller_gets_its_own_error() -> None:
    group: GroupCommit[int, int] = GroupCommit(run=Gate().run)
    done = await asyncio.gather(*(group.submit(i) for i in range(4)),
                                return_exceptions=True)
    assert done[0] == 0 and done[2] == 20
    assert [str(e) for e in (done[1], done[3])] == ["odd 1", "odd 3"]


async def test_batches_are_bounded() -> None:
    gate = Gate()
    group: GroupCommit[int, int] = GroupCommit(run=gate.run, max_batch=8)
    await asyncio.gather(*(group.submit(i) for i in range(0, 40, 2)))
    assert [len(b) for b in gate.seen] == [8, 8, 4]


async def test_a_failed_batch_fails_each_of_its_callers_and_the_next_runs() -> None:
    calls = 0

    async def run(items: list[int]) -> list[Outcome[int]]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database gone")
        return list[Outcome[int]](items)

    group: GroupCommit[int, int] = GroupCommit(run=run)
    with pytest.raises(RuntimeError, match="database gone"):
        await group.submit(1)
    assert await group.submit(2) == 2


async def test_a_caller_that_went_away_does_not_stop_the_batch() -> None:
    gate = Gate(delay=0.05)
    group: GroupCommit[int, int] = GroupCommit(run=gate.run)
    first = asyncio.ensure_future(group.submit(0))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(group.submit(2))
    third = asyncio.ensure_future(group.submit(4))
    await asyncio.sleep(0.01)
    second.cancel()  # its client closed the connection while it queued
    assert await first == 0 and await third == 40
    assert gate.seen == [[0], [2, 4]]  # its answer was still stored, nobody told
