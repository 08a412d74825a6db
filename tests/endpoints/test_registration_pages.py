"""Registering through an invite link and the approvals page."""

import re
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import BrowserContext, expect
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.accounts.models import AccountStatus, User
from app.db import utcnow
from endpoints.invite_models import Invite, NoticeAcceptance
from endpoints.models import Approval, Site
from tests.browser import LiveServer
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


# ------------------------------------------------------------ privacy notice


def test_registration_needs_the_notice_box_and_stores_the_acceptance(
    client: TestClient, db: Session, tree: Tree
) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    token = create_invite(client, tree.cid, tree.hub_a)
    client.cookies.clear()
    form = client.get(f"/invite/{token}")
    assert 'name="accept_notice" value="1" id="accept-notice" required' in form.text
    assert 'name="notice_version" value="1"' in form.text
    assert f'href="/privacy/{tree.cid}"' in form.text and "Mục đích xử lý" in form.text
    unticked = {k: v for k, v in REGISTRATION.items() if k != "accept_notice"}
    r = post(client, f"/invite/{token}", unticked)
    assert r.status_code == 422 and "Bạn cần đọc và đồng ý" in r.text
    assert 'value="Đảng ủy phường Sài Gòn"' in r.text  # what was typed is kept
    assert post(client, f"/invite/{token}", REGISTRATION).status_code == 201
    db.rollback()
    account = db.exec(select(User).where(User.username == "saigon")).one()
    stored = db.exec(select(NoticeAcceptance)).one()
    assert (stored.user_id, stored.conference_id, stored.notice_version) == (
        account.id, tree.cid, 1)


def test_a_notice_changed_since_the_page_opened_is_shown_again(
    client: TestClient, db: Session, tree: Tree
) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    token = create_invite(client, tree.cid, tree.hub_a)
    r = post(client, f"/conferences/{tree.cid}/privacy",
             {"text": "Thông báo mới: đọc lại.", "retention_days": "90"})
    assert r.status_code == 303
    client.cookies.clear()
    r = post(client, f"/invite/{token}", REGISTRATION)  # the box ticked on version 1
    assert r.status_code == 409 and "vừa được cập nhật" in r.text
    assert 'name="notice_version" value="2"' in r.text and "Thông báo mới: đọc lại." in r.text
    assert 'id="accept-notice" required>' in r.text  # to tick again
    assert post(client, f"/invite/{token}", {**REGISTRATION, "notice_version": "2"}
                ).status_code == 201
    db.rollback()
    assert db.exec(select(NoticeAcceptance)).one().notice_version == 2


@pytest.mark.browser
def test_the_browser_will_not_send_the_form_without_the_box(
    live_server: LiveServer, phone: BrowserContext
) -> None:
    http = httpx.Client(base_url=live_server.url, timeout=30)
    auth = http.post("/api/v1/auth/token",
                     data={"username": "admin", "password": ADMIN_PASSWORD}).json()
    http.headers["Authorization"] = f"Bearer {auth['access_token']}"
    cid = http.post("/api/v1/conferences", json={
        "title": "Hội nghị đăng ký", "starts_on": "2026-12-20", "ends_on": "2026-12-20",
    }).json()["id"]
    invite = http.post(f"/api/v1/conferences/{cid}/invites", json={}).json()["url"]
    mobile = phone.new_page()
    mobile.goto(f"{live_server.url}{invite}")
    mobile.select_option("select[name=kind]", "ward")
    for name, value in REGISTRATION.items():
        if name not in ("kind", "accept_notice", "notice_version"):
            mobile.fill(f"input[name={name}]", value)
    mobile.get_by_text("Đọc Thông báo xử lý dữ liệu cá nhân").click()
    expect(mobile.locator(".notice-box")).to_contain_text("91/2025/QH15")
    mobile.get_by_role("button", name="Gửi đăng ký").click()
    assert mobile.locator("#accept-notice").evaluate("box => !box.validity.valid")
    expect(mobile.locator("h1")).to_have_text("Hội nghị đăng ký")  # not sent
    assert http.get(f"/api/v1/conferences/{cid}/registrations").json() == []
    mobile.check("#accept-notice")
    mobile.get_by_role("button", name="Gửi đăng ký").click()
    expect(mobile.locator("h1")).to_have_text("Đã gửi đăng ký, chờ ban tổ chức duyệt")
    assert len(http.get(f"/api/v1/conferences/{cid}/registrations").json()) == 1
    http.close()
