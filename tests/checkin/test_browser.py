"""Real Chromium: self check-in from the site screen's QR on a phone, and the scanner desk."""

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from app.config import PROJECT_ROOT
from app.db import local_today
from checkin import qr, service, site_tokens
from tests.browser import LiveServer
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser
SCREENSHOT = PROJECT_ROOT / "docs" / "screenshots" / "checkin-phone.png"


@dataclass
class Setup:
    http: httpx.Client
    conference_id: int
    site_id: int
    people: dict[str, dict[str, str]]


def _setup(server: LiveServer, *names: str) -> Setup:
    http = httpx.Client(base_url=server.url, timeout=30)
    r = http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    today = local_today().isoformat()
    cid = http.post(
        "/api/v1/conferences",
        # Today: a screen follows the conference live at its site (else it waits).
        json={"title": "Hội nghị tập huấn AI", "starts_on": today, "ends_on": today},
    ).json()["id"]
    site = http.post(
        f"/api/v1/conferences/{cid}/sites",
        json={"name": "Phường Bến Nghé", "kind": "ward", "expected_attendees": 120},
    ).json()["id"]
    r = http.post(
        f"/api/v1/conferences/{cid}/attendees",
        json=[{"full_name": n, "site_id": site, "unit": "Đảng ủy phường"} for n in names],
    )
    assert r.status_code == 201, r.text
    return Setup(http, cid, site, {p["full_name"]: p for p in r.json()})


def _follows_after_checking_in(attendee: Page, setup: Setup) -> None:
    """Checked in: the phone is offered the conference's follow-along page, and it opens."""
    follow = setup.http.get(f"/api/v1/conferences/{setup.conference_id}/follow-link")
    offer = attendee.get_by_role(
        "link", name="Theo dõi chương trình và trình chiếu trên điện thoại")
    expect(offer).to_have_attribute("href", follow.json()["url"])
    offer.click()
    expect(attendee.locator("#status")).to_contain_text("Trực tiếp")


def test_self_checkin_from_screen_qr_on_phone(
    live_server: LiveServer,
    browser: Browser,
    phone: BrowserContext,
) -> None:
    setup = _setup(live_server, "Nguyễn Văn An")
    person = setup.people["Nguyễn Văn An"]
    token = setup.http.post(f"/api/v1/sites/{setup.site_id}/screen-token").json()["token"]
    projector = browser.new_context(viewport={"width": 1280, "height": 720}, locale="vi-VN")
    try:
        screen = projector.new_page()
        screen.goto(f"{live_server.url}/screen#token={token}")
        panel = screen.locator("#selfcheckin")
        expect(panel).to_be_visible(timeout=10_000)
        qr_image = screen.locator("#selfcheckin-qr")
        expect(qr_image).to_have_attribute("src", re.compile("^data:image/svg"))
        url = panel.get_attribute("data-url")
        assert url and url.startswith(f"{live_server.url}/c/")
        expect(screen.locator("#site")).to_have_text("Phường Bến Nghé")
        expect(screen.locator("#unpaired")).to_be_hidden()  # a paired screen shows no overlay

        attendee = phone.new_page()
        attendee.goto(url)
        expect(attendee.locator("#site-name")).to_have_text("Phường Bến Nghé")
        attendee.fill("#code", person["short_code"].lower())
        attendee.click("#submit")
        result = attendee.locator("#result")
        expect(result).to_have_class("ci-result ok")
        expect(result).to_contain_text("Đã điểm danh")
        expect(result).to_contain_text("Nguyễn Văn An")
        expect(result).not_to_contain_text("Đảng ủy phường")  # the unit is not shown
        _follows_after_checking_in(attendee, setup)

        # The code is remembered on this phone: next time it is one tap.
        attendee.goto(url)
        expect(attendee.locator("#remembered")).to_be_visible()
        expect(attendee.locator("#remembered-code")).to_have_text(person["short_code"].lower())
        attendee.click("#submit")
        expect(result).to_have_class("ci-result warn")
        expect(result).to_contain_text("Bạn đã điểm danh rồi")
        expect(result).to_contain_text("Tại Phường Bến Nghé")

        # A QR photographed earlier (two steps old) is refused when opened.
        step = qr.current_step(time.time()) - 2
        stale = qr.sign_site_step(
            setup.site_id, step, service.site_qr_secret(live_server.settings)
        )
        attendee.goto(f"{live_server.url}/c/{stale}")
        expect(attendee.locator("#result")).to_have_text(
            "Mã QR đã hết hạn, hãy quét lại mã trên màn hình."
        )
        expect(attendee.locator("#follow-offer")).to_have_count(0)
        expect(attendee.locator("#self-form")).to_have_count(0)
    finally:
        projector.close()
        setup.http.close()


def test_self_checkin_survives_slow_typing_and_an_expired_qr(
    live_server: LiveServer, phone: BrowserContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12, point 8: typing for a minute still checks in; past the page's minutes the
    typed code stays, and the rescan's page has it filled in."""
    setup = _setup(live_server, "Nguyễn Văn An", "Trần Thị Bình")
    an, bình = setup.people["Nguyễn Văn An"], setup.people["Trần Thị Bình"]
    shift = [0.0]
    monkeypatch.setattr(site_tokens, "clock", lambda: time.time() + shift[0])

    def scan_screen() -> str:
        token = service.site_qr(setup.site_id, live_server.settings, now=site_tokens.clock())
        return f"{live_server.url}/c/{token}"

    attendee = phone.new_page()
    result = attendee.locator("#result")
    try:
        attendee.goto(scan_screen())
        attendee.uncheck("#remember")
        attendee.locator("#code").press_sequentially(an["short_code"])
        shift[0] += 60  # a slow typist: the QR the page opened with changed twice meanwhile
        attendee.click("#submit")
        expect(result).to_have_class("ci-result ok")
        expect(result).to_contain_text("Nguyễn Văn An")

        attendee.goto(scan_screen())
        attendee.uncheck("#remember")
        attendee.locator("#code").press_sequentially(bình["short_code"])
        shift[0] += 7 * 60  # past the page's window too
        attendee.click("#submit")
        expect(result).to_have_class("ci-result err")
        expect(result).to_contain_text("Mã QR đã hết hạn")
        expect(attendee.locator("#self-form")).to_be_visible()
        expect(attendee.locator("#code")).to_have_value(bình["short_code"])

        attendee.goto(scan_screen())  # the rescan: a new page, the typed code already there
        expect(attendee.locator("#code")).to_have_value(bình["short_code"])
        attendee.click("#submit")
        expect(result).to_have_class("ci-result ok")
        expect(result).to_contain_text("Trần Thị Bình")
    finally:
        setup.http.close()


def _login(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/conferences")


def _scan_by_wedge(page: Page, bình: dict[str, Any], an: dict[str, Any]) -> None:
    """A keyboard-wedge scanner: first scan, repeat, garbage, then two scans at once."""
    result = page.locator("#result")
    code_input = page.locator("#code")
    # A keyboard-wedge scanner: the QR text typed fast, then Enter.
    page.keyboard.type(bình["code"], delay=0)
    page.keyboard.press("Enter")
    expect(result).to_have_class("ci-result ok")
    expect(result).to_contain_text("Đã điểm danh")
    expect(result).to_contain_text("Trần Thị Bình")
    expect(code_input).to_be_focused()
    expect(code_input).to_have_value("")
    expect(page.locator("#count")).to_have_text("1")

    page.keyboard.type(bình["code"], delay=0)
    page.keyboard.press("Enter")
    expect(result).to_have_class("ci-result warn")
    expect(result).to_contain_text("Đã điểm danh lúc")

    page.keyboard.type("ZZZ-NOT-A-PASS", delay=0)
    page.keyboard.press("Enter")
    expect(result).to_have_class("ci-result err")
    expect(result).to_contain_text("Không điểm danh được")
    expect(code_input).to_be_focused()

    # Two scans in quick succession: the second waits for the first, none is lost.
    page.keyboard.type(an["short_code"] + "\n" + bình["short_code"] + "\n", delay=0)
    expect(result).to_have_class("ci-result warn")
    expect(page.locator("#history li")).to_have_count(5)
    expect(page.locator("#history li").nth(1)).to_contain_text("Nguyễn Văn Anh")


def test_scanner_desk_takes_wedge_input_and_name_search(
    live_server: LiveServer,
    phone: BrowserContext,
) -> None:
    setup = _setup(live_server, "Trần Thị Bình", "Nguyễn Văn An", "Nguyễn Văn Anh")
    bình = setup.people["Trần Thị Bình"]
    page = phone.new_page()
    try:
        _login(page, live_server.url)
        page.goto(f"{live_server.url}/sites/{setup.site_id}/checkin")
        code_input = page.locator("#code")
        expect(code_input).to_be_focused()
        result = page.locator("#result")
        camera = page.evaluate("'BarcodeDetector' in window && !!navigator.mediaDevices")
        expect(page.locator("#camera-btn")).to_be_visible(visible=camera)

        _scan_by_wedge(page, bình, setup.people["Nguyễn Văn Anh"])

        # Name search without diacritics, then the per-result button.
        page.fill("#search-q", "nguyen van an")
        rows = page.locator("#search-results li")
        expect(rows.first).to_contain_text("Nguyễn Văn An")
        row = rows.filter(has=page.locator("strong", has_text=re.compile("^Nguyễn Văn An$")))
        row.get_by_role("button", name="Điểm danh").click()
        expect(result).to_have_class("ci-result ok")
        expect(result).to_contain_text("Nguyễn Văn An")
        expect(page.locator("#count")).to_have_text("3")

        page.fill("#search-q", "")
        page.locator("#code").focus()
        page.screenshot(path=str(SCREENSHOT))
        assert Path(SCREENSHOT).stat().st_size < 300_000
        methods = setup.http.get(
            f"/api/v1/conferences/{setup.conference_id}/attendance",
            params={"site_id": setup.site_id},
        ).json()
        assert methods["checked_in"] == 3
    finally:
        setup.http.close()


def test_name_search_on_a_phone_stays_put_and_shows_who_is_here(
    live_server: LiveServer, phone: BrowserContext
) -> None:
    """Issue 12, point 7: a name-search check-in leaves the focus in the results (no jump
    to the scan box, so no keyboard and no scroll to the top), and results say who is
    already checked in."""
    setup = _setup(live_server, "Nguyễn Văn An", "Nguyễn Thị Hoa", "Trần Thị Bình")
    r = setup.http.post("/api/v1/checkins", json={
        "code": setup.people["Nguyễn Văn An"]["code"], "site_id": setup.site_id})
    assert r.status_code == 201, r.text
    page = phone.new_page()
    try:
        _login(page, live_server.url)
        page.goto(f"{live_server.url}/sites/{setup.site_id}/checkin")
        page.fill("#search-q", "nguyen")
        rows = page.locator("#search-results li")
        expect(rows).to_have_count(2)
        an, hoa = rows.filter(has_text="Nguyễn Văn An"), rows.filter(has_text="Nguyễn Thị Hoa")
        expect(an.locator(".ci-present")).to_contain_text("Đã có mặt")
        expect(an.get_by_role("button")).to_have_count(0)

        button = hoa.get_by_role("button", name="Điểm danh")
        button.scroll_into_view_if_needed()
        page.evaluate("window.scrollBy(0, 200)")
        scrolled = page.evaluate("window.scrollY")
        assert scrolled > 100
        button.tap()
        expect(page.locator("#result")).to_have_class("ci-result ok")
        expect(hoa.locator(".ci-present")).to_contain_text("Đã có mặt")
        page.wait_for_timeout(300)  # past the scan box's 150 ms refocus
        focused = page.evaluate(
            "[document.activeElement.id, !!document.activeElement.closest('#search-results')]"
        )
        assert focused == ["", True], focused
        assert page.evaluate("window.scrollY") >= scrolled - 5
    finally:
        setup.http.close()
