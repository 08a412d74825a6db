"""Registering through an invite link and the approvals page."""

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.accounts.models import AccountStatus, User
from app.db import utcnow
from endpoints.invite_models import Invite
from endpoints.models import Approval, Site
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.support import (
    REGISTRATION,
    create_invite,
    csrf,
    login,
    participation,
    post,
)


def test_invite_registration_happy_path(client: TestClient, db: Session, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    token = create_invite(client, tree.cid, tree.hub_a)
    client.cookies.clear()
    form = client.get(f"/invite/{token}")
    assert form.status_code == 200
    assert "Hội nghị tập huấn AI" in form.text and "Trung tâm Hội nghị 272" in form.text
    assert '<option value="ward" selected>' in form.text
    r = post(client, f"/invite/{token}", REGISTRATION)
    assert r.status_code == 201
    assert "Đã gửi đăng ký, chờ ban tổ chức duyệt" in r.text
    db.rollback()
    site = db.exec(select(Site).where(Site.name == "Đảng ủy phường Sài Gòn")).one()
    assert site.id is not None
    part = participation(db, tree.cid, site.id)
    assert (site.parent_id, site.approval, part.approval, part.expected_attendees) == (
        tree.hub_a, Approval.pending, Approval.pending, 85)
    account = db.exec(select(User).where(User.username == "saigon")).one()
    assert account.status == AccountStatus.pending
    # Not approved yet: the coordinator cannot log in.
    r = client.post("/login", data={"username": "saigon", "password": "sg-password-1",
                                    "csrf_token": csrf(client)})
    assert r.status_code == 403
    # The central office approves; now they can.
    login(client, "admin", ADMIN_PASSWORD)
    pending = client.get(f"/conferences/{tree.cid}/registrations").text
    assert "Đảng ủy phường Sài Gòn" in pending and "Trần Văn Bình" in pending
    r = post(client, f"/sites/{site.id}/approve")
    assert r.status_code == 303
    decided = client.get(f"/conferences/{tree.cid}/registrations?show=decided").text
    assert "Đảng ủy phường Sài Gòn" in decided and "đã duyệt" in decided
    client.cookies.clear()
    assert login(client, "saigon", "sg-password-1") == f"/conferences/{tree.cid}/sites"
    own = client.get(f"/conferences/{tree.cid}/sites").text
    assert "Đảng ủy phường Sài Gòn" in own and "Bến Nghé" not in own


def test_approve_twice_shows_409(client: TestClient, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    token = create_invite(client, tree.cid, tree.hub_a)
    post(client, f"/invite/{token}", REGISTRATION)
    site_id = re.search(r'href="/sites/(\d+)">Đảng ủy phường Sài Gòn',
                        client.get(f"/conferences/{tree.cid}/registrations").text)
    assert site_id
    assert post(client, f"/sites/{site_id.group(1)}/reject").status_code == 303
    r = post(client, f"/sites/{site_id.group(1)}/approve")
    assert r.status_code == 409
    assert "Đăng ký này đã được xử lý" in r.text


def test_registration_password_mismatch_keeps_input(client: TestClient, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    token = create_invite(client, tree.cid, tree.hub_a)
    r = post(client, f"/invite/{token}", {**REGISTRATION, "password_confirm": "other-pass-1"})
    assert r.status_code == 422
    assert "Mật khẩu nhập lại không khớp" in r.text
    assert 'value="Đảng ủy phường Sài Gòn"' in r.text
    assert "sg-password-1" not in r.text


def test_registration_with_bad_username_names_the_field(client: TestClient, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    token = create_invite(client, tree.cid, tree.hub_a)
    r = post(client, f"/invite/{token}", {**REGISTRATION, "username": "sài gòn"})
    assert r.status_code == 422
    assert "Tên đăng nhập: chỉ được dùng" in r.text
    assert client.get(f"/invite/{token}").status_code == 200  # the invite is still usable


def test_used_invite_page_shows_409(client: TestClient, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    token = create_invite(client, tree.cid, tree.hub_a)
    assert post(client, f"/invite/{token}", REGISTRATION).status_code == 201
    r = client.get(f"/invite/{token}")
    assert r.status_code == 409
    assert "Liên kết mời đã được sử dụng" in r.text
    r = post(client, f"/invite/{token}", {**REGISTRATION, "username": "other"})
    assert r.status_code == 409


def test_expired_invite_page_shows_410(client: TestClient, db: Session, engine: Engine,
                                       tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    token = create_invite(client, tree.cid, tree.hub_a)
    with Session(engine) as writer:
        writer.execute(update(Invite).values(expires_at=utcnow() - timedelta(minutes=1)))
        writer.commit()
    r = client.get(f"/invite/{token}")
    assert r.status_code == 410
    assert "Liên kết mời đã hết hạn" in r.text
    assert "hết hạn" in client.get(f"/conferences/{tree.cid}/invites").text


def test_unknown_invite_page_shows_404(client: TestClient, admin: User) -> None:
    r = client.get("/invite/not-a-real-token")
    assert r.status_code == 404
    assert "Liên kết mời không hợp lệ" in r.text


def test_coordinator_cannot_open_approvals(client: TestClient, tree: Tree,
                                           coordinator_a: User) -> None:
    login(client, "hcm", "hcm-password")
    r = client.get(f"/conferences/{tree.cid}/registrations")
    assert r.status_code == 403
    assert "admin_only" in r.text
