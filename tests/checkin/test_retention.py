"""The retention purge's use cases on SQLite and PostgreSQL: which conferences are due,
the preview, refusals that change nothing, the purge itself, its one audit entry,
idempotence, and old passes refused afterwards."""

from datetime import date, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.audit.models import AuditEntry, AuditKey
from app.audit.verify import verify
from app.config import Settings
from app.db import local_today, utcnow
from app.errors import AppError
from checkin import errors, retention, service
from checkin.anonymise import ANONYMOUS
from checkin.models import Attendance, Attendee, AttendeeWord, ScanFailure
from checkin.privacy_models import DataRequest, RequestKind
from endpoints import coordinators
from endpoints import errors as endpoints_errors
from endpoints import service as endpoints_service
from endpoints.models import Conference, ConferenceCreate
from sessions.floor_models import FloorQuestion, FloorRequest
from tests.checkin.support import Roster, code_for
from tests.conftest import Tree
from tests.sessions.floor_support import spoken_session

# The test tree's conference ended on 9/9/2025 and keeps identities 90 days.
KEPT_UNTIL = date(2025, 12, 8)
DUE_DAY = KEPT_UNTIL + timedelta(days=1)


def _arrange(wdb: Session, roster: Roster, tree: Tree, admin: User) -> None:
    """Phones for two of three, a check-in with a device label, a refused staff scan
    with details, an attendee's request with text."""
    for person, phone in ((roster.an, "0912345678"), (roster.binh, "0987654321")):
        wdb.execute(update(Attendee).where(col(Attendee.id) == person.id).values(phone=phone))
    wdb.add(Attendance(conference_id=tree.cid, attendee_id=roster.an.id or 0,
                       site_id=tree.ward_a1, device="Máy quét bàn 1"))
    wdb.add(ScanFailure(conference_id=tree.cid, site_id=tree.ward_a1, code_prefix="eyJr",
                        reason="pass_expired", device="Máy quét bàn 2", actor_id=admin.id))
    wdb.add(DataRequest(conference_id=tree.cid, attendee_id=roster.binh.id or 0,
                        kind=RequestKind.correct, message="Tên tôi là Trần Thị Bính",
                        outcome="Đã sửa"))
    wdb.commit()


def _names(db: Session, cid: int) -> list[str]:
    db.rollback()
    return sorted(db.exec(select(Attendee.full_name).where(Attendee.conference_id == cid)).all())


def _conference(db: Session, cid: int) -> Conference:
    db.rollback()
    found = db.get(Conference, cid, populate_existing=True)
    assert found is not None
    return found


def _purges(db: Session) -> list[AuditEntry]:
    db.rollback()
    return list(db.exec(select(AuditEntry).where(AuditEntry.action == "purge")).all())


def _move(wdb: Session, cid: int, *, ends_on: date, retention_days: int = 90) -> None:
    wdb.execute(update(Conference).where(col(Conference.id) == cid).values(
        starts_on=ends_on, ends_on=ends_on, retention_days=retention_days))
    wdb.commit()


# ------------------------------------------------------------------ due, plan


def test_due_conferences_are_ended_past_retention_and_not_purged(
    wdb: Session, tree: Tree, admin: User
) -> None:
    today = local_today()
    running = endpoints_service.create_conference(
        wdb, data=ConferenceCreate(title="Đang họp", starts_on=today, ends_on=today), actor=admin)
    recent = endpoints_service.create_conference(
        wdb, data=ConferenceCreate(title="Vừa họp", starts_on=today - timedelta(days=5),
                                   ends_on=today - timedelta(days=5)), actor=admin)
    assert {c.id for c in retention.due_conferences(wdb, today=today)} == {tree.cid}
    assert retention.due_conferences(wdb, today=KEPT_UNTIL) == []
    _move(wdb, recent.id or 0, ends_on=today - timedelta(days=5), retention_days=1)
    due = {c.id for c in retention.due_conferences(wdb, today=today)}
    assert due == {tree.cid, recent.id} and running.id not in due
    wdb.execute(update(Conference).where(col(Conference.id) == tree.cid)
                .values(purged_at=utcnow()))
    wdb.commit()
    assert {c.id for c in retention.due_conferences(wdb, today=today)} == {recent.id}


def test_plan_counts_what_would_change_and_changes_nothing(
    wdb: Session, roster: Roster, tree: Tree, admin: User, db: Session
) -> None:
    _arrange(wdb, roster, tree, admin)
    before = _names(db, tree.cid)
    plan = retention.purge_plan(wdb, conference_id=tree.cid, today=DUE_DAY)
    assert (plan.attendees, plan.phones, plan.failed_scans, plan.devices, plan.requests) == (
        3, 2, 1, 1, 1)
    assert (plan.kept_until, plan.ended, plan.due, plan.purged_at) == (
        KEPT_UNTIL, True, True, None)
    assert not retention.purge_plan(wdb, conference_id=tree.cid, today=KEPT_UNTIL).due
    assert _names(db, tree.cid) == before == ["Lê Văn Cường", "Nguyễn Văn An", "Trần Thị Bình"]
    assert _purges(db) == []
    with pytest.raises(endpoints_errors.ConferenceNotFound):
        retention.purge_plan(wdb, conference_id=999_999, today=DUE_DAY)


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(("ends_in", "early", "code"), [
    (0, False, "conference_not_ended"),  # the last day is today: still running
    (0, True, "conference_not_ended"),  # early or not, a running conference is refused
    (5, False, "conference_not_ended"),  # not started yet
    (-10, False, "retention_not_over"),  # ended, 80 days of retention left
])
def test_refused_purge_changes_nothing(
    wdb: Session, roster: Roster, tree: Tree, admin: User, db: Session,
    ends_in: int, early: bool, code: str,
) -> None:
    _arrange(wdb, roster, tree, admin)
    today = local_today()
    _move(wdb, tree.cid, ends_on=today + timedelta(days=ends_in))
    before = _names(db, tree.cid)
    with pytest.raises(AppError) as caught:
        retention.purge(wdb, conference_id=tree.cid, today=today, early=early)
    assert (caught.value.status_code, caught.value.code) == (409, code)
    assert _names(db, tree.cid) == before
    assert _conference(db, tree.cid).purged_at is None
    assert db.exec(select(ScanFailure.code_prefix)).all() == ["eyJr"]
    assert _purges(db) == []


def test_early_purge_of_an_ended_conference_needs_the_confirmation(
    wdb: Session, roster: Roster, tree: Tree, db: Session
) -> None:
    today = local_today()
    _move(wdb, tree.cid, ends_on=today - timedelta(days=1))
    with pytest.raises(errors.RetentionNotOver) as caught:
        retention.purge(wdb, conference_id=tree.cid, today=today)
    assert caught.value.extra == {"kept_until": (today + timedelta(days=89)).isoformat()}
    report = retention.purge(wdb, conference_id=tree.cid, today=today, early=True)
    assert report.early and report.attendees == 3
    assert all(n.startswith(ANONYMOUS) for n in _names(db, tree.cid))
    (entry,) = _purges(db)
    assert entry.detail is not None and entry.detail["early"] is True


# ------------------------------------------------------------------ the purge


def test_purge_replaces_identities_clears_details_and_keeps_counts(
    wdb: Session, roster: Roster, tree: Tree, admin: User, db: Session, engine: Engine
) -> None:
    _arrange(wdb, roster, tree, admin)
    report = retention.purge(wdb, conference_id=tree.cid, today=DUE_DAY)
    assert (report.attendees, report.phones, report.failed_scans, report.devices,
            report.requests, report.early) == (3, 2, 1, 1, 1, False)
    db.rollback()
    people = db.exec(select(Attendee).where(Attendee.conference_id == tree.cid)).all()
    assert len(people) == 3
    for person in people:
        assert person.full_name.startswith(f"{ANONYMOUS} ") and person.erased_at is not None
        assert (person.unit, person.position, person.phone) == (None, None, None)
        assert person.revoked and person.pass_version == 2
    assert db.exec(select(func.count()).select_from(AttendeeWord)).one() == 0
    failure = db.exec(select(ScanFailure)).one()
    assert (failure.code_prefix, failure.device, failure.actor_id) == ("", None, None)
    assert (failure.reason, failure.site_id, failure.conference_id) == (
        "pass_expired", tree.ward_a1, tree.cid)
    assert db.exec(select(Attendance.device)).all() == [None]
    request = db.exec(select(DataRequest)).one()
    assert (request.message, request.outcome, request.kind) == (None, None, "correct")
    assert _conference(db, tree.cid).purged_at == report.purged_at
    subjects = {f"attendee:{p.id}" for p in people}
    assert not set(db.exec(select(AuditKey.subject)).all()) & subjects
    assert verify(engine).ok


def test_purge_records_one_audit_entry_with_counts(
    wdb: Session, roster: Roster, tree: Tree, admin: User, db: Session
) -> None:
    _arrange(wdb, roster, tree, admin)
    db.rollback()
    last = db.exec(select(func.max(AuditEntry.id))).one() or 0
    retention.purge(wdb, conference_id=tree.cid, today=DUE_DAY)
    db.rollback()
    entries = db.exec(select(AuditEntry).where(col(AuditEntry.id) > last)).all()
    assert [(e.action, e.object_type, e.object_id, e.conference_id, e.role)
            for e in entries] == [("purge", "conference", str(tree.cid), tree.cid, "system")]
    assert entries[0].detail == {
        "early": False, "attendees": 3, "phones": 2, "failed_scans": 1, "devices": 1,
        "requests": 1, "floor_requests": 0, "questions": 0, "answer_texts": 0,
        "retention_days": 90, "kept_until": "2025-12-08"}


def test_purge_is_idempotent(
    wdb: Session, roster: Roster, tree: Tree, engine: Engine, db: Session
) -> None:
    retention.purge(wdb, conference_id=tree.cid, today=DUE_DAY)
    names = _names(db, tree.cid)
    with pytest.raises(errors.ConferenceAlreadyPurged) as caught:
        retention.purge(wdb, conference_id=tree.cid, today=DUE_DAY)
    assert caught.value.status_code == 409
    assert retention.due_conferences(wdb, today=DUE_DAY) == []
    assert _names(db, tree.cid) == names
    assert len(_purges(db)) == 1


def test_purge_in_small_chunks_commits_each_and_reaches_everyone(
    wdb: Session, roster: Roster, tree: Tree, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "CHUNK", 2)
    commits: list[int] = []
    original = wdb.commit

    def commit() -> None:
        commits.append(1)
        original()

    monkeypatch.setattr(wdb, "commit", commit)
    report = retention.purge(wdb, conference_id=tree.cid, today=DUE_DAY)
    assert report.attendees == 3
    # The requests' text, two chunks, then the last transaction with the audit entry.
    assert len(commits) == 4
    assert all(n.startswith(ANONYMOUS) for n in _names(db, tree.cid))


def test_old_passes_and_short_codes_are_refused_after_the_purge(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings, db: Session
) -> None:
    ended = local_today() - timedelta(days=1)
    _move(wdb, tree.cid, ends_on=ended)
    pass_code = code_for(wdb, roster.an, settings)
    first = service.check_in(wdb, code=pass_code, site_id=tree.ward_a1, actor=admin,
                             settings=settings)
    assert first.status == "checked_in"
    retention.purge(wdb, conference_id=tree.cid, today=ended + timedelta(days=91))
    for code in (pass_code, roster.binh.short_code):
        with pytest.raises(errors.PassRevoked):
            service.check_in(wdb, code=code, site_id=tree.ward_a1, actor=admin,
                             settings=settings)
    db.rollback()
    assert db.exec(select(func.count()).select_from(Attendance)).one() == 1


def test_purge_blanks_the_floor_and_counts_it(
    wdb: Session, roster: Roster, tree: Tree, admin: User, db: Session
) -> None:
    coordinator = coordinators.create_coordinator(
        wdb, site_id=tree.hub_a, username="hcm", password="hcm-password", full_name="Lê Hồng",
        phone=None, actor=admin)
    spoken_session(wdb, tree, admin, coordinator)
    assert retention.purge_plan(wdb, conference_id=tree.cid, today=DUE_DAY).questions == 4
    report = retention.purge(wdb, conference_id=tree.cid, today=DUE_DAY)
    assert (report.floor_requests, report.questions) == (2, 4)
    db.rollback()
    assert {r.speaker_name for r in db.exec(select(FloorRequest)).all()} == {""}
    assert "Câu hỏi trùng" not in db.exec(select(FloorQuestion.text)).all()
    plan = retention.purge_plan(wdb, conference_id=tree.cid, today=DUE_DAY)
    assert (plan.floor_requests, plan.questions) == (0, 0)
