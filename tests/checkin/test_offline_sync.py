"""Offline sync (service): queued scans recorded once at their own times, in order, with
every refusal coded; headcounts, readiness and incidents applied once, in order. Runs on
SQLite and PostgreSQL (the `wdb` fixture)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.config import Settings
from checkin import events, offline_sync, service
from checkin import roster as checkin_roster
from checkin.models import Attendance, Headcount, ScanFailure
from checkin.offline_models import OfflineReceipt, OfflineSync, SyncItem
from checkin.offline_sync import ItemResult, SyncTally
from endpoints.models import Incident, Participation, Readiness
from sessions import service as sessions_service
from sessions.models import SessionCreate
from tests.checkin.support import Roster, code_for, signed
from tests.conftest import Tree

# The test conference is on 9 September 2025 (Asia/Ho_Chi_Minh); the sync at 11:00 there.
NOW = datetime(2025, 9, 9, 4, 0, tzinfo=UTC)
AT_0910 = "2025-09-09T09:10:00+07:00"
ITEMS: TypeAdapter[list[SyncItem]] = TypeAdapter(list[SyncItem])


def _sync(db: Session, site_id: int, actor: User, settings: Settings, items: list[dict[str, Any]],
          published: list[str] | None = None, now: datetime = NOW) -> list[ItemResult]:
    def publish(channel: str, message: str) -> None:
        if published is not None:
            published.append(message)
    return offline_sync.sync_items(
        db, site_id=site_id, items=ITEMS.validate_python(items), device="Bàn 1", actor=actor,
        settings=settings, publish=publish, now=now)


def _scan(code: str, nonce: str, at: str = AT_0910, **more: Any) -> dict[str, Any]:
    return {"kind": "scan", "nonce": nonce, "at": at, "code": code, **more}


def _rows(db: Session) -> list[tuple[int, int, datetime]]:
    db.rollback()
    rows = db.exec(select(Attendance).order_by(col(Attendance.id))).all()
    return [(r.attendee_id, r.session_key, r.checked_in_at) for r in rows]


def test_scans_are_recorded_at_their_own_time_once_even_when_replayed(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    an, binh = code_for(wdb, roster.an, settings), roster.binh.short_code
    items = [_scan(an, "q-1"), _scan(binh, "q-2", "2025-09-09T09:41:30+07:00", method="search")]
    published: list[str] = []
    first = _sync(wdb, tree.ward_a1, admin, settings, items, published)
    assert [(r.outcome, r.status, r.new_checkin) for r in first] == [
        ("accepted", "checked_in", True), ("accepted", "checked_in", True)]
    assert first[0].at == datetime(2025, 9, 9, 2, 10, tzinfo=UTC)
    assert first[0].attendee is not None and first[0].attendee.full_name == "Nguyễn Văn An"
    assert _rows(wdb) == [(roster.an.id, 0, datetime(2025, 9, 9, 2, 10, tzinfo=UTC)),
                          (roster.binh.id, 0, datetime(2025, 9, 9, 2, 41, 30, tzinfo=UTC))]
    row = wdb.exec(select(Attendance).where(Attendance.attendee_id == roster.binh.id)).one()
    assert row.method == "search" and row.device == "Bàn 1" and row.synced_at is not None
    # Each new check-in is announced at its original time.
    sent = [events.decode(m) for m in published]
    assert [m.at for m in sent if isinstance(m, events.CheckinMessage)] == [
        datetime(2025, 9, 9, 2, 10, tzinfo=UTC), datetime(2025, 9, 9, 2, 41, 30, tzinfo=UTC)]
    # The whole queue again (the answer was lost on the way): the same answers, nothing new.
    again = _sync(wdb, tree.ward_a1, admin, settings, items, published)
    assert [(r.outcome, r.at, r.new_checkin) for r in again] == [
        ("accepted", first[0].at, False), ("accepted", first[1].at, False)]
    assert len(_rows(wdb)) == 2 and len(published) == 2


def test_a_person_scanned_online_meanwhile_is_counted_once(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    an = code_for(wdb, roster.an, settings)
    online = service.check_in(wdb, code=an, site_id=tree.hub_a, actor=admin, nonce="live-1",
                              settings=settings)
    out = _sync(wdb, tree.ward_a1, admin, settings, [_scan(an, "q-1")])
    assert out[0].outcome == "already" and out[0].status == "already_checked_in"
    assert out[0].at == online.checked_in_at and not out[0].new_checkin
    assert [(a, s) for a, s, _ in _rows(wdb)] == [(roster.an.id, 0)]


def test_items_are_applied_in_queue_order(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    an = code_for(wdb, roster.an, settings)
    out = _sync(wdb, tree.ward_a1, admin, settings, [
        _scan(an, "q-1", "2025-09-09T09:05:00+07:00"),
        {"kind": "headcount", "nonce": "h-1", "at": "2025-09-09T09:06:00+07:00",
         "counts": {"dai_bieu": 30}},
        _scan(an, "q-2", "2025-09-09T09:07:00+07:00"),  # the same person, scanned twice
        {"kind": "incident", "nonce": "i-1", "at": "2025-09-09T09:08:00+07:00",
         "reason": "Mất điện"},
        {"kind": "ready", "nonce": "r-1", "at": "2025-09-09T09:30:00+07:00"},
    ])
    assert [(r.kind, r.outcome) for r in out] == [
        ("scan", "accepted"), ("headcount", "accepted"), ("scan", "already"),
        ("incident", "accepted"), ("ready", "accepted")]
    assert out[2].at == datetime(2025, 9, 9, 2, 5, tzinfo=UTC)  # the first scan's time
    wdb.rollback()
    incident = wdb.exec(select(Incident)).one()
    assert incident.opened_at == datetime(2025, 9, 9, 2, 8, tzinfo=UTC)
    # "ready" came after it in the queue: it closes it at the time it was tapped.
    assert incident.resolved_at == datetime(2025, 9, 9, 2, 30, tzinfo=UTC)
    part = wdb.exec(select(Participation).where(Participation.site_id == tree.ward_a1)).one()
    assert part.readiness == Readiness.ready


def test_headcounts_and_incidents_are_applied_once(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    items: list[dict[str, Any]] = [
        {"kind": "headcount", "nonce": "h-1", "at": AT_0910, "counts": {"dai_bieu": 30}},
        {"kind": "incident", "nonce": "i-1", "at": AT_0910, "reason": "Mất sóng"}]
    first = _sync(wdb, tree.ward_a2, admin, settings, items)
    again = _sync(wdb, tree.ward_a2, admin, settings, items)
    assert [r.outcome for r in first + again] == ["accepted"] * 4
    wdb.rollback()
    reports = wdb.exec(select(Headcount)).all()
    assert [(h.total, h.reported_at) for h in reports] == [
        (30, datetime(2025, 9, 9, 2, 10, tzinfo=UTC))]
    assert len(wdb.exec(select(Incident)).all()) == 1
    assert len(wdb.exec(select(OfflineReceipt)).all()) == 2


def test_a_headcount_counted_before_the_current_one_only_joins_the_history(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    _sync(wdb, tree.ward_a2, admin, settings, [
        {"kind": "headcount", "nonce": "h-2", "at": "2025-09-09T10:00:00+07:00",
         "counts": {"dai_bieu": 45}}])
    _sync(wdb, tree.ward_a2, admin, settings, [
        {"kind": "headcount", "nonce": "h-1", "at": "2025-09-09T09:00:00+07:00",
         "counts": {"dai_bieu": 30}}])
    wdb.rollback()
    current = wdb.exec(select(Headcount).where(col(Headcount.superseded).is_(False))).one()
    assert current.total == 45
    assert len(wdb.exec(select(Headcount)).all()) == 2


@pytest.mark.parametrize(("at", "code"), [
    ("2025-09-09T11:05:00+07:00", "scan_time_future"),  # 5 minutes after the server's now
    ("2025-09-08T21:00:00+07:00", "scan_too_old"),  # 14 hours before it
    ("2025-09-08T23:30:00+07:00", "scan_time_outside_conference"),  # the day before
])
def test_impossible_times_are_refused_with_a_code(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings, at: str,
    code: str
) -> None:
    an = code_for(wdb, roster.an, settings)
    out = _sync(wdb, tree.ward_a1, admin, settings, [
        _scan(an, "q-1", at),
        {"kind": "headcount", "nonce": "h-1", "at": at, "counts": {"dai_bieu": 3}}])
    assert out[0].outcome == "refused" and out[0].code == code and out[0].detail
    assert _rows(wdb) == []
    failures = wdb.exec(select(ScanFailure.reason)).all()
    assert failures == [code]  # kept like a refused live scan
    if code != "scan_time_outside_conference":  # a headcount has no day rule
        assert out[1].outcome == "refused" and out[1].code == code


def test_the_clock_limits_come_from_the_settings(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    an = code_for(wdb, roster.an, settings)
    wide = settings.model_copy(update={"offline_max_age_minutes": 24 * 60,
                                       "offline_clock_skew_seconds": 600})
    out = _sync(wdb, tree.ward_a1, admin, wide, [_scan(an, "q-1", "2025-09-09T11:05:00+07:00"),
                                                _scan(an, "q-2", "2025-09-09T00:30:00+07:00")])
    assert [r.outcome for r in out] == ["accepted", "already"]


def test_a_session_scan_outside_the_session_is_refused(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    session = sessions_service.create_session(
        wdb, conference_id=tree.cid, actor=admin, data=SessionCreate.model_validate(
            {"title": "Phiên khai mạc", "starts_at": "2025-09-09T09:00:00+07:00",
             "ends_at": "2025-09-09T10:00:00+07:00"}))
    an, binh = roster.an.short_code, roster.binh.short_code
    out = _sync(wdb, tree.ward_a1, admin, settings, [
        _scan(an, "q-1", "2025-09-09T10:30:00+07:00", session_id=session.id),  # after it
        _scan(binh, "q-2", "2025-09-09T07:30:00+07:00", session_id=session.id),  # door opens
    ])
    assert out[0].code == "scan_time_outside_session"
    assert out[1].outcome == "accepted"
    assert sorted((a, s) for a, s, _ in _rows(wdb)) == [(roster.binh.id, 0),
                                                        (roster.binh.id, session.id)]


def test_tampered_revoked_and_foreign_passes_are_refused(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    an = code_for(wdb, roster.an, settings)
    tampered = an[:-3] + ("AAA" if not an.endswith("AAA") else "BBB")
    other = signed(wdb, settings, conference_id=tree.cid + 99, attendee_id=roster.an.id)
    old = code_for(wdb, roster.binh, settings)
    assert roster.binh.id is not None
    checkin_roster.reissue_pass(wdb, attendee_id=roster.binh.id, actor=admin)  # old: revoked
    out = _sync(wdb, tree.ward_a1, admin, settings, [
        _scan(tampered, "q-1"), _scan(other, "q-2"), _scan(old, "q-3"), _scan("xx", "q-4")])
    assert [r.code for r in out] == ["pass_bad_signature", "pass_other_conference",
                                     "pass_revoked", "pass_malformed"]
    assert _rows(wdb) == []


def test_a_coordinator_out_of_scope_cannot_sync(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings,
    coordinator_a: User
) -> None:
    from endpoints.errors import SiteOutOfScope
    with pytest.raises(SiteOutOfScope):
        _sync(wdb, tree.ward_b1, coordinator_a, settings,
              [_scan(roster.cuong.short_code, "q-1")])
    out = _sync(wdb, tree.ward_a1, coordinator_a, settings, [_scan(roster.an.short_code, "q-1")])
    assert out[0].outcome == "accepted"


def test_record_sync_keeps_a_row_and_tells_the_dashboards(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    items = [_scan(roster.an.short_code, "q-1", "2025-09-09T09:01:00+07:00"),
             _scan(roster.binh.short_code, "q-2"), _scan("xx", "q-3")]
    results = _sync(wdb, tree.ward_a1, admin, settings, items)
    tally = SyncTally()
    tally.add(results, ITEMS.validate_python(items))
    published: list[str] = []
    row = offline_sync.record_sync(wdb, site_id=tree.ward_a1, tally=tally, device="Bàn 1",
                                   publish=lambda c, m: published.append(m), now=NOW)
    assert row is not None
    assert (row.checkins, row.refused, row.oldest_at) == (
        2, 1, datetime(2025, 9, 9, 2, 1, tzinfo=UTC))
    message = events.decode(published[0])
    assert isinstance(message, events.SyncedMessage)
    assert (message.site_id, message.checkins, message.at) == (tree.ward_a1, 2, NOW)
    later = offline_sync.record_sync(wdb, site_id=tree.ward_a1, tally=tally, device=None,
                                     publish=None, now=NOW + timedelta(minutes=5))
    assert later is not None
    latest = offline_sync.latest_syncs(wdb, conference_id=tree.cid)
    assert list(latest) == [tree.ward_a1] and latest[tree.ward_a1].id == later.id
    assert len(wdb.exec(select(OfflineSync)).all()) == 2
