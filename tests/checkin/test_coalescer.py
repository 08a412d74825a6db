"""Coalescing: many check-ins make one update per scope; a slow dashboard is dropped."""

import asyncio
import json

from sqlalchemy.engine import Engine

from app.db import read_only, utcnow
from app.realtime import MemoryHub
from checkin import events
from checkin.board import Scope
from checkin.coalescer import SINK_QUEUE, Coalescer, Sink
from tests.conftest import Tree


async def _run_coalescing(engine: Engine, tree: Tree, site_id: int) -> tuple[list[str], int]:
    hub = MemoryHub()
    await hub.start()
    try:
        coalescer = Coalescer(hub=hub, engine=read_only(engine), conference_id=tree.cid,
                                        session_key=0, interval=3600)
        await coalescer.start()
        sink = Sink(lambda: None)
        version, snapshot = await coalescer.join(
            Scope(conference_id=tree.cid, session_id=None, root=None), sink)
        assert json.loads(snapshot)["version"] == version
        for n in range(300):
            hub.publish(events.attendance_channel(tree.cid), events.encode_checkin(
                conference_id=tree.cid, site_id=site_id, session_id=None, attendee_id=10_000 + n,
                foreign_site=False, at=utcnow()))
        await asyncio.sleep(0.05)
        coalescer.flush()
        coalescer.flush()  # nothing new: no message
        messages = []
        while not sink.queue.empty():
            messages.append(sink.queue.get_nowait())
        await coalescer.stop()
        return messages, version
    finally:
        await hub.stop()


def test_coalescer_sends_one_update_for_many_checkins(engine: Engine, tree: Tree) -> None:
    messages, version = asyncio.run(_run_coalescing(engine, tree, tree.ward_a1))
    assert len(messages) == 1
    update = json.loads(messages[0])
    assert update["type"] == "update" and update["version"] == version + 1
    assert update["totals"]["checked_in"] == 300
    assert [r["site_id"] for r in update["sites"]] == [tree.ward_a1]
    assert {r["site_id"] for r in update["rollups"]} == {tree.central, tree.hub_a}
    assert sum(n for _, n in update["arrivals_tail"]) == 300


def test_sink_overflow_drops_the_dashboard() -> None:
    dropped: list[bool] = []

    async def fill() -> None:
        sink = Sink(lambda: dropped.append(True))
        for n in range(SINK_QUEUE + 3):
            sink.put(str(n))

    asyncio.run(fill())
    assert dropped == [True]


async def _conference_and_session_totals(engine: Engine, tree: Tree) -> tuple[int, int]:
    hub = MemoryHub()
    await hub.start()
    try:
        boards = [Coalescer(hub=hub, engine=read_only(engine), conference_id=tree.cid,
                            session_key=key, interval=3600) for key in (0, 7)]
        for c in boards:
            await c.start()
        channel = events.attendance_channel(tree.cid)
        # First at the conference through session 7; a second session check-in of someone
        # already counted; a door check-in; another session's first check-in.
        for attendee, session_id, conference in ((1, 7, True), (2, 7, False), (3, None, True),
                                                 (4, 8, True)):
            hub.publish(channel, events.encode_checkin(
                conference_id=tree.cid, site_id=tree.ward_a1, session_id=session_id,
                attendee_id=attendee, foreign_site=False, at=utcnow(), conference=conference))
        await asyncio.sleep(0.05)
        totals = []
        for c in boards:
            assert c.board is not None
            totals.append(c.board.totals(None)["checked_in"])
            await c.stop()
        return totals[0], totals[1]
    finally:
        await hub.stop()


def test_conference_board_counts_first_check_ins_of_any_session(
    engine: Engine, tree: Tree
) -> None:
    assert asyncio.run(_conference_and_session_totals(engine, tree)) == (3, 2)
