"""Dashboard use cases: snapshot totals, roll-ups at every level, scope and filters."""

import pytest
from sqlmodel import Session

from app.accounts.models import User
from app.config import Settings
from checkin import attendance, dashboard
from checkin.board import filter_rows
from endpoints import errors as endpoints_errors
from tests.checkin.support import arrange_board
from tests.conftest import Tree


def test_snapshot_totals_match_attendance_summary(
    wdb: Session, db: Session, admin: User, tree: Tree, settings: Settings
) -> None:
    arrange_board(wdb, admin, tree, settings)
    view = dashboard.dashboard_snapshot(db, conference_id=tree.cid, actor=admin)
    summary = attendance.attendance_summary(db, conference_id=tree.cid, actor=admin)
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
    deep = arrange_board(wdb, admin, tree, settings)["deep"]
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
    arrange_board(wdb, admin, tree, settings)
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
    arrange_board(wdb, admin, tree, settings)
    board, _ = attendance.load_board(db, conference_id=tree.cid, session_key=0)
    offline = filter_rows(board, root=None, filter="offline")
    assert tree.ward_a1 not in {r["site_id"] for r in offline.rows} and offline.total == 6
    not_ready = filter_rows(board, root=None, filter="not_ready")
    assert {r["site_id"] for r in not_ready.rows} == set(board.sites) - {tree.ward_a1}
    below = filter_rows(board, root=None, filter="below_half")
    # ward B1: 1 of 8; deep: 2 of 40; ward A1: 3 of 10 is not below half... 3*2 < 10 is.
    assert {r["site_id"] for r in below.rows} >= {tree.ward_b1, tree.ward_a1}
    assert tree.ward_a2 not in {r["site_id"] for r in below.rows}  # 5 of 6
    found = filter_rows(board, root=None, q="ben nghe")
    assert [r["site_id"] for r in found.rows] == [tree.ward_a1]
    page = filter_rows(board, root=None, offset=2, limit=2)
    assert page.total == 7 and len(page.rows) == 2
