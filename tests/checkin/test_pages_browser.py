"""Real Chromium on a phone, as the commune official: the scanner opens on the live
session and says which session its counter is about; a headcount correction keeps the
figures it does not change."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import PHONE, LiveServer
from tests.checkin.journeys import OFFICIAL, SESSION_TITLE, live_morning

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh", is_mobile=True,
                                  has_touch=True)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def _login_official(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", OFFICIAL[0])
    page.fill("input[name=password]", OFFICIAL[1])
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def test_scanner_opens_on_the_live_session_and_names_it(
    live_server: LiveServer, phone: Page
) -> None:
    base = live_server.url
    morning = live_morning(live_server)
    try:
        morning.check_in(0, session=True)
        _login_official(phone, base)
        phone.goto(f"{base}/sites/{morning.ward_id}/checkin")
        expect(phone.locator("#session option:checked")).to_contain_text(SESSION_TITLE)
        expect(phone.locator("#count-session")).to_have_text(f"Phiên: {SESSION_TITLE}")
        expect(phone.locator("#count")).to_have_text("1")

        phone.fill("#code", morning.people[1]["code"])
        phone.press("#code", "Enter")
        expect(phone.locator("#result")).to_contain_text("Đại biểu số 2")
        expect(phone.locator("#count")).to_have_text("2")
        # Scanned into the session, so the door now says "already".
        r = morning.http.post("/api/v1/checkins", json={
            "code": morning.people[1]["code"], "site_id": morning.ward_id})
        assert r.json()["status"] == "already_checked_in"

        phone.select_option("#session", "0")
        expect(phone.locator("#count-session")).to_have_text("Cả hội nghị (mọi phiên)")
        expect(phone.locator("#count")).to_have_text("2")
    finally:
        morning.http.close()


def test_headcount_correction_keeps_the_figures_left_alone(
    live_server: LiveServer, phone: Page
) -> None:
    base = live_server.url
    morning = live_morning(live_server, attendees=0)
    try:
        _login_official(phone, base)
        url = f"{base}/sites/{morning.ward_id}/headcount?session_id=0"
        phone.goto(url)
        for name, value in (("dai_bieu", "20"), ("khach_moi", "5"), ("phong_vien", "3"),
                            ("khac", "2")):
            phone.fill(f"input[name={name}]", value)
        phone.click("form[method=post][action$=\"/headcount\"] button[type=submit]")
        expect(phone.locator("#current-total")).to_have_text("30")

        # The form opens with the current figures and says when they were reported.
        expect(phone.locator("input[name=khach_moi]")).to_have_value("5")
        expect(phone.locator("#form-from")).to_contain_text("đã báo cáo lúc")
        phone.fill("input[name=dai_bieu]", "25")
        phone.click("form[method=post][action$=\"/headcount\"] button[type=submit]")
        expect(phone.locator("#current-total")).to_have_text("35")
        expect(phone.locator("#current")).to_contain_text("Khách mời: 5")
        expect(phone.locator("input[name=khac]")).to_have_value("2")

        # Opened from the scanner's link, it reports for the live session, as the
        # dashboard counts it.
        phone.goto(f"{base}/sites/{morning.ward_id}/headcount")
        expect(phone.locator("#session option:checked")).to_contain_text(SESSION_TITLE)
        expect(phone.locator("#current-total")).to_have_text("Chưa có báo cáo.")
    finally:
        morning.http.close()
