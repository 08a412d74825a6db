"""Invite links on the pages."""


from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import User
from endpoints.invite_models import Invite
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.support import (
    create_invite,
    login,
    post,
)


def test_invite_link_is_absolute_and_shown_once(client: TestClient, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    token = create_invite(client, tree.cid, tree.hub_a)
    listing = client.get(f"/conferences/{tree.cid}/invites").text
    assert token not in listing
    assert "chưa dùng" in listing and "Phường mới" in listing


def test_invite_with_too_many_days_shows_error(client: TestClient, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = post(client, f"/conferences/{tree.cid}/invites",
             {"parent_site_id": str(tree.hub_a), "days_valid": "365", "note": "Giữ lại"})
    assert r.status_code == 422
    assert "Số ngày hiệu lực: quá lớn" in r.text
    assert 'value="Giữ lại"' in r.text


def test_revoked_invite_is_listed_and_link_is_dead(client: TestClient, db: Session,
                                                   tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    token = create_invite(client, tree.cid, tree.hub_a)
    db.rollback()
    invite = db.exec(select(Invite)).one()
    r = post(client, f"/invites/{invite.id}/revoke")
    assert r.status_code == 303
    assert "đã thu hồi" in client.get(r.headers["location"]).text
    assert client.get(f"/invite/{token}").status_code == 404


def test_hub_coordinator_invites_below_own_site_only(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    create_invite(client, tree.cid, tree.ward_a1)
    page = client.get(f"/conferences/{tree.cid}/invites").text
    assert "Đảng ủy phường Bến Nghé" in page and "Thu hồi" not in page
    r = post(client, f"/conferences/{tree.cid}/invites", {"parent_site_id": str(tree.hub_b)})
    assert r.status_code == 403
