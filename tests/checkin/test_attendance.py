"""Attendance counts: the dashboard, the /attendance summary, the report and the missing list
read the same figures (checked in, headcount, expected, present, online) per site and in total."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import TypeAdapter
from sqlmodel import Session

from app.accounts.models import User
from app.config import Settings
from app.db import utcnow
from checkin import attendance, dashboard, errors, headcounts, offline_sync, reports, service
from checkin.board import Board, local_minute
from checkin.models import Attendance
from checkin.offline_models import SyncItem
from checkin.offline_sync import SyncTally
from endpoints import errors as endpoints_errors
from endpoints import presence, site_changes
from endpoints import service as endpoints_service
from endpoints.models import Readiness, SiteUpdate
from endpoints.screen_models import ScreenDevice
from sessions import service as sessions_service
from sessions.models import SessionCreate
from tests.checkin.support import Roster, arrange_board, code_for, second_conference
from tests.conftest import Tree


def _online_by_presence_only(wdb: Session, tree: Tree) -> None:
    """Ward B1's screen was seen 60 s ago: online under a 90 s presence timeout, which the
    old 45 s screen window of the summary would have called offline."""
    wdb.add(ScreenDevice(site_id=tree.ward_b1, name="Tivi",
                         enrolled_at=utcnow(), last_seen_at=utcnow() - timedelta(seconds=60)))
    wdb.commit()
    presence.record_transitions(wdb, timeout_seconds=90)


def test_dashboard_summary_report_and_missing_list_agree(
    wdb: Session, db: Session, admin: User, tree: Tree, settings: Settings
) -> None:
    arrange_board(wdb, admin, tree, settings)
    _online_by_presence_only(wdb, tree)
    body = dashboard.dashboard_snapshot(db, conference_id=tree.cid, actor=admin).body
    summary = attendance.attendance_summary(db, conference_id=tree.cid, actor=admin)
    report = reports.attendance_report(db, conference_id=tree.cid, actor=admin)
    lines = list(csv.reader(io.StringIO(
        b"".join(reports.csv_chunks(reports.site_csv_rows(report))).decode("utf-8-sig"))))
    missing = endpoints_service.missing_sites(db, conference_id=tree.cid, actor=admin)

    board_rows = {r["site_id"]: r for r in body["sites"]}
    summary_rows = {s.site_id: s for s in summary.sites}
    csv_rows = {r.site_id: line for r, line in zip(report.rows, lines[1:-1], strict=True)}
    assert set(board_rows) == set(summary_rows) == set(csv_rows)
    for site_id, row in board_rows.items():
        s, line = summary_rows[site_id], csv_rows[site_id]
        assert (row["checked_in"], row["headcount"], row["expected"], row["present"]) == (
            s.checked_in, s.headcount, s.expected, s.present), site_id
        assert line[5:9] == [str(s.expected), str(s.checked_in),
                             "" if s.headcount is None else str(s.headcount), str(s.present)]
        assert row["online"] == (s.online_screens > 0), site_id
    online = {site_id for site_id, row in board_rows.items() if row["online"]}
    assert online == {tree.ward_a1, tree.ward_b1}
    assert {m.site_id for m in missing.sites if m.online} == online & {m.site_id
                                                                       for m in missing.sites}
    assert tree.ward_b1 in {m.site_id for m in missing.sites if m.online}  # online, not ready
    totals, total_line = body["totals"], lines[-1]
    assert totals["checked_in"] == summary.checked_in == report.totals.checked_in == 7
    assert totals["headcount"] == summary.headcount == report.totals.headcount == 5
    assert totals["present"] == summary.present == report.totals.present == 12
    assert totals["expected"] == summary.expected == report.totals.expected == 68
    assert totals["sites_online"] == summary.sites_online == 2
    assert total_line[5:9] == ["68", "7", "5", "12"]


def test_coordinator_scope_agrees_between_dashboard_summary_and_report(
    wdb: Session, db: Session, admin: User, tree: Tree, settings: Settings, coordinator_a: User
) -> None:
    arrange_board(wdb, admin, tree, settings)
    body = dashboard.dashboard_snapshot(db, conference_id=tree.cid, actor=coordinator_a).body
    summary = attendance.attendance_summary(db, conference_id=tree.cid, actor=coordinator_a)
    report = reports.attendance_report(db, conference_id=tree.cid, actor=coordinator_a)
    assert {r["site_id"] for r in body["sites"]} == {s.site_id for s in summary.sites} == {
        r.site_id for r in report.rows}
    for key in ("checked_in", "headcount", "present"):
        assert body["totals"][key] == getattr(summary, key) == getattr(report.totals, key), key


def test_attendance_summary_totals_and_per_site(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    site_changes.update_site(
        wdb, site_id=tree.ward_a1, actor=admin, data=SiteUpdate(expected_attendees=60)
    )
    for a in (roster.an, roster.cuong):
        service.check_in(
            wdb, code=a.short_code, site_id=tree.ward_a1, actor=admin, settings=settings
        )
    with pytest.raises(errors.PassMalformed):
        service.check_in(wdb, code="??", site_id=tree.ward_a1, actor=admin, settings=settings)
    headcounts.report_headcount(
        wdb, site_id=tree.ward_b1, session_id=None, counts={"dai_bieu": 10}, actor=admin
    )
    summary = attendance.attendance_summary(wdb, conference_id=tree.cid, actor=admin)
    by_site = {s.site_id: s for s in summary.sites}
    a1 = by_site[tree.ward_a1]
    assert (a1.checked_in, a1.foreign, a1.registered, a1.expected) == (2, 1, 2, 60)
    assert by_site[tree.ward_b1].headcount == 10 and by_site[tree.ward_b1].present == 10
    assert (summary.checked_in, summary.headcount, summary.present, summary.registered) == (
        2,
        10,
        12,
        3,
    )
    assert summary.failed_scans == 1
    narrowed = attendance.attendance_summary(
        wdb, conference_id=tree.cid, actor=admin, site_id=tree.ward_a1
    )
    assert [s.site_id for s in narrowed.sites] == [tree.ward_a1]


def test_session_counts_per_session_and_refusal_of_another_conference_session(
    wdb: Session, admin: User, tree: Tree, roster: Roster, settings: Settings
) -> None:
    opening = sessions_service.create_session(
        wdb, conference_id=tree.cid, actor=admin,
        data=SessionCreate(title="Khai mạc", starts_at=utcnow(),
                           ends_at=utcnow() + timedelta(hours=1)),
    )
    assert opening.id is not None
    service.check_in(wdb, code=roster.an.short_code, site_id=tree.ward_a1, actor=admin,
                     session_id=opening.id, settings=settings)
    headcounts.report_headcount(wdb, site_id=tree.ward_b1, session_id=opening.id,
                                counts={"dai_bieu": 4}, actor=admin)
    counts = attendance.session_counts(wdb, conference_id=tree.cid,
                                       site_ids={tree.ward_a1, tree.ward_b1})
    # The conference level counts the session's check-in (not its headcount).
    assert counts == {opening.id: (1, 4, 5), 0: (1, 0, 1)}
    assert attendance.session_counts(wdb, conference_id=tree.cid, site_ids=set()) == {}
    with pytest.raises(errors.CheckinSessionNotFound):
        attendance.session_key_for(wdb, conference_id=tree.cid + 1, session_id=opening.id)
    assert attendance.session_key_for(wdb, conference_id=tree.cid, session_id=None) == 0


def test_stale_transitions_do_not_reach_snapshot_of_other_session(
    wdb: Session, db: Session, admin: User, tree: Tree, settings: Settings
) -> None:
    arrange_board(wdb, admin, tree, settings)
    board, _ = attendance.load_board(db, conference_id=tree.cid, session_key=999)
    assert Board.totals(board, None)["checked_in"] == 0
    assert board.totals(None)["sites_online"] == 1  # presence is not per session


def test_arrivals_are_counted_per_local_minute(
    wdb: Session, db: Session, admin: User, tree: Tree, settings: Settings
) -> None:
    arrange_board(wdb, admin, tree, settings)
    counts = attendance.load_arrivals(db, conference_id=tree.cid, session_key=0, root_path=None)
    assert sum(counts.values()) == 7
    now_local = local_minute(utcnow())
    earlier = local_minute(utcnow() - timedelta(minutes=1))
    assert set(counts) <= {now_local, earlier}


def test_load_sites_are_the_participants_with_the_participations_fields(
    wdb: Session, tree: Tree, admin: User
) -> None:
    second = second_conference(wdb, admin, tree, [tree.ward_a1])
    site_changes.update_site(wdb, site_id=tree.ward_a1, conference_id=second, actor=admin,
                             data=SiteUpdate(expected_attendees=25, readiness=Readiness.ready))
    # Renamed while the second conference runs: it follows; the first (ended) keeps its name.
    site_changes.update_site(wdb, site_id=tree.ward_a1, data=SiteUpdate(name="Phường Sài Gòn"),
                             actor=admin)
    now = {s.site_id: s for s in attendance.load_sites(wdb, conference_id=second,
                                                       session_key=0)}
    then = {s.site_id: s for s in attendance.load_sites(wdb, conference_id=tree.cid,
                                                        session_key=0)}
    assert set(now) == {tree.central, tree.hub_a, tree.ward_a1}  # invited with its ancestors
    assert len(then) == 6
    assert (now[tree.ward_a1].name, now[tree.ward_a1].expected, now[tree.ward_a1].readiness) == (
        "Phường Sài Gòn", 25, "ready")
    assert (then[tree.ward_a1].name, then[tree.ward_a1].expected,
            then[tree.ward_a1].readiness) == ("Đảng ủy phường Bến Nghé", 0, "not_connected")
    hub = endpoints_service.load_site(wdb, tree.hub_a)
    below = attendance.load_sites(wdb, conference_id=second, session_key=0, path=hub.path)
    assert [s.site_id for s in below] == [tree.hub_a, tree.ward_a1]
    with pytest.raises(endpoints_errors.SiteNotInConference):
        attendance.attendance_summary(wdb, conference_id=second, actor=admin,
                                      site_id=tree.ward_b1)


def test_a_synced_queue_counts_in_the_minutes_scanned_and_shows_as_one_return(
    wdb: Session, db: Session, admin: User, tree: Tree, roster: Roster, settings: Settings
) -> None:
    """A ward sends its queue in two requests: the board's row reads their sum (as the live
    messages add up), and the arrivals are at 09:10 and 09:41, not at the sync."""
    sync_at = datetime(2025, 9, 9, 4, 0, tzinfo=UTC)  # 11:00 in Vietnam
    items = TypeAdapter(list[SyncItem])
    for n, (person, at) in enumerate(((roster.an, "09:10"), (roster.binh, "09:41"))):
        queued = items.validate_python([
            {"kind": "scan", "nonce": f"q-{n}", "at": f"2025-09-09T{at}:00+07:00",
             "code": code_for(wdb, person, settings)}])
        now = sync_at + timedelta(seconds=n)
        tally = SyncTally()
        tally.add(offline_sync.sync_items(
            wdb, site_id=tree.ward_a1, device="Bàn 1", actor=admin, settings=settings,
            publish=None, now=now, items=queued), queued)
        offline_sync.record_sync(wdb, site_id=tree.ward_a1, tally=tally, device="Bàn 1",
                                 publish=None, now=now)
    board, _ = attendance.load_board(db, conference_id=tree.cid, session_key=0)
    row = board.sites[tree.ward_a1].row()
    assert row["checked_in"] == 2
    assert row["sync"]["text"] == (
        "đồng bộ 2 lượt điểm danh lúc 11:00 ngày 09/09/2025 (ghi từ 09:10 ngày 09/09/2025)")
    assert [v["site_id"] for v in board.syncs_for(None)] == [tree.ward_a1]
    counts = attendance.load_arrivals(db, conference_id=tree.cid, session_key=0, root_path=None)
    assert counts == {"2025-09-09T09:10": 1, "2025-09-09T09:41": 1}


def test_a_check_in_synced_just_now_is_recent_whatever_its_scan_time(
    wdb: Session, db: Session, tree: Tree, roster: Roster
) -> None:
    """Its message may still be on the way when a dashboard loads: the load tells the
    coalescer not to count it again, though it was scanned 40 minutes ago."""
    assert roster.an.id is not None and roster.binh.id is not None
    now = utcnow()
    wdb.add(Attendance(conference_id=tree.cid, attendee_id=roster.an.id, site_id=tree.ward_a1,
                       checked_in_at=now - timedelta(minutes=40), synced_at=now))
    wdb.add(Attendance(conference_id=tree.cid, attendee_id=roster.binh.id, site_id=tree.ward_a1,
                       checked_in_at=now - timedelta(minutes=40)))
    wdb.commit()
    _, recent = attendance.load_board(db, conference_id=tree.cid, session_key=0)
    assert recent == {roster.an.id}
