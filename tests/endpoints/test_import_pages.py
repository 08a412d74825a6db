"""The site-import page: form, result, line errors, CSRF, and the upload in a browser."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import create_db_engine
from bench.import_sites import national_tree, to_csv
from endpoints import import_columns, imports
from tests.browser import LiveServer
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.import_support import count, csv_bytes, new_conference, site
from tests.endpoints.support import csrf, login

# -------------------------------------------------------------------- pages


def page_login(client: TestClient) -> str:
    """Log in as the central office; returns the CSRF token of the new login."""
    login(client, "admin", ADMIN_PASSWORD)
    return csrf(client)


def test_import_page_shows_form_and_template_imports_cleanly(
    client: TestClient, tree: Tree, db: Session, admin: User
) -> None:
    page_login(client)
    r = client.get(f"/conferences/{tree.cid}/sites/import")
    assert r.status_code == 200
    assert 'enctype="multipart/form-data"' in r.text and "/static/import.js" in r.text
    sample = client.get(f"/conferences/{tree.cid}/sites/import/mau.csv")
    assert sample.status_code == 200 and sample.content.startswith(b"\xef\xbb\xbf")
    conference_id = new_conference(db, admin, "Mẫu")
    report = imports.import_sites(db, conference_id=conference_id, filename="mau.csv",
                                  data=sample.content, actor=admin)
    # The sample names the tree's codes: those registry sites are updated and invited.
    assert report.created == len(import_columns.SAMPLE_ROWS) - 1
    assert report.warnings == ["4 điểm cầu đã có trong danh mục (theo mã) được cập nhật và "
                               "mời vào hội nghị."]


def test_import_page_post_shows_result_and_line_errors(
    client: TestClient, tree: Tree, db: Session
) -> None:
    token = page_login(client)
    form_url = f"/conferences/{tree.cid}/sites/import"
    bad = csv_bytes([["HCM", "Trùng", "hub", "HN"], ["N1", "<b>Xã</b>\x01", "xã", "HCM"]])
    r = client.post(form_url, data={"csrf_token": token},
                    files={"file": ("a.csv", bad, "text/csv")})
    assert r.status_code == 422
    assert "Các dòng cần sửa" in r.text and 'data-code="parent_differs"' in r.text
    assert 'data-code="control_chars"' in r.text and "&lt;b&gt;Xã&lt;/b&gt;[U+0001]" in r.text
    good = csv_bytes([["N2", "Đảng ủy xã Bình Chánh", "xã", "HCM"]])
    r = client.post(form_url, data={"csrf_token": token},
                    files={"file": ("a.csv", good, "text/csv")})
    assert r.status_code == 200 and "Đã nhập <strong>1</strong> điểm cầu" in r.text
    assert site(db, tree.cid, "N2").parent_id == tree.hub_a


def test_import_page_post_without_csrf_or_by_coordinator_refused(
    client: TestClient, tree: Tree, db: Session, coordinator_a: User
) -> None:
    page_login(client)
    form_url = f"/conferences/{tree.cid}/sites/import"
    good = csv_bytes([["N3", "Xã N3", "xã", "HCM"]])
    before = count(db, tree.cid)
    r = client.post(form_url, data={"csrf_token": "forged"},
                    files={"file": ("a.csv", good, "text/csv")})
    assert r.status_code == 403
    assert count(db, tree.cid) == before
    client.cookies.clear()
    token = csrf(client)
    client.post("/login", data={"username": "hcm", "password": "hcm-password",
                                "csrf_token": token})
    assert client.get(form_url).status_code == 403


# ------------------------------------------------------------------ browser


@pytest.mark.browser
def test_import_page_uploads_with_progress_and_shows_errors_in_place(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    engine = create_db_engine(live_server.settings.database_url, pool_size=1)
    with Session(engine, expire_on_commit=False) as db:
        admin = accounts_service.authenticate(db, username="admin", password=ADMIN_PASSWORD)
        cid = new_conference(db, admin, "Tập huấn AI")
    base = live_server.url
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()
    page.goto(f"{base}/conferences/{cid}/sites/import")
    page.evaluate("window.__samePage = true")
    bad = tmp_path / "sai.csv"
    bad.write_bytes(csv_bytes([["TW", "Hội trường", "trung tâm", ""], ["X", "Xã X", "xã", "ZZ"]]))
    page.set_input_files("input[type=file]", str(bad))
    page.get_by_role("button", name="Tải lên và nhập").click()
    page.wait_for_selector("tr[data-code=unknown_parent]")
    assert page.evaluate("window.__samePage") is True, "the result came in place, no reload"
    assert "Tệp có 1 lỗi ở 1 dòng" in page.inner_text("#import-result")
    page.screenshot(path=str(tmp_path / "import-errors.png"), full_page=True)
    good = tmp_path / "dung.csv"
    good.write_bytes(to_csv(national_tree(communes=40, wards=10)))
    page.set_input_files("input[type=file]", str(good))
    page.get_by_role("button", name="Tải lên và nhập").click()
    page.wait_for_selector("#import-result .flash:not(.err)")
    assert "Đã nhập 98 điểm cầu" in page.inner_text("#import-result")
    assert page.evaluate("window.__samePage") is True
    page.screenshot(path=str(tmp_path / "import.png"), full_page=True)
    with Session(engine) as db:
        assert count(db, cid) == 98
    engine.dispose()
