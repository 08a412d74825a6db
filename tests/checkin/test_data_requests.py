"""The central office's queue of requests (JSON API): listed open first, each closed by
a correction, an erasure or a refusal, and what the attendee then reads."""

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.config import Settings
from tests.checkin.rights_support import add_people, entries, link_of, own_post, totals
from tests.conftest import Tree, token_for


def _ask(client: TestClient, db: Session, settings: Settings, person: dict[str, Any],
         kind: str, message: str = "") -> None:
    r = own_post(client, link_of(db, settings, person["id"]) + "/requests",
                 code=person["short_code"], kind=kind, message=message)
    assert r.status_code == 201, r.text


def _queue(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = client.get("/api/v1/data-requests", headers=headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()
    return items


def test_queue_lists_open_requests_first_for_the_central_office_only(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
    settings: Settings, coordinator_a: object,
) -> None:
    an, cuong = add_people(client, admin_headers, tree)
    _ask(client, db, settings, an, "correct", "Chức vụ: Trưởng phòng")
    _ask(client, db, settings, cuong, "erase")
    first = _queue(client, admin_headers)[0]
    refused = client.post(f"/api/v1/data-requests/{first['id']}/refuse", headers=admin_headers,
                          json={"reason": "Thông tin đã đúng theo danh sách của đơn vị"})
    assert refused.status_code == 200 and refused.json()["status"] == "refused"
    queue = _queue(client, admin_headers)
    assert [(q["attendee_name"], q["kind"], q["status"]) for q in queue] == [
        ("Lê Văn Cường", "erase", "open"), ("Nguyễn Văn An", "correct", "refused")]
    assert queue[1]["message"] == "Chức vụ: Trưởng phòng"
    assert queue[0]["site_name"] == "Đảng ủy phường Hoàn Kiếm"
    assert queue[0]["conference_title"] == "Hội nghị tập huấn AI"
    viewed = entries(db, "view", "data_request")
    assert viewed and viewed[-1].role == "admin" and viewed[-1].detail == {
        "count": 2, "open_only": False}
    only_open = client.get("/api/v1/data-requests", params={"open_only": "true"},
                           headers=admin_headers).json()
    assert [q["kind"] for q in only_open] == ["erase"]
    hcm = token_for(client, "hcm", "hcm-password")
    r = client.get("/api/v1/data-requests", headers=hcm)
    assert (r.status_code, r.json()["code"]) == (403, "admin_only")
    r = client.post(f"/api/v1/data-requests/{queue[0]['id']}/erase", headers=hcm)
    assert (r.status_code, r.json()["code"]) == (403, "admin_only")
    assert _queue(client, admin_headers)[0]["status"] == "open"


def test_a_correction_closes_the_request_and_the_attendee_reads_the_outcome(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
    settings: Settings,
) -> None:
    an = add_people(client, admin_headers, tree)[0]
    _ask(client, db, settings, an, "correct", "Đơn vị: Sở Tài chính")
    [item] = _queue(client, admin_headers)
    r = client.post(f"/api/v1/data-requests/{item['id']}/correct", headers=admin_headers,
                    json={"unit": "Sở Tài chính"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["status"], done["outcome"]) == ("done", "Đã sửa: đơn vị.")
    assert done["handled_by_id"] is not None and done["handled_at"] is not None
    data = client.get(f"/api/v1/attendees/{an['id']}/data", headers=admin_headers).json()
    assert data["identity"]["unit"] == "Sở Tài chính"
    again = client.post(f"/api/v1/data-requests/{item['id']}/correct", headers=admin_headers,
                        json={"unit": "X"})
    assert (again.status_code, again.json()["code"]) == (409, "data_request_closed")
    [update] = [e for e in entries(db, "update", "data_request")]
    assert update.role == "admin" and update.object_id == str(item["id"])
    page = own_post(client, link_of(db, settings, an["id"]), code=an["short_code"])
    assert "Đã sửa: đơn vị." in page.text and 'data-status="done"' in page.text


def test_an_erasure_closes_every_open_request_and_keeps_the_totals(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
    settings: Settings,
) -> None:
    an = add_people(client, admin_headers, tree)[0]
    assert client.post("/api/v1/checkins", headers=admin_headers, json={
        "code": an["code"], "site_id": tree.ward_a1}).status_code == 201
    _ask(client, db, settings, an, "correct", "Số điện thoại mới: 0987654321")
    _ask(client, db, settings, an, "erase", "Tôi không muốn được lưu")
    before = totals(client, admin_headers, tree.cid)
    erase = next(q for q in _queue(client, admin_headers) if q["kind"] == "erase")
    r = client.post(f"/api/v1/data-requests/{erase['id']}/erase", headers=admin_headers)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["message"]) == ("done", None)
    assert r.json()["attendee_name"].startswith("Ẩn danh ")
    queue = _queue(client, admin_headers)
    assert {(q["status"], q["message"]) for q in queue} == {("done", None)}
    assert totals(client, admin_headers, tree.cid) == before
    [entry] = entries(db, "erase")
    assert entry.detail == {"request_id": erase["id"]}


def test_bad_actions_are_clear_4xx(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
    settings: Settings,
) -> None:
    an = add_people(client, admin_headers, tree)[0]
    _ask(client, db, settings, an, "erase")
    [item] = _queue(client, admin_headers)
    base = f"/api/v1/data-requests/{item['id']}"
    cases = [
        ("/api/v1/data-requests/999999/erase", None, 404, "data_request_not_found"),
        (f"{base}/refuse", {"reason": ""}, 422, "validation_error"),
        (f"{base}/refuse", {"reason": "   "}, 422, "refusal_reason_missing"),
        (f"{base}/correct", {}, 422, "correction_empty"),
        (f"{base}/correct", {"phone": "abc"}, 422, "validation_error"),
    ]
    for url, body, status, code in cases:
        r = client.post(url, headers=admin_headers, json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), url
    assert _queue(client, admin_headers)[0]["status"] == "open"
    assert client.post(f"/api/v1/attendees/{an['id']}/erase",
                       headers=admin_headers).status_code == 200
    # Erasing the person directly closed the request too.
    r = client.post(f"{base}/erase", headers=admin_headers)
    assert (r.status_code, r.json()["code"]) == (409, "data_request_closed")
