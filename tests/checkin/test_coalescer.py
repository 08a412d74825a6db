"""Coalescing: many check-ins make one update per scope; a slow dashboard is dropped."""

import asyncio
import json
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine

from app.db import read_only, utcnow
from app.realtime import MemoryHub
from app.templating import LOCAL_TZ
from checkin import events
from checkin.board import Scope, local_minute
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


async def _updates_after(engine: Engine, tree: Tree, messages: list[str]) -> list[dict[str, Any]]:
    """The updates a whole-conference dashboard gets after `messages` are published."""
    hub = MemoryHub()
    await hub.start()
    try:
        coalescer = Coalescer(hub=hub, engine=read_only(engine), conference_id=tree.cid,
                              session_key=0, interval=3600)
        await coalescer.start()
        sink = Sink(lambda: None)
        await coalescer.join(Scope(conference_id=tree.cid, session_id=None, root=None), sink)
        for message in messages:
            hub.publish(events.attendance_channel(tree.cid), message)
        await asyncio.sleep(0.05)
        coalescer.flush()
        out = []
        while not sink.queue.empty():
            out.append(json.loads(sink.queue.get_nowait()))
        await coalescer.stop()
        return out
    finally:
        await hub.stop()


def test_a_synced_check_in_lands_in_the_minute_it_was_scanned(engine: Engine, tree: Tree) -> None:
    """A queue synced after 40 minutes offline: its check-in counts now, in its own minute."""
    scanned = utcnow() - timedelta(minutes=40)
    [update] = asyncio.run(_updates_after(engine, tree, [events.encode_checkin(
        conference_id=tree.cid, site_id=tree.ward_a1, session_id=None, attendee_id=10_001,
        foreign_site=False, at=scanned)]))
    assert update["totals"]["checked_in"] == 1
    assert update["arrivals_tail"] == [[local_minute(scanned), 1]]


def test_a_sync_shows_on_the_row_and_in_the_recent_syncs(engine: Engine, tree: Tree) -> None:
    at = utcnow()
    synced = json.dumps({
        "type": "synced", "conference_id": tree.cid, "site_id": tree.ward_a1, "checkins": 312,
        "headcounts": 0, "refused": 1, "oldest": (at - timedelta(minutes=40)).isoformat(),
        "at": at.isoformat()})
    [update] = asyncio.run(_updates_after(engine, tree, [synced]))
    [row] = update["sites"]
    clock = at.astimezone(LOCAL_TZ).strftime("%H:%M")
    assert row["site_id"] == tree.ward_a1
    assert row["sync"]["text"].startswith(f"đồng bộ 312 lượt điểm danh lúc {clock} (ghi từ ")
    assert row["sync"]["text"].endswith("; 1 mục bị từ chối")
    assert [(s["site_id"], s["checkins"]) for s in update["syncs"]] == [(tree.ward_a1, 312)]
    assert update["totals"]["checked_in"] == 0
