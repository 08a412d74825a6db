"""The attendee's own pages: the pass through the personal link, everything held once
the personal code is typed, requests, the throttle, the erased state."""

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.config import Settings
from app.main import create_app
from checkin.privacy_models import DataRequest
from tests.checkin.rights_support import add_people, check_in, entries, link_of, own_post
from tests.checkin.support import count_rows
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.support import login


def test_the_link_shows_the_pass_but_not_the_personal_code(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
    settings: Settings,
) -> None:
    an = add_people(client, admin_headers, tree)[0]
    r = client.get(link_of(db, settings, an["id"]))
    assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
    assert "Nguyễn Văn An" in r.text and "Đảng ủy phường Bến Nghé" in r.text and "<svg" in r.text
    assert an["short_code"] not in r.text and "0912345678" not in r.text
    assert 'id="unlock"' in r.text and entries(db, "view") == []


def test_the_right_code_opens_everything_held_and_is_logged_as_the_attendees_view(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
    settings: Settings,
) -> None:
    an = add_people(client, admin_headers, tree)[0]
    check_in(client, admin_headers, an, tree.ward_a1)
    code = an["short_code"]
    r = own_post(client, link_of(db, settings, an["id"]),
                 code=f" {code[:4].lower()}-{code[4:]} ")
    assert r.status_code == 200, r.text
    for shown in ("Sở Y tế", "Chuyên viên", "0912345678", "Hội nghị (điểm danh vào hội nghị)",
                  "Quét mã QR", "Hệ thống không lưu câu trả lời nào", f"/privacy/{tree.cid}",
                  "Căn cứ xử lý", 'id="ask-erase"'):
        assert shown in r.text, shown
    [view] = entries(db, "view")
    assert (view.role, view.actor_name, view.object_id) == (
        "attendee", f"attendee:{an['id']}", str(an["id"]))
    assert view.address == "testclient" and view.actor_id is None


def test_a_wrong_code_shows_nothing_more(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
    settings: Settings,
) -> None:
    an, cuong = add_people(client, admin_headers, tree)
    r = own_post(client, link_of(db, settings, an["id"]), code=cuong["short_code"])
    assert r.status_code == 403 and 'data-status="personal_code_wrong"' in r.text
    assert "0912345678" not in r.text and 'id="identity"' not in r.text
    assert entries(db, "view") == []


def test_wrong_codes_meet_429_from_one_address(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
    settings: Settings,
) -> None:
    an = add_people(client, admin_headers, tree)[0]
    url = link_of(db, settings, an["id"])
    statuses = [own_post(client, url, code=f"AAAA{i:04d}".replace("0", "A").replace(
        "1", "B")).status_code for i in range(20)]
    assert 429 in statuses and statuses.index(429) <= 7, statuses
    refused = own_post(client, url, code=an["short_code"])  # even the right one, meanwhile
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert entries(db, "view") == []


def test_many_addresses_on_one_link_meet_the_attendees_window(
    settings: Settings, tree: Tree, db: Session, client: TestClient,
    admin_headers: dict[str, str],
) -> None:
    an = add_people(client, admin_headers, tree)[0]
    url = link_of(db, settings, an["id"])
    app = create_app(settings)
    statuses = []
    with TestClient(app):
        for i in range(12):
            phone = TestClient(app, client=(f"10.1.0.{i + 1}", 5000))
            phone.get(url)
            statuses.append(own_post(phone, url, code="WRONGCDE").status_code)
    assert 429 in statuses and statuses.index(429) <= 7, statuses


def test_a_forged_link_is_refused_and_counted(client: TestClient, tree: Tree) -> None:
    first = client.get("/p/eyJhIjoxLCJ2IjoxfQ.forged")
    assert first.status_code == 404 and 'data-status="attendee_link_invalid"' in first.text
    statuses = [client.get(f"/p/forged{i}").status_code for i in range(15)]
    assert 429 in statuses and statuses.index(429) <= 10, statuses


def test_a_reissued_pass_revokes_the_old_link(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
    settings: Settings,
) -> None:
    an = add_people(client, admin_headers, tree)[0]
    old = link_of(db, settings, an["id"])
    assert client.post(f"/api/v1/attendees/{an['id']}/reissue",
                       headers=admin_headers).status_code == 200
    r = client.get(old)
    assert r.status_code == 410 and "attendee_link_revoked" in r.text
    assert client.get(link_of(db, settings, an["id"])).status_code == 200


def test_requests_one_open_of_each_kind(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
    settings: Settings,
) -> None:
    an = add_people(client, admin_headers, tree)[0]
    url, code = link_of(db, settings, an["id"]) + "/requests", an["short_code"]
    asked = own_post(client, url, code=code, kind="correct", message="Đơn vị: Sở Tài chính")
    assert asked.status_code == 201 and "Đã gửi yêu cầu chỉnh sửa" in asked.text
    assert "Đơn vị: Sở Tài chính" in asked.text and 'data-status="open"' in asked.text
    refusals = [
        own_post(client, url, code=code, kind="correct", message="lần nữa"),
        own_post(client, url, code=code, kind="correct", message=""),
        own_post(client, url, code=code, kind="correct", message="x" * 1001),
        own_post(client, url, code=code, kind="other", message="x"),
        own_post(client, url, code="WRONGCDE", kind="erase"),
    ]
    assert [r.status_code for r in refusals] == [409, 422, 422, 422, 403]
    assert "data_request_already_open" in refusals[0].text
    assert own_post(client, url, code=code, kind="erase").status_code == 201
    assert count_rows(db, DataRequest, attendee_id=an["id"]) == 2
    [made] = [e for e in entries(db, "create", "data_request")][:1]
    assert made.role == "attendee" and "Sở Tài chính" not in str(made.after)  # sealed


def test_posts_without_the_csrf_token_are_refused(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
    settings: Settings,
) -> None:
    an = add_people(client, admin_headers, tree)[0]
    url = link_of(db, settings, an["id"])
    client.get(url)
    for path, data in ((url, {"code": an["short_code"]}),
                       (url + "/requests", {"code": an["short_code"], "kind": "erase"})):
        r = client.post(path, data={**data, "csrf_token": "forged"})
        assert r.status_code == 403 and "csrf_failed" in r.text
    assert count_rows(db, DataRequest) == 0


def test_an_erased_attendees_link_says_so(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
    settings: Settings,
) -> None:
    an = add_people(client, admin_headers, tree)[0]
    url = link_of(db, settings, an["id"])
    assert client.post(f"/api/v1/attendees/{an['id']}/erase",
                       headers=admin_headers).status_code == 200
    for r in (client.get(url), own_post(client, url, code=an["short_code"]),
              own_post(client, url + "/requests", code=an["short_code"], kind="erase")):
        assert r.status_code == 200 and 'id="erased"' in r.text
        assert "Nguyễn Văn An" not in r.text and "<svg" not in r.text
    assert count_rows(db, DataRequest) == 0 and entries(db, "view") == []


def test_the_staff_pass_page_gives_the_personal_link(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
    settings: Settings,
) -> None:
    an = add_people(client, admin_headers, tree)[0]
    login(client, "admin", ADMIN_PASSWORD)
    page = client.get(f"/attendees/{an['id']}/pass")
    link = link_of(db, settings, an["id"])
    assert page.status_code == 200 and f'href="{link}"' in page.text
    assert f"/api/v1/attendees/{an['id']}/data.csv" in page.text
    api = client.get(f"/api/v1/attendees/{an['id']}/link", headers=admin_headers).json()
    assert api["token"] == link.removeprefix("/p/") and api["url"].endswith(link)
