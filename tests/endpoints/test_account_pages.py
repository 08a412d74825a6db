"""Account pages: the central office's list and actions, changing one's own password, the
reset link's page; every form needs its CSRF token."""

import re

from fastapi.testclient import TestClient

from app.accounts.models import User
from app.security import SESSION_COOKIE
from tests.conftest import ADMIN_PASSWORD
from tests.endpoints.support import csrf, login, post

NEW = "cau-truyen-hinh-2026"
RESET_LINK = re.compile(r"http://testserver/password-reset/([A-Za-z0-9_-]+)")


def test_accounts_page_lists_accounts_for_the_central_office_only(
    client: TestClient, admin: User, coordinator_a: User
) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = client.get("/accounts")
    assert r.status_code == 200
    assert "Lê Thị Hồng" in r.text and "Trung tâm Hội nghị 272" in r.text
    assert "<script>" not in r.text
    client.cookies.clear()
    login(client, "hcm", "hcm-password")
    assert client.get("/accounts").status_code == 403


def test_lock_from_the_page_then_login_is_refused(
    client: TestClient, admin: User, coordinator_a: User
) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = post(client, f"/accounts/{coordinator_a.id}/disable")
    assert r.status_code == 200 and "Đã khoá tài khoản hcm" in r.text
    other = TestClient(client.app)
    r = other.post("/login", data={"username": "hcm", "password": "hcm-password",
                                   "csrf_token": csrf(other)}, follow_redirects=False)
    assert r.status_code == 403 and "bị khoá" in r.text
    assert post(client, f"/accounts/{coordinator_a.id}/enable").status_code == 200


def test_account_action_without_csrf_is_refused(
    client: TestClient, admin: User, coordinator_a: User
) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = client.post(f"/accounts/{coordinator_a.id}/disable", data={}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post(f"/api/v1/accounts/{coordinator_a.id}/disable")  # the login cookie only
    assert r.status_code == 403


def test_reset_link_page_works_once(
    client: TestClient, admin: User, coordinator_a: User
) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = post(client, f"/accounts/{coordinator_a.id}/reset-link")
    match = RESET_LINK.search(r.text)
    assert r.status_code == 200 and match
    visitor = TestClient(client.app)
    page = visitor.get(f"/password-reset/{match.group(1)}")
    assert page.status_code == 200 and "hcm" in page.text
    weak = post(visitor, f"/password-reset/{match.group(1)}",
                {"new_password": "matkhau123", "confirm_password": "matkhau123"})
    assert weak.status_code == 422 and "quá phổ biến" in weak.text
    done = post(visitor, f"/password-reset/{match.group(1)}",
                {"new_password": NEW, "confirm_password": NEW})
    assert done.status_code == 200 and "Đã đặt mật khẩu mới" in done.text
    again = visitor.get(f"/password-reset/{match.group(1)}")
    assert again.status_code == 410 and "đã dùng hoặc đã hết hạn" in again.text
    assert login(visitor, "hcm", NEW)


def test_change_password_page_refuses_weak_ones_and_keeps_this_device_logged_in(
    client: TestClient, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    assert client.get("/account/password").status_code == 200
    r = post(client, "/account/password", {"current_password": "hcm-password",
                                           "new_password": "ngan", "confirm_password": "ngan"})
    assert r.status_code == 422 and "ít nhất 10 ký tự" in r.text
    r = post(client, "/account/password", {"current_password": "hcm-password",
                                           "new_password": NEW, "confirm_password": NEW + "x"})
    assert r.status_code == 422 and "không khớp" in r.text
    old_cookie = client.cookies[SESSION_COOKIE]
    r = post(client, "/account/password", {"current_password": "hcm-password",
                                           "new_password": NEW, "confirm_password": NEW})
    assert r.status_code == 200 and "Đã đổi mật khẩu" in r.text
    assert client.cookies[SESSION_COOKIE] != old_cookie
    assert client.get("/account/password").status_code == 200  # still logged in here
    stale = TestClient(client.app, cookies={SESSION_COOKIE: old_cookie})
    assert stale.get("/api/v1/auth/me").status_code == 401
