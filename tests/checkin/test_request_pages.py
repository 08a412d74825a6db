"""The central office's requests queue page: open requests with their forms; correct,
erase and refuse close them; bad input shows the error in place."""

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.config import Settings
from tests.checkin.rights_support import add_people, link_of, own_post
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.support import login, post


def _asked(client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
           settings: Settings, kind: str = "correct") -> tuple[dict[str, Any], int]:
    """An's request (sent from their page), and its id as the queue lists it."""
    an = add_people(client, admin_headers, tree)[0]
    r = own_post(client, link_of(db, settings, an["id"]) + "/requests",
                 code=an["short_code"], kind=kind, message="Đơn vị: Sở Tài chính")
    assert r.status_code == 201, r.text
    queue = client.get("/api/v1/data-requests", headers=admin_headers).json()
    return an, int(queue[0]["id"])


def test_the_queue_shows_open_requests_with_their_forms(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
    settings: Settings, coordinator_a: object,
) -> None:
    _, request_id = _asked(client, admin_headers, tree, db, settings)
    login(client, "admin", ADMIN_PASSWORD)
    r = client.get("/data-requests")
    assert r.status_code == 200
    for shown in ("Nguyễn Văn An", "Đảng ủy phường Bến Nghé", "Yêu cầu chỉnh sửa",
                  "Đơn vị: Sở Tài chính", f'action="/data-requests/{request_id}/erase"',
                  'value="0912345678"', '<strong id="open-count">1</strong>'):
        assert shown in r.text, shown
    assert 'href="/data-requests"' in client.get("/conferences").text  # in the admin's menu
    other = TestClient(client.app)
    login(other, "hcm", "hcm-password")
    refused = other.get("/data-requests")
    assert refused.status_code == 403 and "admin_only" in refused.text


def test_the_correct_form_corrects_and_closes(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
    settings: Settings,
) -> None:
    an, request_id = _asked(client, admin_headers, tree, db, settings)
    login(client, "admin", ADMIN_PASSWORD)
    form = {"full_name": "Nguyễn Văn An", "unit": "Sở Tài chính", "position": "",
            "phone": "0912345678"}
    bad = post(client, f"/data-requests/{request_id}/correct", {**form, "phone": "gọi tôi"})
    assert bad.status_code == 422 and 'id="request-error"' in bad.text
    r = post(client, f"/data-requests/{request_id}/correct", form)
    assert r.status_code == 303 and r.headers["location"] == "/data-requests?msg=corrected"
    identity = client.get(f"/api/v1/attendees/{an['id']}/data",
                          headers=admin_headers).json()["identity"]
    assert (identity["unit"], identity["position"]) == ("Sở Tài chính", None)
    page = client.get("/data-requests?msg=corrected").text
    assert "Đã sửa thông tin" in page and "Đã sửa: đơn vị, chức vụ." in page
    again = post(client, f"/data-requests/{request_id}/correct", form)
    assert again.status_code == 409 and "Yêu cầu này đã được xử lý rồi" in again.text


def test_the_erase_and_refuse_forms_close_requests(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
    settings: Settings,
) -> None:
    an, request_id = _asked(client, admin_headers, tree, db, settings, kind="erase")
    login(client, "admin", ADMIN_PASSWORD)
    empty = post(client, f"/data-requests/{request_id}/refuse", {"reason": " "})
    assert empty.status_code == 422 and "Lý do từ chối" in empty.text
    r = post(client, f"/data-requests/{request_id}/erase")
    assert r.status_code == 303 and r.headers["location"] == "/data-requests?msg=erased"
    identity = client.get(f"/api/v1/attendees/{an['id']}/data",
                          headers=admin_headers).json()["identity"]
    assert identity["erased_at"] is not None and identity["full_name"].startswith("Ẩn danh")
    cuong_request = own_post(client, link_of(db, settings, an["id"] + 1) + "/requests",
                             code="WRONGCDE", kind="erase")
    assert cuong_request.status_code == 403  # a wrong code makes no request
