"""Login, logout and CSRF on the registry's pages."""


from fastapi.testclient import TestClient

from app.accounts.models import User
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.support import (
    csrf,
    login,
)


def test_login_with_wrong_password_shows_error(client: TestClient, admin: User) -> None:
    r = client.post(
        "/login",
        data={"username": "admin", "password": "wrong-password", "csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert r.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in r.text
    assert 'value="admin"' in r.text


def test_login_sends_admin_to_conferences_and_coordinator_to_site_tree(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    assert login(client, "admin", ADMIN_PASSWORD) == "/conferences"
    client.cookies.clear()
    assert login(client, "hcm", "hcm-password") == f"/conferences/{tree.cid}/sites"


def test_login_keeps_a_local_next_but_not_an_outside_one(client: TestClient, admin: User) -> None:
    token = csrf(client)
    r = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                    "csrf_token": token, "next": "//evil.example/x"},
                    follow_redirects=False)
    assert r.headers["location"] == "/conferences"


def test_page_without_login_redirects_to_login(client: TestClient, tree: Tree) -> None:
    r = client.get(f"/conferences/{tree.cid}/sites", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/login?next=/conferences/{tree.cid}/sites"


def test_form_post_without_csrf_token_is_refused(client: TestClient, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = client.post(f"/sites/{tree.ward_a1}", data={"name": "Đổi tên"}, follow_redirects=False)
    assert r.status_code == 403
    assert "csrf_failed" in r.text
    r = client.post(f"/sites/{tree.ward_a1}", data={"name": "Đổi tên", "csrf_token": "forged"})
    assert r.status_code == 403
    assert "csrf_failed" in r.text
