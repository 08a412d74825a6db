"""The invite → register → approve → log in journey in a real browser (headless Chromium).

It also writes the README screenshots (docs/screenshots/), from fixed test data so that
a re-run produces the same pictures.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.config import PROJECT_ROOT
from app.db import create_db_engine
from endpoints import service, site_changes
from endpoints.models import ConferenceCreate, Readiness, SiteCreate, SiteKind, SiteUpdate
from tests.browser import PHONE, LiveServer
from tests.conftest import ADMIN_PASSWORD

SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
MAX_SCREENSHOT_BYTES = 300_000

# code, name, kind, parent code, expected attendees, readiness, note, contact, phone
SITES: list[tuple[str, str, SiteKind, str | None, int, Readiness, str | None, str | None,
                  str | None]] = [
    ("TW", "Hội trường Trung ương", SiteKind.central, None, 300, Readiness.ready, None,
     "Văn phòng Trung ương", "024 3823 4567"),
    ("HCM", "Trung tâm Hội nghị 272 Võ Thị Sáu", SiteKind.hub, "TW", 400, Readiness.ready, None,
     "Lê Thị Hồng", "0901 234 567"),
    ("HCM-BN", "Đảng ủy phường Bến Nghé", SiteKind.ward, "HCM", 62, Readiness.tested, None,
     "Phạm Văn Đức", "0903 111 222"),
    ("HCM-TD", "Đảng ủy phường Tân Định", SiteKind.ward, "HCM", 58, Readiness.ready, None,
     "Võ Thị Mai", "0903 222 333"),
    ("HCM-CG", "Đảng ủy xã Cần Giờ", SiteKind.commune, "HCM", 45, Readiness.incident,
     "Mất kết nối Internet", "Trần Quốc Toản", "0903 333 444"),
    ("HCM-CD", "Đảng ủy đặc khu Côn Đảo", SiteKind.special_zone, "HCM", 30,
     Readiness.not_connected, None, None, None),
    ("HCM-GD", "Sở Giáo dục và Đào tạo", SiteKind.department, "HCM", 1_200, Readiness.ready,
     None, "Nguyễn Thị Lan", "0908 765 432"),
    ("HCM-MT", "Ủy ban MTTQ Việt Nam Thành phố", SiteKind.organization, "HCM", 25,
     Readiness.not_participating, None, None, None),
    ("HN", "Điểm cầu Thành phố Hà Nội", SiteKind.hub, "TW", 350, Readiness.tested, None,
     "Đỗ Minh Khang", "0912 000 111"),
    ("HN-HK", "Đảng ủy phường Hoàn Kiếm", SiteKind.ward, "HN", 70, Readiness.ready, None,
     "Bùi Thu Hà", "0912 111 222"),
    ("HN-SS", "Đảng ủy xã Sóc Sơn", SiteKind.commune, "HN", 55, Readiness.not_connected, None,
     None, None),
]
REGISTRATION = {
    "site_name": "Đảng ủy phường Sài Gòn",
    "room": "Hội trường tầng 2, 45 Lê Duẩn",
    "expected_attendees": "85",
    "connection_link": "https://hop.example.vn/phuong-sai-gon",
    "full_name": "Trần Văn Bình",
    "phone": "0912 345 678",
    "username": "saigon",
    "password": "sg-password-1",
    "password_confirm": "sg-password-1",
}


@dataclass(frozen=True)
class Seeded:
    conference_id: int
    ids: dict[str, int]


def _seed(server: LiveServer) -> Seeded:
    """The fixed conference and site tree the journey and the screenshots use."""
    engine = create_db_engine(server.settings.database_url, pool_size=1)
    with Session(engine, expire_on_commit=False) as db:
        admin = accounts_service.authenticate(db, username="admin", password=ADMIN_PASSWORD)
        conference = service.create_conference(db, actor=admin, data=ConferenceCreate(
            title="Hội nghị tập huấn ứng dụng trí tuệ nhân tạo (AI)",
            starts_on=date(2025, 9, 9), ends_on=date(2025, 9, 9)))
        assert conference.id is not None
        ids: dict[str, int] = {}
        for code, name, kind, parent, expected, readiness, note, contact, phone in SITES:
            site = service.create_site(db, conference_id=conference.id, actor=admin,
                                       data=SiteCreate(
                name=name, kind=kind, code=code, parent_id=ids[parent] if parent else None,
                expected_attendees=expected, contact_name=contact, contact_phone=phone,
                room="Hội trường chính"))
            assert site.id is not None
            ids[code] = site.id
            site_changes.update_site(db, site_id=site.id, actor=admin,
                                     data=SiteUpdate(readiness=readiness, readiness_note=note))
    engine.dispose()
    return Seeded(conference_id=conference.id, ids=ids)


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    """A phone-sized context, as a site coordinator holds it."""
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
        locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
    )
    context.set_default_timeout(10_000)
    try:
        yield context
    finally:
        context.close()


def _login(p: Page, base: str, username: str, password: str) -> None:
    p.goto(f"{base}/login")
    p.fill("input[name=username]", username)
    p.fill("input[name=password]", password)
    p.get_by_role("button", name="Đăng nhập").click()
    p.wait_for_load_state()


def _screenshot(p: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    # No focus ring or caret: the picture depends only on the data.
    p.evaluate("document.activeElement && document.activeElement.blur()")
    p.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    assert path.stat().st_size < MAX_SCREENSHOT_BYTES, (name, path.stat().st_size)
    return path


@pytest.mark.browser
def test_invite_register_approve_login_journey(
    live_server: LiveServer, page: Page, phone: BrowserContext
) -> None:
    base = live_server.url
    seeded = _seed(live_server)
    cid = seeded.conference_id

    # The central office logs in and creates an invite under the city hub.
    _login(page, base, "admin", ADMIN_PASSWORD)
    assert page.url == f"{base}/conferences"
    page.get_by_role("link", name="Hội nghị tập huấn ứng dụng trí tuệ nhân tạo (AI)").click()
    page.get_by_role("link", name="Lời mời").click()
    page.select_option("select[name=parent_site_id]", str(seeded.ids["HCM"]))
    page.select_option("select[name=suggested_kind]", "ward")
    page.fill("input[name=note]", "Đảng ủy phường Sài Gòn")
    page.get_by_role("button", name="Tạo lời mời").click()
    link = page.locator("input.invite-url").input_value()
    assert link.startswith(f"{base}/invite/")

    # The coordinator opens the link on a phone and registers the site and the account.
    mobile = phone.new_page()
    mobile.goto(link)
    expect(mobile.locator("h1")).to_have_text("Hội nghị tập huấn ứng dụng trí tuệ nhân tạo (AI)")
    expect(mobile.get_by_text("Trung tâm Hội nghị 272 Võ Thị Sáu")).to_be_visible()
    expect(mobile.locator("select[name=kind]")).to_have_value("ward")
    for name, value in REGISTRATION.items():
        mobile.fill(f"input[name={name}]", value)
    mobile.check("#accept-notice")
    width = mobile.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the registration form fits a phone without side-scrolling"
    _screenshot(mobile, "register-phone.png")
    mobile.get_by_role("button", name="Gửi đăng ký").click()
    expect(mobile.locator("h1")).to_have_text("Đã gửi đăng ký, chờ ban tổ chức duyệt")

    # The central office approves the registration.
    page.goto(f"{base}/conferences/{cid}/registrations")
    row = page.locator("tr", has_text="Đảng ủy phường Sài Gòn")
    expect(row).to_contain_text("Trần Văn Bình")
    row.get_by_role("button", name="Duyệt").click()
    expect(page.get_by_role("status")).to_contain_text("Đã duyệt đăng ký")

    # The coordinator logs in, lands on their tree, and sees nothing of the other hub.
    _login(mobile, base, "saigon", "sg-password-1")
    assert mobile.url == f"{base}/conferences/{cid}/sites"
    expect(mobile.get_by_role("link", name="Đảng ủy phường Sài Gòn")).to_be_visible()
    body = mobile.locator("main").inner_text()
    assert "Hà Nội" not in body and "Hoàn Kiếm" not in body and "Bến Nghé" not in body
    response = mobile.goto(f"{base}/sites/{seeded.ids['HN']}")
    assert response is not None and response.status == 403
    expect(mobile.locator("h1")).to_have_text("Không có quyền")

    # The README picture of the whole tree, as the central office sees it.
    page.goto(f"{base}/conferences/{cid}/sites")
    expect(page.locator("tbody tr")).to_have_count(len(SITES) + 1)
    _screenshot(page, "site-tree.png")


@pytest.mark.browser
def test_search_without_diacritics_in_browser(
    live_server: LiveServer, page: Page
) -> None:
    seeded = _seed(live_server)
    _login(page, live_server.url, "admin", ADMIN_PASSWORD)
    page.goto(f"{live_server.url}/conferences/{seeded.conference_id}/sites")
    page.fill("input[name=q]", "dang uy ben nghe")
    page.get_by_role("button", name="Lọc").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("Đảng ủy phường Bến Nghé")
