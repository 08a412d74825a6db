"""JSON API of the registry, on SQLite and PostgreSQL."""

from fastapi.testclient import TestClient


def test_healthz_returns_ok(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_token_with_wrong_password_is_refused(client: TestClient) -> None:
    r = client.post("/api/v1/auth/token", data={"username": "admin", "password": "nope"})
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_credentials"


def test_create_conference_and_site_as_contract_says(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    r = client.post(
        "/api/v1/conferences",
        json={"title": "Hội nghị tập huấn", "starts_on": "2025-09-09", "ends_on": "2025-09-09"},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = client.post(
        f"/api/v1/conferences/{cid}/sites",
        json={"name": "Hội trường Trung ương", "kind": "central"},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    central = r.json()["id"]
    r = client.post(
        f"/api/v1/conferences/{cid}/sites",
        json={"name": "Trung tâm Hội nghị 272", "kind": "hub", "parent_id": central,
              "expected_attendees": 400},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    r = client.get(f"/api/v1/conferences/{cid}/sites", headers=admin_headers)
    assert r.status_code == 200
    assert [s["name"] for s in r.json()] == ["Hội trường Trung ương", "Trung tâm Hội nghị 272"]
    assert r.headers["X-Total-Count"] == "2"
