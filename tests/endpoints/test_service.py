"""Registry use cases, on SQLite and PostgreSQL."""

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.accounts import errors as accounts_errors
from app.accounts import service as accounts_service
from app.accounts.models import AccountStatus, User
from app.db import utcnow
from endpoints import errors, service
from endpoints.models import (
    Approval,
    Invite,
    InviteCreate,
    Readiness,
    Registration,
    Site,
    SiteCreate,
    SiteKind,
    SiteUpdate,
)
from tests.conftest import Tree


def _registration(**over: object) -> Registration:
    data: dict[str, object] = {
        "site_name": "Đảng ủy phường Sài Gòn",
        "kind": "ward",
        "room": "Phòng họp tầng 2",
        "expected_attendees": 60,
        "full_name": "Trần Văn Bình",
        "phone": "0912345678",
        "username": "saigon",
        "password": "saigon-password",
    }
    data.update(over)
    return Registration.model_validate(data)


def test_create_site_sets_path_and_depth(db: Session, tree: Tree) -> None:
    ward = db.get(Site, tree.ward_a1)
    assert ward is not None
    assert ward.path == f"/{tree.central}/{tree.hub_a}/{tree.ward_a1}/"
    assert ward.depth == 2
    assert ward.name_key == "dang uy phuong ben nghe"


def test_create_site_with_parent_of_other_conference_is_refused(
    db: Session, admin: User, tree: Tree
) -> None:
    other = Tree(db, admin)
    with pytest.raises(errors.ParentNotFound):
        service.create_site(
            db,
            conference_id=other.cid,
            data=SiteCreate(name="Xã A", kind=SiteKind.commune, parent_id=tree.hub_a),
            actor=admin,
        )


def test_create_site_with_duplicate_code_is_refused_and_nothing_written(
    db: Session, admin: User, tree: Tree
) -> None:
    before = len(db.exec(select(Site)).all())
    with pytest.raises(errors.DuplicateSiteCode):
        service.create_site(
            db,
            conference_id=tree.cid,
            data=SiteCreate(name="Trùng mã", kind=SiteKind.ward, parent_id=tree.hub_a, code="HCM"),
            actor=admin,
        )
    assert len(db.exec(select(Site)).all()) == before


def test_move_site_under_its_own_descendant_is_refused(
    db: Session, admin: User, tree: Tree
) -> None:
    with pytest.raises(errors.SiteCycle):
        service.update_site(
            db, site_id=tree.hub_a, data=SiteUpdate(parent_id=tree.ward_a1), actor=admin
        )
    with pytest.raises(errors.SiteCycle):
        service.update_site(
            db, site_id=tree.hub_a, data=SiteUpdate(parent_id=tree.hub_a), actor=admin
        )
    hub = db.get(Site, tree.hub_a)
    assert hub is not None and hub.parent_id == tree.central


def test_move_site_rewrites_subtree_paths(db: Session, admin: User, tree: Tree) -> None:
    service.update_site(db, site_id=tree.hub_a, data=SiteUpdate(parent_id=tree.hub_b), actor=admin)
    db.expire_all()
    ward = db.get(Site, tree.ward_a1)
    assert ward is not None
    assert ward.path == f"/{tree.central}/{tree.hub_b}/{tree.hub_a}/{tree.ward_a1}/"
    assert ward.depth == 3


def test_list_sites_search_ignores_diacritics_and_d_stroke(
    db: Session, admin: User, tree: Tree
) -> None:
    page = service.list_sites(
        db, conference_id=tree.cid, actor=admin, filters=service.SiteFilter(q="dang uy phuong")
    )
    assert {s.id for s in page.items} == {tree.ward_a1, tree.ward_b1}
    page = service.list_sites(
        db, conference_id=tree.cid, actor=admin, filters=service.SiteFilter(q="CẦN GIỜ")
    )
    assert [s.id for s in page.items] == [tree.ward_a2]


def test_list_sites_for_coordinator_is_their_subtree(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    page = service.list_sites(db, conference_id=tree.cid, actor=coordinator_a)
    assert {s.id for s in page.items} == {tree.hub_a, tree.ward_a1, tree.ward_a2}
    assert page.total == 3


def test_coordinator_cannot_read_or_change_other_subtree(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    with pytest.raises(errors.SiteOutOfScope):
        service.get_site(db, site_id=tree.ward_b1, actor=coordinator_a)
    with pytest.raises(errors.SiteOutOfScope):
        service.update_site(
            db, site_id=tree.ward_b1, data=SiteUpdate(room="X"), actor=coordinator_a
        )
    with pytest.raises(errors.SiteOutOfScope):
        service.get_site(db, site_id=tree.central, actor=coordinator_a)


def test_coordinator_changes_readiness_of_own_ward(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    site = service.update_site(
        db,
        site_id=tree.ward_a1,
        data=SiteUpdate(readiness=Readiness.ready, readiness_note="Đã thử hình, tiếng"),
        actor=coordinator_a,
    )
    assert site.readiness == Readiness.ready


def test_update_site_with_null_required_fields_keeps_them(
    db: Session, admin: User, tree: Tree
) -> None:
    # Found by tests/app/test_fuzz.py: PATCH {"name": null} was a 500, {"kind": null} a 409.
    data = SiteUpdate.model_validate(
        {"name": None, "kind": None, "expected_attendees": None, "readiness": None,
         "room": "Phòng họp số 2"}
    )
    site = service.update_site(db, site_id=tree.ward_a1, data=data, actor=admin)
    db.rollback()
    stored = db.get(Site, tree.ward_a1)
    assert stored is not None
    assert (stored.name, stored.kind, stored.readiness, stored.room) == (
        "Đảng ủy phường Bến Nghé", SiteKind.ward, Readiness.not_connected, "Phòng họp số 2"
    )
    assert site.name_key == "dang uy phuong ben nghe"


def test_coordinator_cannot_move_own_site_out_of_scope(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    with pytest.raises(errors.SiteOutOfScope):
        service.update_site(
            db, site_id=tree.hub_a, data=SiteUpdate(parent_id=tree.hub_b), actor=coordinator_a
        )
    with pytest.raises(errors.SiteOutOfScope):
        service.update_site(
            db, site_id=tree.ward_a1, data=SiteUpdate(parent_id=tree.hub_b), actor=coordinator_a
        )


def test_authenticate_pending_account_is_refused(db: Session, admin: User, tree: Tree) -> None:
    _, token = service.create_invite(
        db,
        conference_id=tree.cid,
        data=InviteCreate(parent_site_id=tree.hub_a),
        actor=admin,
        default_days=14,
    )
    service.register_with_invite(db, token=token, data=_registration())
    with pytest.raises(accounts_errors.AccountNotActive):
        accounts_service.authenticate(db, username="saigon", password="saigon-password")


def test_register_then_approve_activates_coordinator_scoped_to_new_site(
    db: Session, admin: User, tree: Tree
) -> None:
    _, token = service.create_invite(
        db,
        conference_id=tree.cid,
        data=InviteCreate(parent_site_id=tree.hub_a),
        actor=admin,
        default_days=14,
    )
    site, user = service.register_with_invite(db, token=token, data=_registration())
    assert site.approval == Approval.pending
    assert site.parent_id == tree.hub_a
    assert user.status == AccountStatus.pending
    service.approve_registration(db, site_id=site.id or 0, actor=admin)
    coordinator = accounts_service.authenticate(db, username="SaiGon", password="saigon-password")
    page = service.list_sites(db, conference_id=tree.cid, actor=coordinator)
    assert [s.id for s in page.items] == [site.id]


def test_reused_invite_is_refused(db: Session, admin: User, tree: Tree) -> None:
    _, token = service.create_invite(
        db, conference_id=tree.cid, data=InviteCreate(), actor=admin, default_days=14
    )
    service.register_with_invite(db, token=token, data=_registration())
    with pytest.raises(errors.InviteUsed):
        service.register_with_invite(db, token=token, data=_registration(username="other"))
    assert len(db.exec(select(User).where(User.username == "other")).all()) == 0


def test_expired_invite_is_refused(db: Session, admin: User, tree: Tree) -> None:
    invite, token = service.create_invite(
        db, conference_id=tree.cid, data=InviteCreate(), actor=admin, default_days=14
    )
    invite.expires_at = utcnow() - timedelta(minutes=1)
    db.add(invite)
    db.commit()
    with pytest.raises(errors.InviteExpired):
        service.register_with_invite(db, token=token, data=_registration())


def test_register_with_taken_username_writes_nothing_and_keeps_invite(
    db: Session, admin: User, tree: Tree, coordinator_a: User
) -> None:
    invite, token = service.create_invite(
        db, conference_id=tree.cid, data=InviteCreate(), actor=admin, default_days=14
    )
    sites_before = len(db.exec(select(Site)).all())
    with pytest.raises(accounts_errors.UsernameTaken):
        service.register_with_invite(db, token=token, data=_registration(username="hcm"))
    db.expire_all()
    assert len(db.exec(select(Site)).all()) == sites_before
    stored = db.get(Invite, invite.id)
    assert stored is not None and stored.used_at is None
    site, _ = service.register_with_invite(db, token=token, data=_registration())
    assert site.id is not None


def test_decide_twice_is_refused(db: Session, admin: User, tree: Tree) -> None:
    _, token = service.create_invite(
        db, conference_id=tree.cid, data=InviteCreate(), actor=admin, default_days=14
    )
    site, _ = service.register_with_invite(db, token=token, data=_registration())
    service.reject_registration(db, site_id=site.id or 0, actor=admin)
    with pytest.raises(errors.RegistrationNotPending):
        service.approve_registration(db, site_id=site.id or 0, actor=admin)


def test_hub_coordinator_invites_below_own_site_only(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    invite, _ = service.create_invite(
        db,
        conference_id=tree.cid,
        data=InviteCreate(parent_site_id=tree.hub_a),
        actor=coordinator_a,
        default_days=14,
    )
    assert invite.parent_site_id == tree.hub_a
    with pytest.raises(errors.SiteOutOfScope):
        service.create_invite(
            db,
            conference_id=tree.cid,
            data=InviteCreate(parent_site_id=tree.hub_b),
            actor=coordinator_a,
            default_days=14,
        )


def test_logout_invalidates_earlier_tokens(db: Session, admin: User) -> None:
    token = accounts_service.issue_token(user=admin, secret="s" * 40)
    assert accounts_service.user_for_token(db, token=token, secret="s" * 40, max_age_seconds=60)
    accounts_service.logout(db, user=admin)
    db.expire_all()
    found = accounts_service.user_for_token(db, token=token, secret="s" * 40, max_age_seconds=60)
    assert found is None


def test_delete_site_with_children_is_refused(db: Session, admin: User, tree: Tree) -> None:
    with pytest.raises(errors.SiteHasChildren):
        service.delete_site(db, site_id=tree.hub_a, actor=admin)
    service.delete_site(db, site_id=tree.ward_a1, actor=admin)
    assert db.get(Site, tree.ward_a1) is None
