"""The pure board: roll-ups at every level, totals, present, scopes and row filters."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from checkin.board import (
    COUNTERS,
    Board,
    Scope,
    SiteState,
    filter_rows,
    local_minute,
    present,
    snapshot_body,
)
from checkin.sync_view import SyncSummary


def _board() -> Board:
    def state(site_id: int, parent: int | None, path: str) -> SiteState:
        return SiteState(site_id=site_id, parent_id=parent, path=path,
                         depth=path.count("/") - 2, name=str(site_id),
                         name_key=str(site_id), kind="ward", readiness="not_connected",
                         expected=10)

    return Board(1, 0, [state(1, None, "/1/"), state(2, 1, "/1/2/"),
                        state(3, 2, "/1/2/3/"), state(4, 3, "/1/2/3/4/"),
                        state(5, 1, "/1/5/")])


def test_board_changes_keep_every_level_equal_to_its_subtree() -> None:
    board = _board()
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


def test_board_marks_unknown_site_for_reload() -> None:
    board = _board()
    board.checked_in(999)
    assert board.unknown_site and board.totals(None)["checked_in"] == 0


def test_present_is_checked_in_or_the_higher_headcount() -> None:
    assert present(3, None) == 3
    assert present(3, 10) == 10
    assert present(12, 10) == 12
    assert present(0, 0) == 0


def test_board_totals_at_every_level_from_loaded_counts() -> None:
    sites = [
        SiteState(site_id=1, parent_id=None, path="/1/", depth=0, name="Trung ương",
                  name_key="trung uong", kind="central", readiness="ready", expected=5,
                  online=True, checked_in=2),
        SiteState(site_id=2, parent_id=1, path="/1/2/", depth=1, name="Hà Nội",
                  name_key="ha noi", kind="hub", readiness="not_connected", expected=7,
                  checked_in=1, headcount=6),
        SiteState(site_id=3, parent_id=2, path="/1/2/3/", depth=2, name="Ba Đình",
                  name_key="ba dinh", kind="ward", readiness="not_participating", expected=9,
                  checked_in=4),
    ]
    board = Board(1, 0, sites)
    assert board.totals(None) == {
        "sites": 2, "sites_online": 1, "sites_ready": 1, "sites_missing": 1,
        "checked_in": 7, "headcount": 6, "expected": 12, "present": 2 + 6 + 4,
        "sites_ready_offline": 0,
    }
    assert board.totals(2) == {
        "sites": 1, "sites_online": 0, "sites_ready": 0, "sites_missing": 1,
        "checked_in": 5, "headcount": 6, "expected": 7, "present": 10,
        "sites_ready_offline": 0,
    }
    assert board.sites[2].rollup_row()["totals"] == board.totals(2)
    assert list(board.totals(None)) == list(COUNTERS)


def test_ready_site_without_a_screen_online_is_counted_apart() -> None:
    """Marked sẵn sàng but offline: missing, and said to be ready-but-offline, up the tree."""
    sites = [
        SiteState(site_id=1, parent_id=None, path="/1/", depth=0, name="Tỉnh",
                  name_key="tinh", kind="hub", readiness="ready", expected=0, online=True),
        SiteState(site_id=2, parent_id=1, path="/1/2/", depth=1, name="Xã A",
                  name_key="xa a", kind="commune", readiness="ready", expected=0),
        SiteState(site_id=3, parent_id=1, path="/1/3/", depth=1, name="Xã B",
                  name_key="xa b", kind="commune", readiness="not_connected", expected=0),
    ]
    board = Board(1, 0, sites)
    totals = board.totals(None)
    assert (totals["sites_missing"], totals["sites_ready_offline"]) == (2, 1)
    board.set_online(2, True)
    totals = board.totals(None)
    assert (totals["sites_missing"], totals["sites_ready_offline"]) == (1, 0)


def test_set_site_renames_and_filter_finds_without_diacritics() -> None:
    board = _board()
    board.set_site(4, readiness="ready", expected=10, name="Phường Đa Kao")
    found = filter_rows(board, root=None, q="da kao")
    assert [r["site_id"] for r in found.rows] == [4]
    assert board.dirty == {4}


def test_snapshot_body_of_a_subtree() -> None:
    board = _board()
    board.checked_in(4)
    board.note_incident({"id": 1, "site_id": 5, "opened_at": "2025-09-09T08:00:00"})
    board.note_incident({"id": 2, "site_id": 4, "opened_at": "2025-09-09T08:01:00"})
    scope = Scope(conference_id=1, session_id=None, root=2)
    body = snapshot_body(board, scope, Counter({"2025-09-09T08:01": 1}), version=7)
    assert (body["type"], body["version"], body["scope_site_id"]) == ("snapshot", 7, 2)
    assert [r["site_id"] for r in body["sites"]] == [2, 3, 4]
    assert {r["site_id"] for r in body["rollups"]} == {2, 3}
    assert body["totals"]["checked_in"] == 1 and body["sites_complete"] is True
    assert body["arrivals"] == [["2025-09-09T08:01", 1]]
    assert [i["id"] for i in body["incidents"]] == [2]  # site 5 is outside the subtree
    assert scope.session_key == 0


def test_local_minute_is_vietnam_time() -> None:
    assert local_minute(datetime(2025, 9, 9, 23, 30, tzinfo=UTC)) == "2025-09-10T06:30"



def test_sync_marks_the_row_and_lists_the_scope_newest_first() -> None:
    board = _board()
    today = date(2026, 12, 8)
    at = datetime(2026, 12, 8, 2, 41, tzinfo=UTC)  # 09:41 in Vietnam
    board.note_sync(4, SyncSummary.of(checkins=200, headcounts=0, refused=0, oldest=None,
                                      at=at), today=today)
    board.note_sync(4, SyncSummary.of(checkins=112, headcounts=0, refused=0, oldest=None,
                                      at=at + timedelta(seconds=3)), today=today)
    board.note_sync(5, SyncSummary.of(checkins=9, headcounts=0, refused=0, oldest=None,
                                      at=at + timedelta(minutes=1)), today=today)
    assert board.dirty == {4, 5} and board.syncs_dirty
    row = board.sites[4].row()
    assert row["sync"]["text"] == "đồng bộ 312 lượt điểm danh lúc 09:41"
    assert [v["site_id"] for v in board.syncs_for(None)] == [5, 4]
    assert [v["site_id"] for v in board.syncs_for(2)] == [4]  # site 5 is elsewhere
    # A sync changes no count: the check-ins it carried come as check-ins of their own.
    assert board.totals(None)["checked_in"] == 0
    scope = Scope(conference_id=1, session_id=None, root=3)
    assert [v["site_id"] for v in snapshot_body(board, scope, Counter(), 1)["syncs"]] == [4]


def test_sync_of_an_unknown_site_asks_for_a_reload() -> None:
    board = _board()
    board.note_sync(999, SyncSummary.of(checkins=1, headcounts=0, refused=0, oldest=None,
                                        at=datetime(2026, 12, 8, tzinfo=UTC)),
                    today=date(2026, 12, 8))
    assert board.unknown_site and board.syncs_for(None) == []
