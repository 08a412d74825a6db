"""Account API: the central office locks, unlocks, logs out and resets; users change their
own password; reset links work once and expire; only their hash is stored."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import PasswordReset, User
from app.db import utcnow
from app.security import hash_token
from endpoints.coordinators import create_coordinator
from tests.conftest import Tree, token_for

COORD = ("hcm", "hcm-password")
NEW = "cau-truyen-hinh-2026"


def _login(client: TestClient, username: str, password: str) -> int:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    return int(r.status_code)


def test_disabled_account_cannot_log_in_and_its_tokens_die(
    client: TestClient, admin_headers: dict[str, str], coordinator_a: User
) -> None:
    old = token_for(client, *COORD)
    r = client.post(f"/api/v1/accounts/{coordinator_a.id}/disable", headers=admin_headers)
    assert r.status_code == 200 and r.json()["status"] == "disabled"
    assert client.get("/api/v1/auth/me", headers=old).status_code == 401
    r = client.post("/api/v1/auth/token", data={"username": "hcm", "password": COORD[1]})
    assert (r.status_code, r.json()["code"]) == (403, "account_not_active")
    r = client.post(f"/api/v1/accounts/{coordinator_a.id}/enable", headers=admin_headers)
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert _login(client, *COORD) == 200
    assert client.get("/api/v1/auth/me", headers=old).status_code == 401  # still dead


def test_force_logout_ends_every_token_but_not_the_account(
    client: TestClient, admin_headers: dict[str, str], coordinator_a: User
) -> None:
    old = token_for(client, *COORD)
    r = client.post(f"/api/v1/accounts/{coordinator_a.id}/logout", headers=admin_headers)
    assert r.status_code == 204
    assert client.get("/api/v1/auth/me", headers=old).status_code == 401
    assert _login(client, *COORD) == 200


def test_only_the_central_office_manages_accounts_and_not_its_own(
    client: TestClient, admin: User, admin_headers: dict[str, str], coordinator_a: User
) -> None:
    coord = token_for(client, *COORD)
    for action in ("disable", "enable", "logout", "reset-link"):
        r = client.post(f"/api/v1/accounts/{admin.id}/{action}", headers=coord)
        assert (r.status_code, r.json()["code"]) == (403, "admin_only"), action
    assert client.get("/api/v1/accounts", headers=coord).status_code == 403
    r = client.post(f"/api/v1/accounts/{admin.id}/disable", headers=admin_headers)
    assert (r.status_code, r.json()["code"]) == (409, "cannot_change_own_account")
    r = client.post(f"/api/v1/accounts/{coordinator_a.id}/enable", headers=admin_headers)
    assert (r.status_code, r.json()["code"]) == (409, "account_not_disabled")
    assert client.post("/api/v1/accounts/99999/disable", headers=admin_headers).status_code == 404


def test_account_list_searches_and_counts(
    client: TestClient, admin_headers: dict[str, str], coordinator_a: User
) -> None:
    r = client.get("/api/v1/accounts", headers=admin_headers)
    assert r.json()["total"] == 2
    assert "password_hash" not in r.json()["items"][0]
    r = client.get("/api/v1/accounts", params={"q": "hồng"}, headers=admin_headers)
    assert [u["username"] for u in r.json()["items"]] == ["hcm"]
    r = client.get("/api/v1/accounts", params={"status": "disabled"}, headers=admin_headers)
    assert r.json() == {"items": [], "total": 0}


def _reset_token(client: TestClient, headers: dict[str, str], user_id: int | None) -> str:
    r = client.post(f"/api/v1/accounts/{user_id}/reset-link", headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["url"].startswith("http://testserver/password-reset/")
    return str(r.json()["url"].rsplit("/", 1)[1])


def test_reset_link_works_once_and_ends_old_sessions(
    client: TestClient, db: Session, admin_headers: dict[str, str], coordinator_a: User
) -> None:
    old = token_for(client, *COORD)
    token = _reset_token(client, admin_headers, coordinator_a.id)
    db.rollback()
    stored = db.exec(select(PasswordReset)).one()
    assert stored.token_hash == hash_token(token) and token not in stored.token_hash
    body = {"token": token, "new_password": NEW}
    assert client.post("/api/v1/auth/password-reset", json=body).status_code == 204
    again = client.post("/api/v1/auth/password-reset", json={**body, "new_password": NEW + "x"})
    assert (again.status_code, again.json()["code"]) == (410, "reset_link_invalid")
    assert _login(client, "hcm", NEW) == 200
    assert _login(client, *COORD) == 401
    assert client.get("/api/v1/auth/me", headers=old).status_code == 401


def test_reset_link_expires_and_a_newer_link_retires_older_ones(
    client: TestClient, admin_headers: dict[str, str], coordinator_a: User
) -> None:
    first = _reset_token(client, admin_headers, coordinator_a.id)
    second = _reset_token(client, admin_headers, coordinator_a.id)
    r = client.post("/api/v1/auth/password-reset", json={"token": first, "new_password": NEW})
    assert r.status_code == 410
    from sqlalchemy import update

    from app.db import create_db_engine

    url = client.app.state.settings.database_url  # type: ignore[attr-defined]
    writer = create_db_engine(url, pool_size=1)
    with Session(writer) as wdb:
        wdb.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
        wdb.commit()
    writer.dispose()
    r = client.post("/api/v1/auth/password-reset", json={"token": second, "new_password": NEW})
    assert (r.status_code, r.json()["code"]) == (410, "reset_link_invalid")
    assert _login(client, *COORD) == 200


def test_reset_with_weak_password_keeps_the_link(
    client: TestClient, admin_headers: dict[str, str], coordinator_a: User
) -> None:
    token = _reset_token(client, admin_headers, coordinator_a.id)
    r = client.post("/api/v1/auth/password-reset", json={"token": token, "new_password": "hcm"})
    assert (r.status_code, r.json()["code"]) == (422, "password_too_short")
    r = client.post("/api/v1/auth/password-reset", json={"token": token, "new_password": NEW})
    assert r.status_code == 204


def test_change_own_password_refuses_weak_ones_then_issues_a_fresh_token(
    client: TestClient, coordinator_a: User
) -> None:
    old = token_for(client, *COORD)
    cases = {
        "ngan": "password_too_short",
        "HCM": "password_too_short",
        "matkhau123": "password_too_common",
    }
    for weak, code in cases.items():
        r = client.post("/api/v1/auth/password", headers=old,
                        json={"current_password": COORD[1], "new_password": weak})
        assert (r.status_code, r.json()["code"]) == (422, code), weak
        assert r.json()["detail"]
    r = client.post("/api/v1/auth/password", headers=old,
                    json={"current_password": "wrong-password", "new_password": NEW})
    assert (r.status_code, r.json()["code"]) == (422, "wrong_current_password")
    r = client.post("/api/v1/auth/password", headers=old,
                    json={"current_password": COORD[1], "new_password": NEW})
    assert r.status_code == 200, r.text
    fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=fresh).status_code == 200
    assert client.get("/api/v1/auth/me", headers=old).status_code == 401
    assert _login(client, "hcm", NEW) == 200


def test_password_equal_to_username_is_refused(
    client: TestClient, db: Session, admin: User, tree: Tree
) -> None:
    create_coordinator(db, site_id=tree.ward_a1, username="nguyenvanbinh",
                       password="binh-password", full_name="Nguyễn Văn Bình", phone=None,
                       actor=admin)
    headers = token_for(client, "nguyenvanbinh", "binh-password")
    r = client.post("/api/v1/auth/password", headers=headers,
                    json={"current_password": "binh-password", "new_password": "NguyenVanBinh"})
    assert (r.status_code, r.json()["code"]) == (422, "password_is_username")
