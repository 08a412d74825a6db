"""Inviting registry sites to a conference: each selection, whole trees, the refusals."""

import time

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.accounts.errors import AdminOnly
from app.accounts.models import User
from bench.invite import seed
from endpoints import errors, participations
from endpoints.models import Participation, Readiness, Site, SiteKind
from endpoints.participation_models import MAX_PICKED, InviteSelection
from tests.endpoints.participation_support import (
    Registry,
    new_conference,
    participants,
    snapshot,
)


@pytest.fixture
def reg(db: Session, admin: User) -> Registry:
    return Registry(db, admin)


def invite(
    reg: Registry, conference_id: int | None = None, /, **selection: object
) -> tuple[int, int, int]:
    """(invited, already_in, total_in_conference) of one invite by the central office."""
    report = participations.invite_sites(
        reg.db, conference_id=conference_id or reg.cid, actor=reg.admin,
        selection=InviteSelection.model_validate(selection))
    return report.invited, report.already_in, report.total_in_conference


# ---------------------------------------------------------------- selections


def test_all_invites_every_active_approved_site_with_its_snapshot(reg: Registry) -> None:
    assert invite(reg, all=True) == (7, 0, 7)
    assert participants(reg.db, reg.cid) == reg.invitable
    assert participants(reg.db, reg.other_cid) == set()
    part = reg.db.exec(select(Participation).where(
        Participation.conference_id == reg.cid, Participation.site_id == reg.hn_ward)).one()
    assert (part.name, part.code) == ("Đảng ủy phường Hoàn Kiếm", "HN-HK")
    # Each participation carries its site's tree path (the conference's tree order).
    site = reg.db.get(Site, reg.hn_ward)
    assert site is not None and part.path == site.path != ""
    assert (part.readiness, part.approval, part.expected_attendees) == (
        Readiness.not_connected, "approved", 0)


def test_bulk_invite_again_skips_and_counts_and_changes_nothing(reg: Registry) -> None:
    invite(reg, all=True)
    before = snapshot(reg.db)
    assert invite(reg, all=True) == (0, 7, 7)
    assert invite(reg, kind="ward") == (0, 5, 7)
    assert snapshot(reg.db) == before


def test_under_a_hub_invites_its_subtree_and_the_sites_above(reg: Registry) -> None:
    assert invite(reg, under_id=reg.hcm) == (4, 0, 4)
    assert participants(reg.db, reg.cid) == {reg.central, reg.hcm, reg.hcm_ward,
                                             reg.hcm_commune}
    # The central site came with the branch; the whole registry adds only the rest.
    assert invite(reg, all=True) == (3, 4, 7)


def test_kind_invites_that_kind_with_its_ancestors(reg: Registry) -> None:
    assert invite(reg, kind="ward") == (5, 0, 5)
    assert participants(reg.db, reg.cid) == {reg.central, reg.hcm, reg.hn, reg.hcm_ward,
                                             reg.hn_ward}


def test_kind_under_a_hub_narrows_to_that_branch(reg: Registry) -> None:
    assert invite(reg, kind="ward", under_id=reg.hn) == (3, 0, 3)
    assert participants(reg.db, reg.cid) == {reg.central, reg.hn, reg.hn_ward}


def test_picked_sites_come_with_their_ancestors(reg: Registry) -> None:
    assert invite(reg, site_ids=[reg.hn_dept, reg.hn_dept]) == (3, 0, 3)
    assert participants(reg.db, reg.cid) == {reg.central, reg.hn, reg.hn_dept}
    # The ancestors already in are counted, not refused: only picked sites must be new.
    assert invite(reg, site_ids=[reg.hcm_ward]) == (2, 1, 5)


def test_conferences_invite_independently(reg: Registry) -> None:
    invite(reg, all=True)
    assert invite(reg, reg.other_cid, site_ids=[reg.hn_ward]) == (3, 0, 3)
    assert len(participants(reg.db, reg.cid)) == 7


def test_every_participant_has_its_parent_in_a_generated_registry(
    engine: Engine, db: Session, admin: User
) -> None:
    invitable = seed(engine, 2_000, communes=300)
    conference = new_conference(db, admin, "Hội nghị chuyên đề")
    started = time.perf_counter()
    report = participations.invite_sites(
        db, conference_id=conference, actor=admin, selection=InviteSelection(kind="other"))
    assert time.perf_counter() - started < 5  # generous: bench/invite.py measures it
    ids = participants(db, conference)
    assert report.invited == len(ids) > 0 and report.already_in == 0
    parents = db.exec(select(Site.parent_id).where(col(Site.id).in_(ids))).all()
    assert all(p is None or p in ids for p in parents)
    kinds = set(db.exec(select(Site.kind).where(col(Site.id).in_(ids))).all())
    assert SiteKind.department not in kinds and SiteKind.other in kinds
    again = participations.invite_sites(
        db, conference_id=conference, actor=admin, selection=InviteSelection(all=True))
    assert again.total_in_conference == invitable
    assert again.already_in == report.invited


# ------------------------------------------------------------------- refusals


@pytest.mark.parametrize("picked", ["hcm_ward", "hn_dept"])
def test_picking_a_site_already_invited_refuses_the_whole_list(
    reg: Registry, picked: str
) -> None:
    invite(reg, site_ids=[reg.hcm_ward])
    before = snapshot(reg.db)
    with pytest.raises(errors.AlreadyInvited) as caught:
        invite(reg, site_ids=[getattr(reg, picked), reg.hcm_ward])
    assert caught.value.code == "site_already_invited"
    assert caught.value.extra["site_ids"] == [reg.hcm_ward]
    assert snapshot(reg.db) == before


@pytest.mark.parametrize("inactive", ["retired", "pending"])
def test_picking_a_retired_or_pending_site_is_refused(reg: Registry, inactive: str) -> None:
    before = snapshot(reg.db)
    with pytest.raises(errors.SiteInactive) as caught:
        invite(reg, site_ids=[reg.hn_ward, getattr(reg, inactive)])
    assert (caught.value.status_code, caught.value.code) == (409, "site_inactive")
    assert caught.value.extra["site_ids"] == [getattr(reg, inactive)]
    assert snapshot(reg.db) == before == []


def test_a_branch_under_a_retired_site_is_refused(reg: Registry) -> None:
    with pytest.raises(errors.SiteInactive):
        invite(reg, under_id=reg.retired)
    assert snapshot(reg.db) == []


@pytest.mark.parametrize("field", ["site_ids", "under_id"])
def test_unknown_sites_are_404(reg: Registry, field: str) -> None:
    missing = reg.hn_dept + 100
    with pytest.raises(errors.SiteNotFound) as caught:
        invite(reg, **{field: [reg.hn_ward, missing] if field == "site_ids" else missing})
    assert (caught.value.status_code, caught.value.code) == (404, "site_not_found")
    assert snapshot(reg.db) == []


def test_unknown_conference_is_404(reg: Registry) -> None:
    with pytest.raises(errors.ConferenceNotFound):
        invite(reg, reg.other_cid + 10, all=True)
    assert snapshot(reg.db) == []


def test_only_the_central_office_invites(reg: Registry) -> None:
    coordinator = reg.coordinator()
    with pytest.raises(AdminOnly):
        participations.invite_sites(reg.db, conference_id=reg.cid, actor=coordinator,
                                    selection=InviteSelection(under_id=reg.hcm))
    assert snapshot(reg.db) == []


# ----------------------------------------------------------------- selection


@pytest.mark.parametrize("body", [
    {}, {"all": False}, {"all": True, "kind": "ward"}, {"all": True, "under_id": 1},
    {"under_id": 1, "site_ids": [2]}, {"kind": "ward", "site_ids": [2]}, {"site_ids": []},
    {"site_ids": [1] * (MAX_PICKED + 1)}, {"site_ids": [0]}, {"under_id": 2**31},
    {"kind": "province"}, {"all": True, "code": "HN"},
])
def test_a_selection_names_exactly_one_way(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        InviteSelection.model_validate(body)


@pytest.mark.parametrize("body", [
    {"all": True}, {"under_id": 3}, {"kind": "ward"}, {"kind": "ward", "under_id": 3},
    {"site_ids": list(range(1, MAX_PICKED + 1))},
])
def test_valid_selections(body: dict[str, object]) -> None:
    assert InviteSelection.model_validate(body).model_dump(exclude_defaults=True) == body


# ------------------------------------------------------------------ the page's helpers


def test_codes_become_ids_in_order_and_unknown_codes_are_named(reg: Registry) -> None:
    assert participations.site_ids_for_codes(
        reg.db, codes=[" HN-HK ", "TW", "", "HN-HK"]) == [reg.hn_ward, reg.central]
    with pytest.raises(errors.SiteNotFound) as caught:
        participations.site_ids_for_codes(reg.db, codes=["TW", "XX-1", "XX-2"])
    assert caught.value.extra["codes"] == ["XX-1", "XX-2"]
    assert "XX-1, XX-2" in caught.value.detail


def test_hub_choices_are_the_central_site_and_hubs(reg: Registry) -> None:
    assert [s.id for s in participations.hub_choices(reg.db)] == [reg.central, reg.hn,
                                                                    reg.hcm]

