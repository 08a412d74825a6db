"""The privacy notice's JSON API: anyone reads it, the central office edits it; and the
registration API that must accept it."""

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from endpoints.invite_models import NoticeAcceptance
from tests.conftest import Tree, token_for

REGISTRATION = {"site_name": "Phường Sài Gòn", "kind": "ward", "full_name": "Trần Văn Bình",
                "phone": "0912345678", "username": "saigon", "password": "sg-password-1"}


def test_anyone_reads_the_notice_and_an_unknown_conference_is_404(
    client: TestClient, tree: Tree
) -> None:
    r = client.get(f"/api/v1/privacy/{tree.cid}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["conference_id"], body["title"], body["version"]) == (
        tree.cid, "Hội nghị tập huấn AI", 1)
    assert body["is_default"] and body["retention_days"] == 90
    assert body["controller"] == "Ban tổ chức hội nghị" and "Ban tổ chức hội nghị" in body["text"]
    assert body["keep_until"] == "2025-12-08"
    missing = client.get("/api/v1/privacy/987654")
    assert (missing.status_code, missing.json()["code"]) == (404, "conference_not_found")
    assert client.get("/api/v1/privacy/abc").status_code == 422


def test_the_central_office_edits_the_notice_and_the_retention(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    url = f"/api/v1/conferences/{tree.cid}/privacy"
    assert client.get(url, headers=admin_headers).json()["version"] == 1
    r = client.put(url, json={"text": "Thông báo <b>riêng</b>.\n\nĐoạn hai."},
                   headers=admin_headers)
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["is_default"]) == (2, False)
    # Only the retention: the custom text stays, so does its version.
    r = client.put(url, json={"retention_days": 180}, headers=admin_headers)
    assert (r.json()["version"], r.json()["retention_days"]) == (2, 180)
    assert r.json()["text"] == "Thông báo <b>riêng</b>.\n\nĐoạn hai."
    # Null (or empty) text: the default again, a new version.
    r = client.put(url, json={"text": None}, headers=admin_headers)
    assert (r.json()["version"], r.json()["is_default"]) == (3, True)
    assert "180 ngày" in r.json()["text"]
    assert client.get(f"/api/v1/privacy/{tree.cid}").json()["version"] == 3


def test_bad_edits_answer_422_with_their_code(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    url = f"/api/v1/conferences/{tree.cid}/privacy"
    for body, code in (
        ({"retention_days": 0}, "retention_out_of_range"),
        ({"retention_days": 99999}, "retention_out_of_range"),
        ({"text": "a" * 20_001}, "notice_too_long"),
        ({"text": "\x07"}, "notice_invalid"),
        ({"retention_days": "nhiều"}, "validation_error"),
        ({"html": "<p>"}, "validation_error"),
    ):
        r = client.put(url, json=body, headers=admin_headers)
        assert (r.status_code, r.json()["code"]) == (422, code), body
    assert client.get(url, headers=admin_headers).json()["version"] == 1


def test_a_coordinator_cannot_read_or_edit_the_settings(
    client: TestClient, tree: Tree, coordinator_a: object
) -> None:
    headers = token_for(client, "hcm", "hcm-password")
    url = f"/api/v1/conferences/{tree.cid}/privacy"
    assert client.get(url, headers=headers).json()["code"] == "admin_only"
    r = client.put(url, json={"text": "Khác"}, headers=headers)
    assert (r.status_code, r.json()["code"]) == (403, "admin_only")
    assert client.get(url).status_code == 401


def test_registration_api_refuses_without_acceptance_and_stores_it(
    client: TestClient, db: Session, tree: Tree, admin_headers: dict[str, str]
) -> None:
    invite = client.post(f"/api/v1/conferences/{tree.cid}/invites", json={},
                         headers=admin_headers).json()["token"]
    url = f"/api/v1/invites/{invite}/register"
    r = client.post(url, json=REGISTRATION)
    assert (r.status_code, r.json()["code"]) == (422, "notice_not_accepted")
    assert (r.json()["notice_version"], r.json()["notice_url"]) == (1, f"/privacy/{tree.cid}")
    client.put(f"/api/v1/conferences/{tree.cid}/privacy", json={"text": "Bản mới."},
               headers=admin_headers)
    r = client.post(url, json={**REGISTRATION, "accept_notice": True, "notice_version": 1})
    assert (r.status_code, r.json()["code"], r.json()["notice_version"]) == (
        409, "notice_changed", 2)
    r = client.post(url, json={**REGISTRATION, "accept_notice": True, "notice_version": 2})
    assert r.status_code == 201, r.text
    db.rollback()
    stored = db.exec(select(NoticeAcceptance)).one()
    assert (stored.user_id, stored.conference_id, stored.notice_version) == (
        r.json()["user"]["id"], tree.cid, 2)
