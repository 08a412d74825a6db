"""Check-in JSON API: CONTRACT.md shapes, status codes, error codes, the hot-path budget."""

import base64
import time

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.config import Settings
from app.db import local_today
from app.security import CSRF_HEADER
from checkin import qr, service
from checkin.models import Attendance, ScanFailure
from tests.checkin.support import StatementCounter, add_two_attendees
from tests.conftest import ADMIN_PASSWORD, Tree, token_for
from tests.endpoints.support import csrf, login


def test_checkin_first_201_then_200_already(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    code = add_two_attendees(client, admin_headers, tree)[0]["code"]
    first = client.post("/api/v1/checkins", json={"code": code, "site_id": tree.ward_a1,
                                                   "nonce": "n1"}, headers=admin_headers)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "checked_in"
    again = client.post("/api/v1/checkins", json={"code": code, "site_id": tree.hub_a},
                        headers=admin_headers)
    assert again.status_code == 200
    body = again.json()
    assert body["status"] == "already_checked_in"
    assert body["site_id"] == tree.ward_a1 and body["checked_in_at"] == first.json()[
        "checked_in_at"]
    replay = client.post("/api/v1/checkins", json={"code": code, "site_id": tree.ward_a1,
                                                    "nonce": "n1"}, headers=admin_headers)
    assert replay.status_code == 201 and replay.json()["replayed"] is True


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("garbage", 400, "pass_malformed"),
        ("DC1" + "A" * 10_240, 400, "pass_malformed"),
        ("😀" * 5000, 400, "pass_malformed"),
        ("ZZZZ-ZZZZ", 404, "short_code_not_found"),
    ],
)
def test_checkin_bad_codes_stable_4xx(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, code: str, status: int,
    error: str,
) -> None:
    r = client.post("/api/v1/checkins", json={"code": code, "site_id": tree.ward_a1},
                    headers=admin_headers)
    assert r.status_code == status and r.json()["code"] == error
    assert r.json()["detail"]


def test_checkin_oversized_body_field_422_not_500(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    r = client.post("/api/v1/checkins", json={"code": "A" * 30_000, "site_id": tree.ward_a1},
                    headers=admin_headers)
    assert r.status_code == 422
    r = client.post("/api/v1/checkins", content=b"\xff\xfe{", headers={
        **admin_headers, "Content-Type": "application/json"})
    assert r.status_code in (400, 422) and r.json()["code"]


def test_checkin_coordinator_other_site_403(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, coordinator_a: object
) -> None:
    code = add_two_attendees(client, admin_headers, tree)[1]["code"]
    headers = token_for(client, "hcm", "hcm-password")
    r = client.post("/api/v1/checkins", json={"code": code, "site_id": tree.ward_b1},
                    headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "site_out_of_scope"
    r = client.post("/api/v1/checkins", json={"code": code, "site_id": tree.ward_a1},
                    headers=headers)
    assert r.status_code == 201 and r.json()["foreign_site"] is True


def test_checkin_without_login_401(client: TestClient, tree: Tree) -> None:
    r = client.post("/api/v1/checkins", json={"code": "x", "site_id": tree.ward_a1})
    assert r.status_code in (401, 403)


def test_checkin_first_scan_at_most_five_statements(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    codes = [a["code"] for a in add_two_attendees(client, admin_headers, tree)]
    warm = client.post("/api/v1/checkins", json={"code": codes[0], "site_id": tree.ward_a1},
                       headers=admin_headers)
    assert warm.status_code == 201
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with StatementCounter(engine) as counter:
        r = client.post("/api/v1/checkins", json={"code": codes[1], "site_id": tree.ward_b1,
                                                  "nonce": "abc"}, headers=admin_headers)
    assert r.status_code == 201
    # Auth lookup included; BEGIN counts as a statement too.
    assert len(counter.statements) <= 5, counter.statements
    assert sum(s.lstrip().upper().startswith("INSERT") for s in counter.statements) == 1


def test_self_checkin_route_and_site_qr(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    short = add_two_attendees(client, admin_headers, tree)[0]["short_code"]
    screen = client.post(f"/api/v1/sites/{tree.ward_a1}/screen-token", json={},
                         headers=admin_headers)
    assert screen.status_code == 201, screen.text
    auth = {"Authorization": f"Screen {screen.json()['token']}"}
    current = client.get(f"/api/v1/sites/{tree.ward_a1}/self-checkin-qr", headers=auth)
    assert current.status_code == 200
    body = current.json()
    assert body["url"].endswith(f"/c/{body['token']}") and 0 < body["expires_in"] <= 20
    wrong_site = client.get(f"/api/v1/sites/{tree.ward_b1}/self-checkin-qr", headers=auth)
    assert wrong_site.status_code == 401 and wrong_site.json()["code"] == "screen_token_invalid"
    svg = client.get(f"/api/v1/sites/{tree.ward_a1}/self-checkin-qr.svg",
                     params={"screen_token": screen.json()["token"]})
    assert svg.status_code == 200 and b"<svg" in svg.content
    r = client.post("/api/v1/checkins/self", json={"site_token": body["token"], "code": short})
    assert r.status_code == 201 and r.json()["site_id"] == tree.ward_a1
    r = client.post("/api/v1/checkins/self", json={"site_token": body["token"], "code": short})
    assert r.status_code == 200 and r.json()["status"] == "already_checked_in"
    stale = qr.sign_site_step(tree.ward_a1, qr.current_step(time.time()) - 3, b"x")
    r = client.post("/api/v1/checkins/self", json={"site_token": stale, "code": short})
    assert r.status_code == 400 and r.json()["code"] == "site_qr_invalid"


def test_self_checkin_answers_only_the_name_and_this_site(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, settings: Settings
) -> None:
    """A guessed code must not learn the unit, the home site or an earlier check-in."""
    an = add_two_attendees(client, admin_headers, tree)[0]
    staff = client.post("/api/v1/checkins", json={"code": an["code"], "site_id": tree.hub_a},
                        headers=admin_headers)
    assert staff.status_code == 201 and staff.json()["site_id"] == tree.hub_a
    hub_name = staff.json()["site_name"]
    token = service.site_qr(tree.ward_a1, settings)
    client.cookies.clear()
    r = client.post("/api/v1/checkins/self", json={"site_token": token, "code": an["code"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"status", "full_name", "site_id", "site_name", "follow_url"}
    # The conference ended long ago: its follow link has expired and is not offered.
    assert body == {"status": "already_checked_in", "full_name": "Nguyễn Văn An",
                    "site_id": tree.ward_a1, "site_name": "Đảng ủy phường Bến Nghé",
                    "follow_url": None}
    assert hub_name not in r.text and "Sở Y tế" not in r.text


def test_self_checkin_offers_the_current_follow_link(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    today = local_today().isoformat()
    cid = client.post("/api/v1/conferences", headers=admin_headers, json={
        "title": "Hội nghị hôm nay", "starts_on": today, "ends_on": today}).json()["id"]
    site = client.post(f"/api/v1/conferences/{cid}/sites", headers=admin_headers,
                       json={"name": "Phường Bến Nghé", "kind": "ward"}).json()["id"]
    person = client.post(f"/api/v1/conferences/{cid}/attendees", headers=admin_headers,
                         json=[{"full_name": "Trần Thị Bình", "site_id": site}]).json()[0]
    link = client.get(f"/api/v1/conferences/{cid}/follow-link", headers=admin_headers)
    self_checkin = {"site_token": service.site_qr(site, settings), "code": person["short_code"]}
    r = client.post("/api/v1/checkins/self", json=self_checkin)
    assert r.status_code == 201 and r.json()["follow_url"] == link.json()["url"]
    assert client.get(r.json()["follow_url"]).status_code == 200
    # After a rotation the new link is offered, never the revoked one.
    rotated = client.post(f"/api/v1/conferences/{cid}/follow-link/rotate",
                          headers=admin_headers).json()["url"]
    r = client.post("/api/v1/checkins/self", json=self_checkin)
    assert r.status_code == 200 and r.json()["follow_url"] == rotated != link.json()["url"]


def test_failed_scans_are_stored_with_who_and_why(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    forged = "DC1" + base64.b32encode(b"\x01\x02k1" + b"\x00" * 78).decode().rstrip("=")
    r = client.post("/api/v1/checkins", json={"code": forged, "site_id": tree.ward_a1,
                                              "device": "cam\x00-1"}, headers=admin_headers)
    assert r.status_code == 400 and r.json()["code"] == "pass_bad_signature"
    db.rollback()
    failure = db.exec(select(ScanFailure)).one()
    assert (failure.reason, failure.site_id, failure.device) == (
        "pass_bad_signature", tree.ward_a1, "cam?-1")
    assert failure.actor_id is not None
    assert db.exec(select(Attendance)).all() == []


def test_a_cookie_scan_needs_the_csrf_token_before_its_body_counts(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    code = add_two_attendees(client, admin_headers, tree)[0]["code"]
    login(client, "admin", ADMIN_PASSWORD)  # the scanner page's login cookie
    scan = {"code": code, "site_id": tree.ward_a1, "nonce": "n1"}
    forged = client.post("/api/v1/checkins", json=scan)  # a valid scan, no token
    assert (forged.status_code, forged.json()["code"]) == (403, "csrf_failed")
    db.rollback()
    assert db.exec(select(Attendance)).all() == []
    ok = client.post("/api/v1/checkins", json=scan, headers={CSRF_HEADER: csrf(client)})
    assert ok.status_code == 201, ok.text
