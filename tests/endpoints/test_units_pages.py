"""The pages "Nạp danh mục đơn vị hành chính", the registry list and a site's history."""

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.accounts.models import User
from app.config import Settings
from endpoints import registry
from endpoints.models import Site
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.registry_support import registry_client
from tests.endpoints.support import login, post


@pytest.fixture
def pages(settings: Settings) -> Iterator[TestClient]:
    yield from registry_client(settings)


@pytest.fixture
def as_admin(pages: TestClient, admin: User) -> TestClient:
    login(pages, "admin", ADMIN_PASSWORD)
    return pages


def _sites(db: Session) -> int:
    db.rollback()
    return int(db.exec(select(func.count()).select_from(Site)).one())


def test_the_units_page_offers_every_province_and_the_whole_country(as_admin: TestClient) -> None:
    r = as_admin.get("/registry/units")
    assert r.status_code == 200
    assert "Nạp danh mục đơn vị hành chính" in r.text
    options = re.findall(r'<option value="(\d*)"', r.text)
    assert len(options) == 35 and options[0] == ""
    assert '<option value="22">Tỉnh Quảng Ninh</option>' in r.text


def test_loading_a_province_shows_the_report_and_a_second_load_changes_nothing(
    as_admin: TestClient, db: Session
) -> None:
    r = post(as_admin, "/registry/units", {"province_code": "22"})
    assert r.status_code == 200, r.text
    assert "Tạo mới: <strong>55</strong>" in r.text
    assert _sites(db) == 55
    again = post(as_admin, "/registry/units", {"province_code": "22"})
    assert "Tạo mới: <strong>0</strong>" in again.text
    assert "Không đổi: <strong>55</strong>" in again.text
    assert _sites(db) == 55


@pytest.mark.parametrize("value", ["99", "abc", "-1"])
def test_a_bad_province_is_refused_with_a_message_and_nothing_is_loaded(
    as_admin: TestClient, db: Session, value: str
) -> None:
    r = post(as_admin, "/registry/units", {"province_code": value})
    assert r.status_code == 422
    assert "Mã tỉnh/thành không có trong danh mục" in r.text
    assert _sites(db) == 0


def test_the_form_needs_its_csrf_token(as_admin: TestClient, db: Session) -> None:
    r = as_admin.post("/registry/units", data={"province_code": "22"}, follow_redirects=False)
    assert r.status_code == 403
    assert _sites(db) == 0


def test_a_coordinator_may_not_load_units(
    pages: TestClient, db: Session, tree: Tree, coordinator_a: User
) -> None:
    login(pages, "hcm", "hcm-password")
    assert pages.get("/registry/units").status_code == 403
    before = _sites(db)
    assert post(pages, "/registry/units", {"province_code": "22"}).status_code == 403
    assert _sites(db) == before


def test_a_visitor_is_sent_to_the_login_page(pages: TestClient) -> None:
    r = pages.get("/registry/units", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login?next=/registry/units")


def test_the_registry_page_searches_and_links_to_history(
    pages: TestClient, tree: Tree, coordinator_a: User
) -> None:
    login(pages, "hcm", "hcm-password")
    r = pages.get("/registry/sites", params={"q": "can gio"})
    assert r.status_code == 200
    assert "Đảng ủy xã Cần Giờ" in r.text and "Bến Nghé" not in r.text
    assert f'href="/sites/{tree.ward_a2}/history"' in r.text
    everything = pages.get("/registry/sites", params={"kind": "nonsense"})
    assert "Hoàn Kiếm" not in everything.text  # scope: hub A's subtree only
    assert "<strong>3</strong> điểm cầu" in everything.text


def test_the_history_page_shows_renames_and_merges(
    as_admin: TestClient, db: Session, admin: User, tree: Tree
) -> None:
    registry.rename_site(db, site_id=tree.ward_a1, name="Phường Sài Gòn", actor=admin,
                         note="NQ 1685/NQ-UBTVQH15")
    registry.merge_site(db, site_id=tree.ward_a1, into_id=tree.ward_a2, actor=admin)
    r = as_admin.get(f"/sites/{tree.ward_a1}/history")
    assert r.status_code == 200
    assert "Đảng ủy phường Bến Nghé → Phường Sài Gòn" in r.text
    assert "NQ 1685/NQ-UBTVQH15" in r.text
    assert "đã sáp nhập" in r.text and f'href="/sites/{tree.ward_a2}/history"' in r.text
    target = as_admin.get(f"/sites/{tree.ward_a2}/history")
    assert "tiếp nhận sáp nhập" in target.text and "Phường Sài Gòn" in target.text
    assert as_admin.get("/sites/999999/history").status_code == 404
