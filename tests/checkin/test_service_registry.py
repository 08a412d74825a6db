"""Check-in on the registry: one site in two conferences, each scan counted in the
attendee's conference through the site's participation (readiness, names)."""

import pytest
from sqlmodel import Session, select

from app.accounts.models import User
from app.config import Settings
from checkin import errors, service
from checkin import roster as checkin_roster
from checkin.models import Attendance, Attendee, AttendeeCreate, ScanFailure
from endpoints import site_changes
from endpoints.models import Readiness, SiteUpdate
from tests.checkin.support import Roster, code_for, count_rows, second_conference
from tests.conftest import Tree


def _person_of(wdb: Session, admin: User, conference_id: int, site_id: int) -> Attendee:
    return checkin_roster.create_attendees(
        wdb, conference_id=conference_id,
        items=[AttendeeCreate(full_name="Phạm Thị Dung", site_id=site_id)], actor=admin,
    )[0]


def test_check_in_one_site_two_conferences_counts_each_in_its_own(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    second = second_conference(wdb, admin, tree, [tree.ward_a1])
    dung = _person_of(wdb, admin, second, tree.ward_a1)
    first = service.check_in(wdb, code=code_for(wdb, roster.an, settings), site_id=tree.ward_a1,
                             actor=admin, settings=settings)
    again = service.check_in(wdb, code=code_for(wdb, dung, settings), site_id=tree.ward_a1,
                             actor=admin, settings=settings)
    assert (first.conference_id, again.conference_id) == (tree.cid, second)
    assert not first.foreign_site and not again.foreign_site
    assert count_rows(wdb, Attendance, conference_id=tree.cid) == 1
    assert count_rows(wdb, Attendance, conference_id=second) == 1


def test_check_in_at_site_outside_the_attendees_conference_refused_and_recorded(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    second = second_conference(wdb, admin, tree, [tree.ward_a1])
    dung = _person_of(wdb, admin, second, tree.ward_a1)
    with pytest.raises(errors.PassOtherConference) as exc:
        service.check_in(wdb, code=code_for(wdb, dung, settings), site_id=tree.ward_b1,
                         actor=admin, settings=settings)
    assert exc.value.status_code == 409
    assert count_rows(wdb, Attendance) == 0
    failure = wdb.exec(select(ScanFailure)).one()
    assert (failure.reason, failure.conference_id, failure.site_id) == (
        "pass_other_conference", second, tree.ward_b1)


def test_check_in_not_participating_is_per_conference(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    second = second_conference(wdb, admin, tree, [tree.ward_a1])
    dung = _person_of(wdb, admin, second, tree.ward_a1)
    site_changes.update_site(wdb, site_id=tree.ward_a1, conference_id=tree.cid,
                             data=SiteUpdate(readiness=Readiness.not_participating), actor=admin)
    with pytest.raises(errors.SiteNotParticipating):
        service.check_in(wdb, code=code_for(wdb, roster.an, settings), site_id=tree.ward_a1,
                         actor=admin, settings=settings)
    result = service.check_in(wdb, code=code_for(wdb, dung, settings), site_id=tree.ward_a1,
                              actor=admin, settings=settings)
    assert result.status == "checked_in" and result.conference_id == second


def test_check_in_answers_with_the_names_the_conference_knew(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    # The test conference has ended: a rename in the registry leaves its names alone.
    site_changes.update_site(wdb, site_id=tree.ward_a1, data=SiteUpdate(name="Phường Sài Gòn"),
                             actor=admin)
    result = service.check_in(wdb, code=code_for(wdb, roster.an, settings), site_id=tree.ward_b1,
                              actor=admin, settings=settings)
    assert result.attendee.site_name == "Đảng ủy phường Bến Nghé"
    again = service.check_in(wdb, code=code_for(wdb, roster.binh, settings),
                             site_id=tree.ward_a1, actor=admin, settings=settings)
    assert again.site_name == "Đảng ủy phường Bến Nghé"


def test_self_checkin_site_is_seen_by_its_live_conference(
    wdb: Session, tree: Tree, admin: User, settings: Settings
) -> None:
    second = second_conference(wdb, admin, tree, [tree.ward_a1])
    token = service.site_qr(tree.ward_a1, settings)
    site = service.self_checkin_site(wdb, site_token=token, settings=settings)
    assert (site.id, site.conference_id) == (tree.ward_a1, second)
