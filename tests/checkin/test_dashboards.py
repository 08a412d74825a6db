"""The dashboards registry: conferences running today are followed from start-up."""

import asyncio
from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import read_only, utcnow
from app.realtime import MemoryHub
from checkin import dashboard, events
from checkin.dashboards import Dashboards
from tests.conftest import Tree


def test_conferences_today_are_those_whose_dates_cover_it(db: Session, tree: Tree) -> None:
    assert dashboard.conferences_today(db, today=date(2025, 9, 9)) == [tree.cid]
    assert dashboard.conferences_today(db, today=date(2020, 1, 1)) == []


async def _started(engine: Engine, tree: Tree) -> tuple[bool, int, bool]:
    hub = MemoryHub()
    await hub.start()
    dashboards = Dashboards(hub=hub, engine=read_only(engine), interval=3600)
    try:
        await dashboards.start(conference_ids=[tree.cid])
        coalescer = dashboards.running(tree.cid, 0)
        assert coalescer is not None and coalescer.board is not None
        hub.publish(events.attendance_channel(tree.cid), events.encode_checkin(
            conference_id=tree.cid, site_id=tree.ward_a1, session_id=None, attendee_id=1,
            foreign_site=False, at=utcnow()))
        await asyncio.sleep(0.05)
        checked_in = coalescer.board.totals(None)["checked_in"]
        return True, checked_in, dashboards.running(tree.cid, 5) is None
    finally:
        await dashboards.stop()
        await hub.stop()


def test_start_follows_the_given_conferences_before_any_dashboard(
    engine: Engine, tree: Tree
) -> None:
    started, checked_in, others_idle = asyncio.run(_started(engine, tree))
    assert started and checked_in == 1 and others_idle
