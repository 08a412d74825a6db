"""JSON API of the roster: attendees, passes and their QR images, pass-signing keys."""

import io
import time

from fastapi.testclient import TestClient
from sqlmodel import Session

from checkin import keys, qr
from tests.checkin.support import add_two_attendees
from tests.conftest import Tree, token_for


def test_create_attendees_returns_codes_verifiable_offline(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    body = add_two_attendees(client, admin_headers, tree)
    assert [a["full_name"] for a in body] == ["Nguyễn Văn An", "Lê Văn Cường"]
    keys = client.get("/api/v1/pass-keys").json()
    public = {k["kid"]: k["public_key"] for k in keys}
    from checkin.keys import public_key_from_text

    claims = qr.verify_pass(str(body[0]["code"]),
                            {k: public_key_from_text(v) for k, v in public.items()},
                            int(time.time()))
    assert claims.attendee_id == body[0]["id"] and claims.conference_id == tree.cid
    assert "Nguy" not in str(body[0]["code"])


def test_create_attendees_bad_body_422(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    r = client.post(f"/api/v1/conferences/{tree.cid}/attendees",
                    json=[{"full_name": "A\x00B", "site_id": tree.ward_a1}], headers=admin_headers)
    assert r.status_code == 422 and r.json()["code"] == "validation_error"


def test_pass_png_and_svg(client: TestClient, admin_headers: dict[str, str], tree: Tree,
                          coordinator_a: object) -> None:
    ids = [a["id"] for a in add_two_attendees(client, admin_headers, tree)]
    png = client.get(f"/api/v1/attendees/{ids[0]}/pass.png", headers=admin_headers)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    svg = client.get(f"/api/v1/attendees/{ids[0]}/pass.svg", headers=admin_headers)
    assert svg.status_code == 200 and b"<svg" in svg.content
    other = client.get(f"/api/v1/attendees/{ids[1]}/pass.png",
                       headers=token_for(client, "hcm", "hcm-password"))
    assert other.status_code == 404 and other.json()["code"] == "attendee_not_found"


def test_search_route_lists_site_names(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    add_two_attendees(client, admin_headers, tree)
    r = client.get(f"/api/v1/conferences/{tree.cid}/attendees", params={"q": "cuong"},
                   headers=admin_headers)
    assert r.status_code == 200
    assert [(a["full_name"], a["site_name"]) for a in r.json()] == [
        ("Lê Văn Cường", "Đảng ủy phường Hoàn Kiếm")]


def test_search_route_says_who_is_already_checked_in(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    an, _ = add_two_attendees(client, admin_headers, tree)
    r = client.post("/api/v1/checkins", json={"code": an["code"], "site_id": tree.ward_a1},
                    headers=admin_headers)
    assert r.status_code == 201, r.text
    found = client.get(f"/api/v1/conferences/{tree.cid}/attendees", params={"q": "van"},
                       headers=admin_headers).json()
    here = {a["full_name"]: a["checked_in_at"] for a in found}
    assert here["Nguyễn Văn An"] is not None and here["Lê Văn Cường"] is None
    session = client.post(f"/api/v1/conferences/{tree.cid}/sessions", headers=admin_headers,
                          json={"title": "Phiên chiều", "starts_at": "2025-09-09T13:30:00+07:00",
                                "ends_at": "2025-09-09T16:30:00+07:00"})
    assert session.status_code == 201, session.text
    in_session = client.get(f"/api/v1/conferences/{tree.cid}/attendees", headers=admin_headers,
                            params={"q": "an", "session_id": session.json()["id"]}).json()
    assert [a["checked_in_at"] for a in in_session] == [None]  # not yet at this session


def test_import_route_multipart(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    data = "họ và tên,mã điểm cầu\nNguyễn Thị Hoa,HCM-BN\n".encode()
    r = client.post(f"/api/v1/conferences/{tree.cid}/attendees/import",
                    files={"file": ("ds.csv", io.BytesIO(data), "text/csv")}, headers=admin_headers)
    assert r.status_code == 201, r.text
    assert r.json()["created"] == 1
    bad = client.post(f"/api/v1/conferences/{tree.cid}/attendees/import",
                      files={"file": ("ds.csv", io.BytesIO(b"ho va ten,ma diem cau\nA,NOPE\n"),
                                      "text/csv")}, headers=admin_headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "unknown_site"


def test_central_office_revokes_a_retired_key_and_its_passes_are_refused(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, coordinator_a: object
) -> None:
    code = add_two_attendees(client, admin_headers, tree)[0]["code"]
    engine = client.app.state.engine  # type: ignore[attr-defined]
    settings = client.app.state.settings  # type: ignore[attr-defined]
    active = client.post("/api/v1/pass-keys/k1/revoke", headers=admin_headers)
    assert active.status_code == 409 and active.json()["code"] == "pass_key_active"
    keys.rotate(engine, secret_key=settings.secret_key)
    coordinator = client.post("/api/v1/pass-keys/k1/revoke",
                              headers=token_for(client, "hcm", "hcm-password"))
    assert coordinator.status_code == 403
    r = client.post("/api/v1/pass-keys/k1/revoke", headers=admin_headers)
    assert r.status_code == 200 and r.json()["revoked_at"]
    listed = {k["kid"]: k["revoked_at"] for k in client.get("/api/v1/pass-keys").json()}
    assert listed["k1"] and listed["k2"] is None
    scan = client.post("/api/v1/checkins", json={"code": code, "site_id": tree.ward_a1},
                       headers=admin_headers)
    assert scan.status_code == 410 and scan.json()["code"] == "pass_key_revoked"
    missing = client.post("/api/v1/pass-keys/k9/revoke", headers=admin_headers)
    assert missing.status_code == 404 and missing.json()["code"] == "pass_key_not_found"


def test_phone_is_whole_for_the_central_office_and_masked_for_a_coordinator(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, coordinator_a: object
) -> None:
    r = client.post(f"/api/v1/conferences/{tree.cid}/attendees", headers=admin_headers, json=[
        {"full_name": "Phạm Thị Dung", "site_id": tree.ward_a1, "phone": "0912345678"},
        {"full_name": "Hoàng Văn Em", "site_id": tree.ward_a1}])
    assert r.status_code == 201
    dung, em = r.json()
    assert (dung["phone"], em["phone"]) == ("0912345678", None)
    assert client.get(f"/api/v1/attendees/{dung['id']}",
                      headers=admin_headers).json()["phone"] == "0912345678"
    coordinator = token_for(client, "hcm", "hcm-password")
    seen = client.get(f"/api/v1/attendees/{dung['id']}", headers=coordinator)
    assert seen.status_code == 200 and seen.json()["phone"] == "09xx xxx 678"
    assert "12345678" not in seen.text
