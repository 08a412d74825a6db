"""Invite links and the registration they open."""

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.accounts import errors as accounts_errors
from app.accounts import service as accounts_service
from app.accounts.models import AccountStatus, User
from app.db import utcnow
from endpoints import errors, invites, registrations, site_lists
from endpoints.invite_models import Invite, InviteCreate
from endpoints.models import Approval, Site
from tests.conftest import Tree
from tests.endpoints.support import participation, registration


def _invite_below_hub_a(db: Session, tree: Tree, actor: User) -> tuple[Invite, str]:
    """An invite for a new site below hub A, valid for 14 days."""
    return invites.create_invite(
        db, conference_id=tree.cid, data=InviteCreate(parent_site_id=tree.hub_a), actor=actor,
        default_days=14,
    )


def test_authenticate_pending_account_is_refused(db: Session, admin: User, tree: Tree) -> None:
    _, token = _invite_below_hub_a(db, tree, admin)
    invites.register_with_invite(db, token=token, data=registration())
    with pytest.raises(accounts_errors.AccountNotActive):
        accounts_service.authenticate(db, username="saigon", password="saigon-password")


def test_register_then_approve_activates_coordinator_scoped_to_new_site(
    db: Session, admin: User, tree: Tree
) -> None:
    _, token = _invite_below_hub_a(db, tree, admin)
    site, user = invites.register_with_invite(db, token=token, data=registration())
    assert site.approval == Approval.pending
    assert site.parent_id == tree.hub_a
    assert user.status == AccountStatus.pending
    # A registry site waiting for approval, and its participation in the invite's conference.
    assert site.part is not None
    assert (site.conference_id, site.expected_attendees, site.part.approval) == (
        tree.cid, 60, Approval.pending
    )
    assert site.site.approval == Approval.pending
    decided = registrations.approve_registration(db, site_id=site.id or 0, actor=admin)
    assert (decided.site.approval, decided.approval) == (Approval.approved, Approval.approved)
    coordinator = accounts_service.authenticate(db, username="SaiGon", password="saigon-password")
    page = site_lists.list_sites(db, conference_id=tree.cid, actor=coordinator)
    assert [s.id for s in page.items] == [site.id]
    assert participation(db, tree.cid, site.id).approval == Approval.approved


def test_reused_invite_is_refused(db: Session, admin: User, tree: Tree) -> None:
    _, token = invites.create_invite(
        db, conference_id=tree.cid, data=InviteCreate(), actor=admin, default_days=14
    )
    invites.register_with_invite(db, token=token, data=registration())
    with pytest.raises(errors.InviteUsed):
        invites.register_with_invite(db, token=token, data=registration(username="other"))
    assert len(db.exec(select(User).where(User.username == "other")).all()) == 0


def test_expired_invite_is_refused(db: Session, admin: User, tree: Tree) -> None:
    invite, token = invites.create_invite(
        db, conference_id=tree.cid, data=InviteCreate(), actor=admin, default_days=14
    )
    invite.expires_at = utcnow() - timedelta(minutes=1)
    db.add(invite)
    db.commit()
    with pytest.raises(errors.InviteExpired):
        invites.register_with_invite(db, token=token, data=registration())


def test_register_with_taken_username_writes_nothing_and_keeps_invite(
    db: Session, admin: User, tree: Tree, coordinator_a: User
) -> None:
    invite, token = invites.create_invite(
        db, conference_id=tree.cid, data=InviteCreate(), actor=admin, default_days=14
    )
    sites_before = len(db.exec(select(Site)).all())
    with pytest.raises(accounts_errors.UsernameTaken):
        invites.register_with_invite(db, token=token, data=registration(username="hcm"))
    db.expire_all()
    assert len(db.exec(select(Site)).all()) == sites_before
    stored = db.get(Invite, invite.id)
    assert stored is not None and stored.used_at is None
    site, _ = invites.register_with_invite(db, token=token, data=registration())
    assert site.id is not None


def test_register_with_weak_password_writes_nothing_and_keeps_invite(
    db: Session, admin: User, tree: Tree
) -> None:
    invite, token = invites.create_invite(
        db, conference_id=tree.cid, data=InviteCreate(), actor=admin, default_days=14
    )
    sites_before = len(db.exec(select(Site)).all())
    with pytest.raises(accounts_errors.PasswordTooShort):
        invites.register_with_invite(db, token=token, data=registration(password="ngan-qua"))
    db.expire_all()
    assert len(db.exec(select(Site)).all()) == sites_before
    stored = db.get(Invite, invite.id)
    assert stored is not None and stored.used_at is None


def test_hub_coordinator_invites_below_own_site_only(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    invite, _ = _invite_below_hub_a(db, tree, coordinator_a)
    assert invite.parent_site_id == tree.hub_a
    with pytest.raises(errors.SiteOutOfScope):
        invites.create_invite(
            db,
            conference_id=tree.cid,
            data=InviteCreate(parent_site_id=tree.hub_b),
            actor=coordinator_a,
            default_days=14,
        )
