"""The conference list and every registry page rendering for the central office."""


from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import User
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.support import (
    create_invite,
    login,
    post,
)


def test_every_page_renders_for_admin(client: TestClient, db: Session, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    token = create_invite(client, tree.cid, tree.hub_a)
    pages = {
        "/conferences": "Tạo hội nghị",
        f"/conferences/{tree.cid}/sites": "Thêm điểm cầu",
        f"/conferences/{tree.cid}/sites?kind=ward&readiness=not_connected&approval=approved":
            "Đảng ủy phường Hoàn Kiếm",
        f"/conferences/{tree.cid}/sites?under={tree.hub_a}": "Đảng ủy xã Cần Giờ",
        f"/sites/{tree.hub_a}": "Điểm cầu cấp dưới (2)",
        f"/conferences/{tree.cid}/invites": "chưa dùng",
        f"/conferences/{tree.cid}/registrations": "Không có đăng ký nào đang chờ duyệt",
        f"/conferences/{tree.cid}/registrations?show=decided": "Chưa có đăng ký nào được xử lý",
        f"/invite/{token}": "Đăng ký điểm cầu",
        "/login": "Đăng nhập",
    }
    for url, text in pages.items():
        r = client.get(url)
        assert r.status_code == 200, (url, r.text)
        assert text in r.text, url
        assert '<html lang="vi">' in r.text


def test_conference_list_links_to_sites_invites_and_registrations(
    client: TestClient, tree: Tree
) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = client.get("/conferences")
    for tail in ("sites", "invites", "registrations"):
        assert f'href="/conferences/{tree.cid}/{tail}"' in r.text


def test_create_conference_form_opens_its_site_tree(client: TestClient, admin: User) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = post(client, "/conferences",
             {"title": "Hội nghị sơ kết", "starts_on": "2025-12-20", "ends_on": "2025-12-21"})
    assert r.status_code == 303
    r = client.get(r.headers["location"])
    assert r.status_code == 200
    assert "Hội nghị sơ kết" in r.text and "20/12/2025 – 21/12/2025" in r.text


def test_create_conference_with_dates_reversed_keeps_input(client: TestClient, admin: User) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = post(client, "/conferences",
             {"title": "Hội nghị sơ kết", "starts_on": "2025-12-21", "ends_on": "2025-12-20"})
    assert r.status_code == 422
    assert "Ngày kết thúc phải sau" in r.text
    assert 'value="Hội nghị sơ kết"' in r.text


def test_coordinator_cannot_create_conference(client: TestClient, coordinator_a: User) -> None:
    login(client, "hcm", "hcm-password")
    r = post(client, "/conferences",
             {"title": "Không được", "starts_on": "2025-12-20", "ends_on": "2025-12-20"})
    assert r.status_code == 403
    assert "admin_only" in r.text
