"""anonymise(): identities go, every total stays, old passes and audit values die."""

from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session

from app.accounts.models import User
from app.audit import keys
from app.audit.models import AuditEntry
from app.config import Settings
from checkin import errors, reports, search, service
from checkin.anonymise import ANONYMOUS, anonymise
from checkin.attendance import attendance_summary
from checkin.models import Attendee, AttendeeWord
from checkin.privacy_models import DataRequest, RequestKind
from tests.checkin.support import Roster, code_for, count_rows
from tests.conftest import Tree


def _numbers(db: Session, admin: User, tree: Tree) -> tuple[Any, list[Any]]:
    summary = attendance_summary(db, conference_id=tree.cid, actor=admin).model_dump()
    report = reports.attendance_report(db, conference_id=tree.cid, actor=admin)
    rows = [list(r) for r in reports.site_csv_rows(report)]
    rows += [list(r) for r in reports.group_csv_rows(report)]
    db.rollback()
    return summary, rows


def _check_in_everyone(wdb: Session, admin: User, roster: Roster, settings: Settings) -> None:
    for person in (roster.an, roster.binh, roster.cuong):
        service.check_in(wdb, code=person.short_code, site_id=person.site_id, actor=admin,
                         settings=settings)


def test_totals_and_report_numbers_are_unchanged(
    wdb: Session, admin: User, tree: Tree, roster: Roster, settings: Settings
) -> None:
    _check_in_everyone(wdb, admin, roster, settings)
    before = _numbers(wdb, admin, tree)
    assert before[0]["checked_in"] == 3 and before[0]["registered"] == 3
    assert anonymise(wdb, attendee_ids=[roster.an.id or 0, roster.cuong.id or 0]) == 2
    wdb.commit()
    assert _numbers(wdb, admin, tree) == before


def test_identity_is_replaced_and_search_no_longer_finds_the_name(
    wdb: Session, admin: User, tree: Tree, roster: Roster
) -> None:
    found = search.search_attendees(wdb, conference_id=tree.cid, q="nguyen van an", actor=admin)
    assert [a.id for a in found] == [roster.an.id]
    anonymise(wdb, attendee_ids=[roster.an.id or 0])
    wdb.commit()
    for q in ("nguyen van an", "an", "so y te"):
        hits = search.search_attendees(wdb, conference_id=tree.cid, q=q, actor=admin)
        assert roster.an.id not in [a.id for a in hits], q
    wdb.expire_all()
    person = wdb.get(Attendee, roster.an.id)
    assert person is not None and person.erased_at is not None
    assert person.full_name.startswith(f"{ANONYMOUS} ") and "Nguyễn" not in person.full_name
    assert (person.unit, person.position, person.phone) == (None, None, None)
    assert count_rows(wdb, AttendeeWord, attendee_id=roster.an.id) == 0
    # Someone else keeps their identity.
    assert wdb.get(Attendee, roster.binh.id).full_name == "Trần Thị Bình"  # type: ignore[union-attr]


def test_an_old_pass_is_refused(
    wdb: Session, admin: User, tree: Tree, roster: Roster, settings: Settings
) -> None:
    old = code_for(wdb, roster.an, settings)
    short = roster.an.short_code
    anonymise(wdb, attendee_ids=[roster.an.id or 0])
    wdb.commit()
    # Neither the signed pass nor the short code printed under it checks in.
    for code in (old, short):
        with pytest.raises(errors.PassRevoked):
            service.check_in(wdb, code=code, site_id=tree.ward_a1, actor=admin,
                             settings=settings)


def _sealed(wdb: Session, object_type: str, object_id: int) -> list[dict[str, Any]]:
    wdb.rollback()
    entries = wdb.execute(select(AuditEntry).where(
        AuditEntry.object_type == object_type,  # type: ignore[arg-type]
        AuditEntry.object_id == str(object_id))).scalars()  # type: ignore[arg-type]
    return [v for e in entries for v in (e.after or {}).values() if keys.is_sealed(v)]


def test_audit_values_read_erased_and_request_messages_go(
    wdb: Session, roster: Roster
) -> None:
    person = wdb.get(Attendee, roster.an.id)
    assert person is not None and person.id is not None
    person.phone = "0912345678"
    wdb.add(person)
    request = DataRequest(conference_id=person.conference_id, attendee_id=person.id,
                          kind=RequestKind.correct, message="Đơn vị của tôi là Sở Tài chính")
    wdb.add(request)
    wdb.commit()
    sealed = _sealed(wdb, "attendee", person.id)
    held = keys.keys_of(wdb.connection(), {keys.subject_of("attendee", person.id)})
    assert "0912345678" in [keys.unseal(next(iter(held.values())), v) for v in sealed]
    anonymise(wdb, attendee_ids=[person.id])
    wdb.commit()
    subjects = {keys.subject_of("attendee", person.id), keys.subject_of("data_request",
                                                                         request.id)}
    assert keys.keys_of(wdb.connection(), subjects) == {}
    assert {keys.unseal(None, v) for v in _sealed(wdb, "attendee", person.id)} == {keys.ERASED}
    assert _sealed(wdb, "data_request", request.id or 0)  # the message was sealed, now dead
    wdb.expire_all()
    assert wdb.get(DataRequest, request.id).message is None  # type: ignore[union-attr]


def test_a_second_anonymise_changes_nothing(wdb: Session, roster: Roster) -> None:
    assert anonymise(wdb, attendee_ids=[roster.an.id or 0]) == 1
    wdb.commit()
    wdb.expire_all()
    first = wdb.get(Attendee, roster.an.id)
    assert first is not None
    name, version = first.full_name, first.pass_version
    assert anonymise(wdb, attendee_ids=[roster.an.id or 0]) == 0
    wdb.commit()
    wdb.expire_all()
    again = wdb.get(Attendee, roster.an.id)
    assert again is not None and (again.full_name, again.pass_version) == (name, version)
