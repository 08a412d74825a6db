"""Taking a site out of a conference: removed with its subtree, or refused untouched."""

import pytest
from sqlmodel import Session, select

from app.accounts.errors import AdminOnly
from app.accounts.models import User
from app.config import Settings
from checkin import headcounts, participations, service
from endpoints import errors as endpoints_errors
from endpoints import service as endpoints_service
from endpoints.models import Participation, Site
from tests.checkin.support import Roster, code_for, count_rows
from tests.conftest import Tree


def test_remove_site_takes_out_its_subtree_and_keeps_the_registry(
    wdb: Session, tree: Tree, admin: User
) -> None:
    removed = participations.remove_site(wdb, conference_id=tree.cid, site_id=tree.hub_b,
                                         actor=admin)
    assert removed == 2  # hub B and ward B1
    wdb.rollback()
    left = set(wdb.exec(select(Participation.site_id)).all())
    assert left == {tree.central, tree.hub_a, tree.ward_a1, tree.ward_a2}
    assert count_rows(wdb, Site) == 6


def test_remove_site_with_attendance_below_refused_nothing_changed(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    service.check_in(wdb, code=code_for(wdb, roster.an, settings), site_id=tree.ward_a2,
                     actor=admin, settings=settings)
    with pytest.raises(endpoints_errors.SiteHasAttendance) as exc:
        participations.remove_site(wdb, conference_id=tree.cid, site_id=tree.hub_a, actor=admin)
    assert (exc.value.status_code, exc.value.code) == (409, "site_has_attendance")
    assert count_rows(wdb, Participation) == 6


def test_remove_site_with_attendees_or_headcount_refused(
    wdb: Session, roster: Roster, tree: Tree, admin: User
) -> None:
    with pytest.raises(endpoints_errors.SiteHasAttendance):  # Cường is registered there
        participations.remove_site(wdb, conference_id=tree.cid, site_id=tree.ward_b1,
                                   actor=admin)
    headcounts.report_headcount(wdb, site_id=tree.ward_a2, session_id=None,
                                counts={"dai_bieu": 3}, actor=admin)
    with pytest.raises(endpoints_errors.SiteHasAttendance):
        participations.remove_site(wdb, conference_id=tree.cid, site_id=tree.ward_a2,
                                   actor=admin)
    assert count_rows(wdb, Participation) == 6


def test_remove_site_by_a_coordinator_forbidden(
    wdb: Session, tree: Tree, coordinator_a: User
) -> None:
    with pytest.raises(AdminOnly) as exc:
        participations.remove_site(wdb, conference_id=tree.cid, site_id=tree.ward_a2,
                                   actor=coordinator_a)
    assert exc.value.status_code == 403
    assert count_rows(wdb, Participation) == 6


def test_remove_site_unknown_or_not_invited_not_found(
    wdb: Session, tree: Tree, admin: User
) -> None:
    with pytest.raises(endpoints_errors.ConferenceNotFound):
        participations.remove_site(wdb, conference_id=999, site_id=tree.ward_a2, actor=admin)
    with pytest.raises(endpoints_errors.SiteNotFound):
        participations.remove_site(wdb, conference_id=tree.cid, site_id=99_999, actor=admin)
    participations.remove_site(wdb, conference_id=tree.cid, site_id=tree.ward_a2, actor=admin)
    with pytest.raises(endpoints_errors.SiteNotInConference):
        participations.remove_site(wdb, conference_id=tree.cid, site_id=tree.ward_a2,
                                   actor=admin)
    assert endpoints_service.load_site(wdb, tree.ward_a2).id == tree.ward_a2
