"""JSON API of the programme: CONTRACT.md shapes, codes, CSRF for cookie writes."""

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import User
from app.config import Settings
from sessions import follow_links
from tests.conftest import SECRET, Tree, make_settings, token_for
from tests.endpoints.support import csrf, login
from tests.sessions.support import add_item, create_session, make_live


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, data_dir=tmp_path / "var")


@pytest.fixture
def coordinator_headers(client: TestClient, coordinator_a: User) -> dict[str, str]:
    return token_for(client, "hcm", "hcm-password")


# ---------------------------------------------------------------- sessions


def test_create_session_answers_201_with_utc_times(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    r = client.post(
        f"/api/v1/conferences/{tree.cid}/sessions",
        json={"title": "Phiên khai mạc", "starts_at": "2025-09-09T08:00:00+07:00",
              "ends_at": "2025-09-09T11:30:00+07:00"},
        headers=admin_headers,
    )
    assert r.status_code == 201
    body = r.json()
    assert isinstance(body["id"], int)
    assert body["conference_id"] == tree.cid
    assert body["starts_at"] == "2025-09-09T01:00:00Z"
    assert body["ends_at"] == "2025-09-09T04:30:00Z"
    assert body["status"] == "scheduled"


def test_create_session_without_offset_is_vietnam_time(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    r = client.post(
        f"/api/v1/conferences/{tree.cid}/sessions",
        json={"title": "Sáng", "starts_at": "2025-09-09T06:30", "ends_at": "2025-09-09T08:00"},
        headers=admin_headers,
    )
    assert r.status_code == 201
    assert r.json()["starts_at"].startswith("2025-09-08T23:30:00")


@pytest.mark.parametrize(
    "body",
    [
        {"title": "X", "starts_at": "2025-09-09T08:00Z", "ends_at": "2025-09-09T07:00Z"},
        {"title": "", "starts_at": "2025-09-09T08:00Z", "ends_at": "2025-09-09T09:00Z"},
        {"title": "X", "starts_at": "not a time", "ends_at": "2025-09-09T09:00Z"},
        {"title": "X", "starts_at": "2025-09-09T08:00Z", "ends_at": "2025-09-09T09:00Z",
         "room": "extra"},
    ],
    ids=["reversed", "empty-title", "bad-time", "extra-field"],
)
def test_create_session_with_bad_body_is_422(
    client: TestClient, tree: Tree, admin_headers: dict[str, str], body: dict[str, Any]
) -> None:
    r = client.post(f"/api/v1/conferences/{tree.cid}/sessions", json=body, headers=admin_headers)
    assert (r.status_code, r.json()["code"]) == (422, "validation_error")


def test_create_session_in_unknown_conference_is_404(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    r = client.post(
        "/api/v1/conferences/999/sessions",
        json={"title": "X", "starts_at": "2025-09-09T08:00Z", "ends_at": "2025-09-09T09:00Z"},
        headers=admin_headers,
    )
    assert (r.status_code, r.json()["code"]) == (404, "conference_not_found")


def test_coordinator_lists_but_cannot_create_sessions(
    client: TestClient, tree: Tree, admin_headers: dict[str, str],
    coordinator_headers: dict[str, str],
) -> None:
    session = create_session(client, tree.cid, admin_headers)
    r = client.get(f"/api/v1/conferences/{tree.cid}/sessions", headers=coordinator_headers)
    assert [s["id"] for s in r.json()] == [session["id"]]
    r = client.post(
        f"/api/v1/conferences/{tree.cid}/sessions",
        json={"title": "X", "starts_at": "2025-09-09T08:00Z", "ends_at": "2025-09-09T09:00Z"},
        headers=coordinator_headers,
    )
    assert (r.status_code, r.json()["code"]) == (403, "admin_only")


def test_update_and_close_session(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    session = create_session(client, tree.cid, admin_headers)
    r = client.patch(f"/api/v1/sessions/{session['id']}", json={"title": "Phiên bế mạc"},
                     headers=admin_headers)
    assert (r.status_code, r.json()["title"]) == (200, "Phiên bế mạc")
    r = client.post(f"/api/v1/sessions/{session['id']}/close", headers=admin_headers)
    assert (r.status_code, r.json()["status"]) == (200, "closed")


def test_unauthenticated_call_is_401(client: TestClient, tree: Tree) -> None:
    r = client.get(f"/api/v1/conferences/{tree.cid}/sessions")
    assert (r.status_code, r.json()["code"]) == (401, "not_authenticated")


# ------------------------------------------------------------------ agenda


def test_agenda_crud_and_reorder(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    session = create_session(client, tree.cid, admin_headers)
    sid = session["id"]
    opening = add_item(client, sid, admin_headers, "Khai mạc", "opening")
    assert opening["kind_label"] == "khai mạc" and opening["position"] == 0
    assert opening["deck"] is None
    talk = add_item(client, sid, admin_headers, "Báo cáo", "talk")
    pause = add_item(client, sid, admin_headers, "Giải lao", "break")
    assert pause["kind_label"] == "giải lao"
    r = client.patch(f"/api/v1/agenda-items/{talk['id']}",
                     json={"speaker": "TS. Nguyễn Văn An"}, headers=admin_headers)
    assert (r.status_code, r.json()["speaker"]) == (200, "TS. Nguyễn Văn An")
    r = client.put(f"/api/v1/sessions/{sid}/agenda/order",
                   json={"ids": [pause["id"], opening["id"], talk["id"]]}, headers=admin_headers)
    assert r.status_code == 200
    assert [i["title"] for i in r.json()] == ["Giải lao", "Khai mạc", "Báo cáo"]
    r = client.put(f"/api/v1/sessions/{sid}/agenda/order", json={"ids": [pause["id"]]},
                   headers=admin_headers)
    assert (r.status_code, r.json()["code"]) == (422, "agenda_order_mismatch")
    r = client.delete(f"/api/v1/agenda-items/{pause['id']}", headers=admin_headers)
    assert r.status_code == 204
    r = client.get(f"/api/v1/sessions/{sid}/agenda", headers=admin_headers)
    assert [i["title"] for i in r.json()] == ["Khai mạc", "Báo cáo"]
    r = client.get(f"/api/v1/agenda-items/{pause['id']}", headers=admin_headers)
    assert (r.status_code, r.json()["code"]) == (404, "agenda_item_not_found")


def test_agenda_item_with_unknown_kind_is_422(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    session = create_session(client, tree.cid, admin_headers)
    r = client.post(f"/api/v1/sessions/{session['id']}/agenda",
                    json={"title": "X", "kind": "party"}, headers=admin_headers)
    assert (r.status_code, r.json()["code"]) == (422, "validation_error")


# ------------------------------------------------------------------- state


def test_put_state_answers_200_with_version_and_stage(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    session = create_session(client, tree.cid, admin_headers)
    first = add_item(client, session["id"], admin_headers, "Khai mạc", "opening")
    second = add_item(client, session["id"], admin_headers, "Báo cáo AI")
    r = client.put(f"/api/v1/sessions/{session['id']}/state",
                   json={"agenda_item_id": first["id"]}, headers=admin_headers)
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == 1
    assert body["conference_id"] == tree.cid
    assert body["conference_title"] == "Hội nghị tập huấn AI"
    assert body["session"]["id"] == session["id"] and body["session"]["status"] == "live"
    assert body["item"] == {"id": first["id"], "title": "Khai mạc", "kind": "opening",
                            "kind_label": "khai mạc", "speaker": None, "position": 0}
    assert [n["id"] for n in body["next"]] == [second["id"]]
    assert body["slide"] is None and body["notice"] is None
    r = client.put(f"/api/v1/sessions/{session['id']}/state",
                   json={"notice": "Kiểm tra âm thanh"}, headers=admin_headers)
    assert (r.json()["version"], r.json()["notice"]) == (2, "Kiểm tra âm thanh")
    assert r.json()["item"]["id"] == first["id"]
    stage = client.get(f"/api/v1/conferences/{tree.cid}/stage", headers=admin_headers).json()
    assert stage == r.json()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"agenda_item_id": 999999}, 422, "agenda_item_not_in_session"),
        ({"slide": 0}, 422, "slide_out_of_range"),
        ({"slide": 2}, 422, "slide_out_of_range"),
        ({"slide": "two"}, 422, "validation_error"),
        ({"notice": "x" * 501}, 422, "validation_error"),
        ({"version": 3}, 422, "validation_error"),
    ],
)
def test_put_state_refusals(
    client: TestClient, tree: Tree, admin_headers: dict[str, str], body: dict[str, Any],
    status: int, code: str,
) -> None:
    session = create_session(client, tree.cid, admin_headers)
    r = client.put(f"/api/v1/sessions/{session['id']}/state", json=body, headers=admin_headers)
    assert (r.status_code, r.json()["code"]) == (status, code)


def test_put_state_on_closed_session_is_409(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    session = create_session(client, tree.cid, admin_headers)
    client.post(f"/api/v1/sessions/{session['id']}/close", headers=admin_headers)
    r = client.put(f"/api/v1/sessions/{session['id']}/state", json={}, headers=admin_headers)
    assert (r.status_code, r.json()["code"]) == (409, "session_closed")


def test_reopened_session_goes_back_on_stage(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    session = create_session(client, tree.cid, admin_headers)
    client.post(f"/api/v1/sessions/{session['id']}/close", headers=admin_headers)
    r = client.post(f"/api/v1/sessions/{session['id']}/reopen", headers=admin_headers)
    assert (r.status_code, r.json()["status"]) == (200, "scheduled")
    r = client.put(f"/api/v1/sessions/{session['id']}/state", json={}, headers=admin_headers)
    assert r.status_code == 200
    r = client.get(f"/api/v1/sessions/{session['id']}", headers=admin_headers)
    assert r.json()["status"] == "live"


def test_reopen_refusals(
    client: TestClient, tree: Tree, admin_headers: dict[str, str],
    coordinator_headers: dict[str, str],
) -> None:
    session = create_session(client, tree.cid, admin_headers)
    r = client.post(f"/api/v1/sessions/{session['id']}/reopen", headers=admin_headers)
    assert (r.status_code, r.json()["code"]) == (409, "session_not_closed")
    client.post(f"/api/v1/sessions/{session['id']}/close", headers=admin_headers)
    r = client.post(f"/api/v1/sessions/{session['id']}/reopen", headers=coordinator_headers)
    assert (r.status_code, r.json()["code"]) == (403, "admin_only")
    r = client.post("/api/v1/sessions/999999/reopen", headers=admin_headers)
    assert (r.status_code, r.json()["code"]) == (404, "session_not_found")


def test_put_state_by_coordinator_is_403(
    client: TestClient, tree: Tree, admin_headers: dict[str, str],
    coordinator_headers: dict[str, str],
) -> None:
    session = create_session(client, tree.cid, admin_headers)
    r = client.put(f"/api/v1/sessions/{session['id']}/state", json={},
                   headers=coordinator_headers)
    assert (r.status_code, r.json()["code"]) == (403, "admin_only")
    r = client.get(f"/api/v1/conferences/{tree.cid}/stage", headers=coordinator_headers)
    assert (r.status_code, r.json()["version"]) == (200, 0)


def test_cookie_authenticated_state_change_needs_csrf_header(
    client: TestClient, tree: Tree, admin: User, admin_headers: dict[str, str]
) -> None:
    session = create_session(client, tree.cid, admin_headers)
    login(client, "admin", "admin-test-password")
    url = f"/api/v1/sessions/{session['id']}/state"
    r = client.put(url, json={"notice": "Xin chào"})
    assert (r.status_code, r.json()["code"]) == (403, "csrf_failed")
    r = client.put(url, json={"notice": "Xin chào"}, headers={"X-CSRF-Token": "forged"})
    assert (r.status_code, r.json()["code"]) == (403, "csrf_failed")
    r = client.put(url, json={"notice": "Xin chào"}, headers={"X-CSRF-Token": csrf(client)})
    assert (r.status_code, r.json()["notice"]) == (200, "Xin chào")


# ------------------------------------------------------------ follow links


def test_follow_link_and_agenda(
    client: TestClient, tree: Tree, admin_headers: dict[str, str], db: Session
) -> None:
    make_live(db, tree.cid)  # a link expires with its conference
    session = create_session(client, tree.cid, admin_headers)
    item = add_item(client, session["id"], admin_headers, "Khai mạc")
    r = client.get(f"/api/v1/conferences/{tree.cid}/follow-link", headers=admin_headers)
    assert r.status_code == 200
    link = r.json()
    assert link["url"] == f"http://testserver/follow/{link['token']}"
    r = client.get(f"/api/v1/follow/{link['token']}/agenda")
    assert (r.status_code, r.json()) == (200, [])  # nothing on stage yet
    client.put(f"/api/v1/sessions/{session['id']}/state", json={}, headers=admin_headers)
    r = client.get(f"/api/v1/follow/{link['token']}/agenda")
    assert [i["id"] for i in r.json()] == [item["id"]]


def test_follow_agenda_with_forged_token_is_404(client: TestClient, tree: Tree) -> None:
    forged = follow_links.sign(conference_id=tree.cid, generation=0, secret="not-" + SECRET)
    r = client.get(f"/api/v1/follow/{forged}/agenda")
    assert (r.status_code, r.json()["code"]) == (404, "follow_link_invalid")


def test_follow_link_is_read_by_coordinators_and_rotated_by_admin_only(
    client: TestClient, tree: Tree, admin_headers: dict[str, str],
    coordinator_headers: dict[str, str],
) -> None:
    # A coordinator hands the link to their site's attendees (issue 12, point 5).
    r = client.get(f"/api/v1/conferences/{tree.cid}/follow-link", headers=coordinator_headers)
    assert r.status_code == 200
    admin = client.get(f"/api/v1/conferences/{tree.cid}/follow-link", headers=admin_headers)
    assert r.json()["url"] == admin.json()["url"]
    r = client.post(f"/api/v1/conferences/{tree.cid}/follow-link/rotate",
                    headers=coordinator_headers)
    assert (r.status_code, r.json()["code"]) == (403, "admin_only")


def test_openapi_lists_contract_paths(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "post" in paths["/api/v1/conferences/{conference_id}/sessions"]
    assert "put" in paths["/api/v1/sessions/{session_id}/state"]
    assert "multipart/form-data" in paths["/api/v1/agenda-items/{agenda_item_id}/deck"]["post"][
        "requestBody"]["content"]
