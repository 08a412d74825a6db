"""Roster use cases: adding attendees, scope, other conferences."""

import unicodedata

import pytest
from sqlmodel import Session

from app.accounts.models import User
from checkin import roster as checkin_roster
from checkin.models import Attendee, AttendeeCreate
from endpoints import errors as endpoints_errors
from tests.checkin.support import count_rows, second_conference
from tests.conftest import Tree

# ------------------------------------------------------------------ roster


def test_create_attendees_nfc_keys_and_unique_short_codes(
    wdb: Session, tree: Tree, admin: User
) -> None:
    nfd = unicodedata.normalize("NFD", "Đỗ Thị Ngọc Ánh")
    created = checkin_roster.create_attendees(
        wdb,
        conference_id=tree.cid,
        items=[AttendeeCreate(full_name=nfd, site_id=tree.ward_a2)] * 3,
        actor=admin,
    )
    assert created[0].full_name == unicodedata.normalize("NFC", nfd)
    assert created[0].name_key == "do thi ngoc anh"
    assert len({a.short_code for a in created}) == 3
    assert all(len(a.short_code) == 8 for a in created)


def test_create_attendees_coordinator_only_in_scope(
    wdb: Session, tree: Tree, coordinator_a: User
) -> None:
    with pytest.raises(endpoints_errors.SiteOutOfScope):
        checkin_roster.create_attendees(
            wdb,
            conference_id=tree.cid,
            items=[AttendeeCreate(full_name="Phạm Văn Dũng", site_id=tree.ward_b1)],
            actor=coordinator_a,
        )
    made = checkin_roster.create_attendees(
        wdb,
        conference_id=tree.cid,
        items=[AttendeeCreate(full_name="Phạm Văn Dũng", site_id=tree.ward_a2)],
        actor=coordinator_a,
    )
    assert made[0].site_id == tree.ward_a2


def test_create_attendees_site_of_other_conference_refused(
    wdb: Session, tree: Tree, admin: User
) -> None:
    with pytest.raises(endpoints_errors.SiteNotFound):
        checkin_roster.create_attendees(
            wdb,
            conference_id=tree.cid,
            items=[AttendeeCreate(full_name="Phạm Văn Dũng", site_id=99_999)],
            actor=admin,
        )
    assert count_rows(wdb, Attendee) == 0




def test_create_attendees_on_a_registry_site_not_invited_refused(
    wdb: Session, tree: Tree, admin: User
) -> None:
    second = second_conference(wdb, admin, tree, [tree.ward_a1])
    with pytest.raises(endpoints_errors.SiteNotFound):
        checkin_roster.create_attendees(
            wdb, conference_id=second,
            items=[AttendeeCreate(full_name="Phạm Văn Dũng", site_id=tree.ward_a1),
                   AttendeeCreate(full_name="Lê Văn Em", site_id=tree.ward_b1)],
            actor=admin,
        )
    assert count_rows(wdb, Attendee) == 0
    made = checkin_roster.create_attendees(
        wdb, conference_id=second,
        items=[AttendeeCreate(full_name="Phạm Văn Dũng", site_id=tree.ward_a1)], actor=admin,
    )
    assert [(a.conference_id, a.site_id) for a in made] == [(second, tree.ward_a1)]
