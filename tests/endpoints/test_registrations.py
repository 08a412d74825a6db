"""Deciding on sites registered through invites."""


import pytest
from sqlmodel import Session

from app.accounts.models import User
from endpoints import errors, invites, registrations
from endpoints.invite_models import InviteCreate
from tests.conftest import Tree
from tests.endpoints.support import registration


def test_decide_twice_is_refused(db: Session, admin: User, tree: Tree) -> None:
    _, token = invites.create_invite(
        db, conference_id=tree.cid, data=InviteCreate(), actor=admin, default_days=14
    )
    site, _ = invites.register_with_invite(db, token=token, data=registration())
    registrations.reject_registration(db, site_id=site.id or 0, actor=admin)
    with pytest.raises(errors.RegistrationNotPending):
        registrations.approve_registration(db, site_id=site.id or 0, actor=admin)
