"""Coordinator accounts of a site, made by the central office."""

import pytest
from sqlmodel import Session

from app.accounts import errors as accounts_errors
from app.accounts.models import AccountStatus, Role, User
from endpoints import coordinators, errors
from tests.conftest import Tree


def test_create_coordinator_is_active_and_listed_on_its_site(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    assert coordinator_a.role == Role.coordinator
    assert coordinator_a.status == AccountStatus.active
    listed = coordinators.list_site_users(db, site_id=tree.hub_a, actor=coordinator_a)
    assert [u.username for u in listed] == ["hcm"]


def test_create_coordinator_by_coordinator_is_refused(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    with pytest.raises(accounts_errors.AdminOnly):
        coordinators.create_coordinator(
            db, site_id=tree.ward_a1, username="bn", password="bn-password",
            full_name="Nguyễn Văn An", phone=None, actor=coordinator_a,
        )


def test_list_site_users_outside_scope_is_refused(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    with pytest.raises(errors.SiteOutOfScope):
        coordinators.list_site_users(db, site_id=tree.hub_b, actor=coordinator_a)


@pytest.mark.parametrize(("password", "error"), [
    ("short-pw", accounts_errors.PasswordTooShort),
    ("new-coord-1", accounts_errors.PasswordIsUsername),
    ("matkhau123", accounts_errors.PasswordTooCommon),
])
def test_create_coordinator_refuses_a_weak_password(
    db: Session, tree: Tree, admin: User, password: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        coordinators.create_coordinator(
            db, site_id=tree.ward_a1, username="new-coord-1", password=password,
            full_name="Nguyễn Văn An", phone=None, actor=admin,
        )
    assert not [u for u in coordinators.list_site_users(db, site_id=tree.ward_a1, actor=admin)
                if u.username == "new-coord-1"]
