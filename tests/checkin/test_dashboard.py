"""Dashboard data: totals, roll-ups at every level, filters, and coalescing of updates."""

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.accounts.models import User
from app.config import Settings
from app.db import read_only, utcnow
from app.realtime import MemoryHub
from checkin import dashboard, events, headcounts, keys, service
from checkin import roster as checkin_roster
from checkin.models import AttendeeCreate
from endpoints import errors as endpoints_errors
from endpoints import presence
from endpoints import service as endpoints_service
from endpoints.models import Readiness, ScreenDevice, SiteCreate, SiteKind, SiteUpdate
from tests.conftest import Tree


@pytest.fixture
def wdb(engine: Engine) -> Iterator[Session]:
    """A session that writes like the app's (BEGIN IMMEDIATE on SQLite)."""
    keys.forget(engine)
    with Session(engine, expire_on_commit=False) as session:
        yield session


def _deep_site(db: Session, admin: User, tree: Tree) -> int:
    """A fourth level: a department below ward A1."""
    site = endpoints_service.create_site(
        db, conference_id=tree.cid,
        data=SiteCreate(name="Tổ Dân phố 3", kind=SiteKind.other, parent_id=tree.ward_a1,
                        code="HCM-BN-3", expected_attendees=40),
        actor=admin,
    )
    assert site.id is not None
    return site.id


def _arrange(wdb: Session, admin: User, tree: Tree, settings: Settings) -> dict[str, Any]:
    """Check-ins at several levels, a headcount, expected counts and one online site."""
    deep = _deep_site(wdb, admin, tree)
    for site_id, expected in ((tree.ward_a1, 10), (tree.ward_a2, 6), (tree.ward_b1, 8),
                              (tree.hub_a, 4)):
        endpoints_service.update_site(wdb, site_id=site_id,
                                      data=SiteUpdate(expected_attendees=expected), actor=admin)
    people = checkin_roster.create_attendees(
        wdb, conference_id=tree.cid,
        items=[AttendeeCreate(full_name=f"Đại biểu {i}", site_id=s)
               for i, s in enumerate([tree.ward_a1] * 3 + [deep] * 2 + [tree.ward_b1, tree.hub_a])],
        actor=admin,
    )
    for person in people:
        service.check_in(wdb, code=person.short_code, site_id=person.site_id, actor=admin,
                         settings=settings)
    headcounts.report_headcount(wdb, site_id=tree.ward_a2, session_id=None,
                                counts={"dai_bieu": 5}, actor=admin)
    wdb.add(ScreenDevice(site_id=tree.ward_a1, conference_id=tree.cid, name="Máy chiếu",
                         enrolled_at=utcnow(), last_seen_at=utcnow()))
    wdb.commit()
    presence.record_transitions(wdb, timeout_seconds=45)
    endpoints_service.update_site(wdb, site_id=tree.ward_a1,
                                  data=SiteUpdate(readiness=Readiness.ready), actor=admin)
    return {"deep": deep}


def test_snapshot_totals_match_attendance_summary(
    wdb: Session, db: Session, admin: User, tree: Tree, settings: Settings
) -> None:
    _arrange(wdb, admin, tree, settings)
    view = dashboard.dashboard_snapshot(db, conference_id=tree.cid, actor=admin)
    summary = headcounts.attendance_summary(db, conference_id=tree.cid, actor=admin)
    assert view.totals["checked_in"] == summary.checked_in == 7
    assert view.totals["headcount"] == summary.headcount == 5
    assert view.totals["present"] == summary.present == 12
    assert view.totals["expected"] == 10 + 6 + 8 + 4 + 40
    assert view.totals["sites"] == 7
    assert view.totals["sites_online"] == 1
    assert view.totals["sites_ready"] == 1
    assert view.totals["sites_missing"] == 6


def test_rollups_equal_sum_of_children_at_every_level(
    wdb: Session, db: Session, admin: User, tree: Tree, settings: Settings
) -> None:
    deep = _arrange(wdb, admin, tree, settings)["deep"]
    body = dashboard.dashboard_snapshot(db, conference_id=tree.cid, actor=admin).body
    rows = {r["site_id"]: r for r in body["sites"]}
    rollups = {r["site_id"]: r["totals"] for r in body["rollups"]}
    assert set(rollups) == {tree.central, tree.hub_a, tree.hub_b, tree.ward_a1}
    for site_id, totals in rollups.items():
        children = [r for r in rows.values() if r["parent_id"] == site_id]
        for key in ("checked_in", "headcount", "expected", "present"):
            below = sum(rollups[c["site_id"]][key] if c["site_id"] in rollups else c[key] or 0
                        for c in children)
            assert totals[key] == (rows[site_id][key] or 0) + below, (site_id, key)
    assert rollups[tree.ward_a1]["checked_in"] == 3 + 2  # ward + the level below it
    assert rollups[tree.hub_a]["checked_in"] == 1 + 3 + 2
    assert rollups[tree.hub_a]["present"] == 1 + 3 + 2 + 5
    assert rollups[tree.central]["checked_in"] == body["totals"]["checked_in"] == 7
    assert rows[deep]["checked_in"] == 2


def test_coordinator_snapshot_covers_only_their_subtree(
    wdb: Session, db: Session, admin: User, tree: Tree, settings: Settings, coordinator_a: User
) -> None:
    _arrange(wdb, admin, tree, settings)
    body = dashboard.dashboard_snapshot(db, conference_id=tree.cid, actor=coordinator_a).body
    assert body["scope_site_id"] == tree.hub_a
    assert {r["site_id"] for r in body["sites"]} >= {tree.hub_a, tree.ward_a1, tree.ward_a2}
    assert tree.ward_b1 not in {r["site_id"] for r in body["sites"]}
    assert body["totals"]["checked_in"] == 6 and body["totals"]["headcount"] == 5


def test_coordinator_asking_for_another_subtree_is_refused(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    with pytest.raises(endpoints_errors.SiteOutOfScope):
        dashboard.dashboard_snapshot(db, conference_id=tree.cid, actor=coordinator_a,
                                     under_id=tree.hub_b)


def test_filter_rows_by_state_and_search_without_diacritics(
    wdb: Session, db: Session, admin: User, tree: Tree, settings: Settings
) -> None:
    _arrange(wdb, admin, tree, settings)
    board, _ = dashboard.load_board(db, conference_id=tree.cid, session_key=0)
    offline = dashboard.filter_rows(board, root=None, filter="offline")
    assert tree.ward_a1 not in {r["site_id"] for r in offline.rows} and offline.total == 6
    not_ready = dashboard.filter_rows(board, root=None, filter="not_ready")
    assert {r["site_id"] for r in not_ready.rows} == set(board.sites) - {tree.ward_a1}
    below = dashboard.filter_rows(board, root=None, filter="below_half")
    # ward B1: 1 of 8; deep: 2 of 40; ward A1: 3 of 10 is not below half... 3*2 < 10 is.
    assert {r["site_id"] for r in below.rows} >= {tree.ward_b1, tree.ward_a1}
    assert tree.ward_a2 not in {r["site_id"] for r in below.rows}  # 5 of 6
    found = dashboard.filter_rows(board, root=None, q="ben nghe")
    assert [r["site_id"] for r in found.rows] == [tree.ward_a1]
    page = dashboard.filter_rows(board, root=None, offset=2, limit=2)
    assert page.total == 7 and len(page.rows) == 2


def _board(tree: Tree) -> dashboard.Board:
    def state(site_id: int, parent: int | None, path: str) -> dashboard.SiteState:
        return dashboard.SiteState(site_id=site_id, parent_id=parent, path=path,
                                   depth=path.count("/") - 2, name=str(site_id),
                                   name_key=str(site_id), kind="ward", readiness="not_connected",
                                   expected=10)

    return dashboard.Board(1, 0, [state(1, None, "/1/"), state(2, 1, "/1/2/"),
                                  state(3, 2, "/1/2/3/"), state(4, 3, "/1/2/3/4/"),
                                  state(5, 1, "/1/5/")])


def test_board_changes_keep_every_level_equal_to_its_subtree(tree: Tree) -> None:
    board = _board(tree)
    for site_id in (4, 4, 3, 5, 2):
        board.checked_in(site_id)
    board.set_headcount(4, 9)
    board.set_headcount(4, 7)  # a correction replaces the report
    board.set_online(3, True)
    board.set_site(5, readiness="not_participating", expected=10, name="5")
    index = {"checked_in": 4, "present": 7, "sites": 0, "expected": 6}
    for key, i in index.items():
        for site in board.sites.values():
            subtree = [s for s in board.sites.values() if board.in_scope(s, site.site_id)]
            assert site.rollup[i] == sum(s.own()[i] for s in subtree), (site.site_id, key)
    assert board.totals(None)["checked_in"] == 5
    assert board.totals(2)["present"] == 1 + 1 + 7
    assert board.totals(None)["sites"] == 4 and board.totals(None)["expected"] == 40
    assert board.totals(None)["sites_online"] == 1


async def _run_coalescing(engine: Engine, tree: Tree, site_id: int) -> tuple[list[str], int]:
    hub = MemoryHub()
    await hub.start()
    try:
        coalescer = dashboard.Coalescer(hub=hub, engine=read_only(engine), conference_id=tree.cid,
                                        session_key=0, interval=3600)
        await coalescer.start()
        sink = dashboard.Sink(lambda: None)
        version, snapshot = await coalescer.join(
            dashboard.Scope(conference_id=tree.cid, session_id=None, root=None), sink)
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
        sink = dashboard.Sink(lambda: dropped.append(True))
        for n in range(dashboard.SINK_QUEUE + 3):
            sink.put(str(n))

    asyncio.run(fill())
    assert dropped == [True]


def test_stale_transitions_do_not_reach_snapshot_of_other_session(
    wdb: Session, db: Session, admin: User, tree: Tree, settings: Settings
) -> None:
    _arrange(wdb, admin, tree, settings)
    board, _ = dashboard.load_board(db, conference_id=tree.cid, session_key=999)
    assert dashboard.Board.totals(board, None)["checked_in"] == 0
    assert board.totals(None)["sites_online"] == 1  # presence is not per session


def test_board_marks_unknown_site_for_reload(tree: Tree) -> None:
    board = _board(tree)
    board.checked_in(999)
    assert board.unknown_site and board.totals(None)["checked_in"] == 0


def test_arrivals_are_counted_per_local_minute(
    wdb: Session, db: Session, admin: User, tree: Tree, settings: Settings
) -> None:
    _arrange(wdb, admin, tree, settings)
    counts = dashboard.load_arrivals(db, conference_id=tree.cid, session_key=0, root_path=None)
    assert sum(counts.values()) == 7
    now_local = dashboard._minute(utcnow())
    earlier = dashboard._minute(utcnow() - timedelta(minutes=1))
    assert set(counts) <= {now_local, earlier}
