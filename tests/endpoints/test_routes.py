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


def test_site_routes_answer_for_the_current_or_the_named_conference(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    def conference(title: str, day: str) -> int:
        r = client.post("/api/v1/conferences", headers=admin_headers,
                        json={"title": title, "starts_on": day, "ends_on": day})
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    first, second = conference("Lần một", "2025-09-09"), conference("Lần hai", "2099-01-01")
    r = client.post(f"/api/v1/conferences/{first}/sites", headers=admin_headers,
                    json={"name": "Hội trường Trung ương", "kind": "central",
                          "expected_attendees": 300})
    site_id = r.json()["id"]
    assert (r.json()["conference_id"], r.json()["expected_attendees"]) == (first, 300)
    # The site is in the registry, but the second conference lists it only once invited.
    r = client.get(f"/api/v1/conferences/{second}/sites", headers=admin_headers)
    assert r.json() == [] and r.headers["X-Total-Count"] == "0"
    r = client.get(f"/api/v1/sites/{site_id}", headers=admin_headers)
    assert (r.json()["conference_id"], r.json()["readiness"]) == (first, "not_connected")
    r = client.patch(f"/api/v1/sites/{site_id}?conference_id={second}", headers=admin_headers,
                     json={"readiness": "ready"})
    assert r.status_code == 404 and r.json()["code"] == "site_not_in_conference"
    r = client.patch(f"/api/v1/sites/{site_id}?conference_id={first}", headers=admin_headers,
                     json={"readiness": "ready", "room": "Diên Hồng"})
    assert r.status_code == 200
    assert (r.json()["readiness"], r.json()["room"]) == ("ready", "Diên Hồng")
