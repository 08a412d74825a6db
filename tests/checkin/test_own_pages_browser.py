"""Real Chromium: an attendee opens their pass link on a phone, types their personal
code, sees what is held about them and asks for erasure; the central office erases them
from its queue; the attendee's link then says the data was erased."""

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app.config import PROJECT_ROOT
from tests.browser import PHONE, LiveServer
from tests.checkin.journeys import live_morning
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser
SCREENSHOT = PROJECT_ROOT / "docs" / "screenshots" / "my-data-phone.png"


def _attendee_link(http: httpx.Client, attendee_id: int) -> str:
    r = http.get(f"/api/v1/attendees/{attendee_id}/link")
    assert r.status_code == 200, r.text
    return str(httpx.URL(r.json()["url"]).path)


def _attendee_asks_for_erasure(phone: Page, link: str, short_code: str) -> None:
    phone.goto(link)
    expect(phone.locator("#own-name")).to_have_text("Đại biểu số 1")
    expect(phone.locator(".qr svg")).to_be_visible()
    phone.fill("#code", short_code.lower())
    phone.click("#unlock-submit")
    expect(phone.locator("#identity")).to_contain_text("Phường Bến Nghé")
    expect(phone.locator("#attendance")).to_contain_text("Phiên khai mạc")
    expect(phone.locator("#answers")).to_contain_text("không lưu câu trả lời")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the data page is {width} px wide"
    phone.screenshot(path=str(SCREENSHOT), full_page=True)
    phone.fill("#erase-message", "Tôi không muốn thông tin của mình được lưu lại")
    phone.once("dialog", lambda dialog: dialog.accept())  # the confirm question
    phone.click("#ask-erase-submit")
    expect(phone.locator("#own-notice")).to_contain_text("Đã gửi yêu cầu xoá dữ liệu")
    expect(phone.locator("#requests")).to_contain_text("Chờ xử lý")


def _office_erases(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/conferences")
    page.click("a[href='/data-requests']")
    card = page.locator(".request.open").first
    expect(card).to_contain_text("Đại biểu số 1")
    expect(card).to_contain_text("Tôi không muốn thông tin của mình được lưu lại")
    page.once("dialog", lambda dialog: dialog.accept())
    card.locator(".erase-form button").click()
    expect(page.locator("#queue-notice")).to_contain_text("Đã xoá dữ liệu cá nhân")
    expect(page.locator("#open-count")).to_have_text("0")
    expect(page.locator(".request.done").first).to_contain_text("Ẩn danh")


def test_an_attendee_asks_for_erasure_and_the_office_erases(
    live_server: LiveServer, phone: BrowserContext, page: Page
) -> None:
    morning = live_morning(live_server, attendees=2)
    try:
        morning.check_in(0, session=True)
        person = morning.people[0]
        link = _attendee_link(morning.http, int(person["id"]))
        mobile = phone.new_page()
        _attendee_asks_for_erasure(mobile, live_server.url + link, str(person["short_code"]))
        _office_erases(page, live_server.url)
        mobile.goto(live_server.url + link)
        expect(mobile.locator("#erased")).to_contain_text("Dữ liệu cá nhân của bạn đã được xoá")
        expect(mobile.locator("body")).not_to_contain_text("Đại biểu số 1")
        summary = morning.http.get(f"/api/v1/conferences/{morning.conference_id}/attendance")
        assert summary.json()["checked_in"] == 1  # still counted, as an anonymous attendee
    finally:
        morning.http.close()
