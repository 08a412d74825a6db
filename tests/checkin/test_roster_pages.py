"""The roster-import page: a coordinator imports attendees into their subtree, with the
same progress and per-line errors as the site-tree import, and a template to download."""

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import create_db_engine
from checkin import roster_import
from checkin.models import Attendee
from endpoints import coordinators
from tests.browser import LiveServer
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.support import csrf, login

HEADER = "Họ và tên,Mã điểm cầu,Đơn vị,Chức vụ,Số điện thoại\n"


def _attendees(db: Session, cid: int) -> int:
    db.rollback()  # see what the app wrote
    query = select(func.count()).select_from(Attendee).where(Attendee.conference_id == cid)
    return int(db.exec(query).one())


def test_coordinator_gets_the_page_and_a_template_of_their_own_sites(
    client: TestClient, tree: Tree, db: Session, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    # An empty badge sheet, and the sites list, lead to the page.
    badges = client.get(f"/sites/{tree.ward_a1}/badges?conference_id={tree.cid}")
    assert f'href="/conferences/{tree.cid}/attendees/import"' in badges.text
    sites = client.get(f"/conferences/{tree.cid}/sites")
    assert f'href="/conferences/{tree.cid}/attendees/import"' in sites.text
    r = client.get(f"/conferences/{tree.cid}/attendees/import")
    assert r.status_code == 200
    assert 'enctype="multipart/form-data"' in r.text and "/static/import.js" in r.text
    assert f"/conferences/{tree.cid}/attendees/import/mau.csv" in r.text
    sample = client.get(f"/conferences/{tree.cid}/attendees/import/mau.csv")
    assert sample.status_code == 200 and sample.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in sample.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(sample.content.decode("utf-8-sig"))))
    assert rows[0] == [roster_import.COLUMN_LABELS[c] for c in roster_import.COLUMNS]
    # Its example lines name the coordinator's own sites, so it imports as it is.
    assert {row[1] for row in rows[1:]} <= {"HCM", "HCM-BN", "HCM-CG"}
    token = csrf(client)
    r = client.post(f"/conferences/{tree.cid}/attendees/import",
                    data={"csrf_token": token, "basis": "unit"},
                    files={"file": ("mau.csv", sample.content, "text/csv")})
    assert r.status_code == 200, r.text
    assert "Đã nhập <strong>2</strong> đại biểu" in r.text
    assert _attendees(db, tree.cid) == 2


def test_a_line_outside_the_scope_is_reported_and_nothing_imported(
    client: TestClient, tree: Tree, db: Session, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    form_url = f"/conferences/{tree.cid}/attendees/import"
    data = (HEADER + "Nguyễn Văn An,HCM-BN,,,\nTrần Thị Bình,HN-HK,,,\n").encode()
    r = client.post(form_url, data={"csrf_token": csrf(client), "basis": "unit"},
                    files={"file": ("ds.csv", data, "text/csv")})
    assert r.status_code == 422
    assert "Các dòng cần sửa" in r.text and 'data-code="unknown_site"' in r.text
    assert _attendees(db, tree.cid) == 0
    r = client.post(form_url, data={"csrf_token": "forged"},
                    files={"file": ("ds.csv", data, "text/csv")})
    assert r.status_code == 403
    assert _attendees(db, tree.cid) == 0


# ------------------------------------------------------------------ browser


@pytest.mark.browser
def test_coordinator_imports_a_roster_through_the_page(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    engine = create_db_engine(live_server.settings.database_url, pool_size=1)
    with Session(engine, expire_on_commit=False) as db:
        admin = accounts_service.ensure_admin(db, username="admin", password=ADMIN_PASSWORD)
        admin = admin or accounts_service.authenticate(db, username="admin",
                                                       password=ADMIN_PASSWORD)
        tree = Tree(db, admin)
        coordinators.create_coordinator(
            db, site_id=tree.hub_a, username="hcm", password="hcm-password",
            full_name="Lê Thị Hồng", phone="0901234567", actor=admin,
        )
    base = live_server.url
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "hcm")
    page.fill("input[name=password]", "hcm-password")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()
    # From the conference's sites, as a coordinator would find it.
    page.goto(f"{base}/conferences/{tree.cid}/sites")
    page.get_by_role("link", name="Nhập danh sách đại biểu từ tệp CSV/XLSX").click()
    expect(page.get_by_role("heading", name="Nhập danh sách đại biểu từ tệp")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải tệp mẫu").click()
    template = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    assert template.startswith("Họ và tên,Mã điểm cầu")

    page.evaluate("window.__samePage = true")
    page.check("input[name=basis][value=unit]")
    bad = tmp_path / "sai.csv"
    bad.write_text(HEADER + "Nguyễn Văn An,HCM-BN,Đảng ủy phường,Bí thư,0901 234 567\n"
                   "Trần Thị Bình,HN-HK,,,\n", encoding="utf-8")
    page.set_input_files("input[type=file]", str(bad))
    page.get_by_role("button", name="Tải lên và nhập").click()
    row = page.locator("tr[data-code=unknown_site]")
    expect(row).to_contain_text("HN-HK")
    expect(row.locator("td.line")).to_have_text("3")
    assert page.evaluate("window.__samePage") is True, "the result came in place, no reload"

    good = tmp_path / "dung.csv"
    good.write_text(template + "Lê Hoàng Cường,HCM-CG,UBND xã,Chủ tịch,\n", encoding="utf-8")
    page.set_input_files("input[type=file]", str(good))
    page.get_by_role("button", name="Tải lên và nhập").click()
    expect(page.locator("#import-result .flash:not(.err)")).to_contain_text("Đã nhập 3 đại biểu")
    assert page.evaluate("window.__samePage") is True
    with Session(engine) as db:
        assert _attendees(db, tree.cid) == 3
    engine.dispose()
