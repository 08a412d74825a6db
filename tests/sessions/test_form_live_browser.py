"""Running a form in Chromium (issue 13's "done means" 2): the console opens a form, two
site screens show its title, QR, short link and a count of 0; phones open the link a
screen shows and answer on the real answer page; each screen's count changes without a
reload; the console closes the form ("Phiếu đã đóng"), a late phone is refused, the
console shows the results, and every screen shows the charts."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.engine import Engine

from app.config import PROJECT_ROOT
from app.db import create_db_engine
from tests.conftest import ADMIN_PASSWORD
from tests.sessions.form_live_support import MadeForm, make_form
from tests.sessions.test_screen_browser import TODAY, RestartableServer

pytestmark = pytest.mark.browser
SVG_DATA = re.compile(r"^data:image/svg\+xml")
SCREENSHOT = PROJECT_ROOT / "docs" / "screenshots" / "screen-form-results.png"


@pytest.fixture
def server(sqlite_url: str, tmp_path: Any) -> Iterator[RestartableServer]:
    srv = RestartableServer(sqlite_url, str(tmp_path / "var"))
    srv.start()
    yield srv
    srv.stop()


def _console(browser: Browser, base: str, sid: int) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN").new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/conferences")
    page.goto(f"{base}/sessions/{sid}/console")
    return page


@dataclass
class World:
    cid: int
    site: int
    made: MadeForm
    screen: Page
    other: Page  # the screen of a second site


def _screen(browser: Browser, base: str, token: str) -> Page:
    screen = browser.new_context(viewport={"width": 1280, "height": 720}, locale="vi-VN",
                                 timezone_id="Asia/Ho_Chi_Minh").new_page()
    screen.set_default_timeout(10_000)
    screen.goto(f"{base}/screen#token={token}")
    expect(screen.locator("#status")).to_have_text("Đã kết nối")
    screen.evaluate("window.__sameDocument = true")
    return screen


def _phone_answers(browser: Browser, screen: Page, option_id: int) -> Page:
    """A phone opens the short link the screen shows and answers the single choice."""
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN",
                                is_mobile=True, has_touch=True).new_page()
    phone.set_default_timeout(10_000)
    phone.goto("http://" + screen.locator("#form-link").inner_text())
    expect(phone.locator("#form-title")).to_have_text("Kiểm tra kiến thức chuyển đổi số")
    phone.check(f"input[name=q1][value='{option_id}']")
    phone.click("#send")
    return phone


def _world(server: RestartableServer, browser: Browser, engine: Engine) -> tuple[World, int]:
    """A live conference, a site with its screen showing the session on stage, a draft form."""
    http = httpx.Client(base_url=server.url, timeout=30)
    r = http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    cid = http.post("/api/v1/conferences", json={
        "title": "Hội nghị tập huấn AI", "starts_on": TODAY, "ends_on": TODAY}).json()["id"]
    site = http.post(f"/api/v1/conferences/{cid}/sites",
                     json={"name": "Phường Bến Nghé", "kind": "ward"}).json()["id"]
    sid = http.post(f"/api/v1/conferences/{cid}/sessions", json={
        "title": "Phiên khai mạc", "starts_at": f"{TODAY}T00:01:00+07:00",
        "ends_at": f"{TODAY}T23:59:00+07:00"}).json()["id"]
    assert http.put(f"/api/v1/sessions/{sid}/state", json={}).status_code == 200
    other = http.post(f"/api/v1/conferences/{cid}/sites",
                      json={"name": "Xã Cần Giờ", "kind": "commune"}).json()["id"]
    tokens = [http.post(f"/api/v1/sites/{s}/screen-token").json()["token"] for s in (site, other)]
    http.close()
    made = make_form(engine, conference_id=cid, session_id=sid,
                     title="Kiểm tra kiến thức chuyển đổi số")
    screen, second = (_screen(browser, server.url, t) for t in tokens)
    return World(cid, site, made, screen, second), sid


def _phone_answers_later(browser: Browser, screen: Page) -> Page:
    """A phone that opened the form while it was open and sends after it closed."""
    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    phone.set_default_timeout(10_000)
    phone.goto("http://" + screen.locator("#form-link").inner_text())
    expect(phone.locator("#send")).to_be_visible()
    return phone


def _results(server: RestartableServer, form_id: int) -> Any:
    http = httpx.Client(base_url=server.url, timeout=30)
    r = http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    body = http.get(f"/api/v1/forms/{form_id}/results").json()
    http.close()
    return body


def _shows_the_open_form(w: World) -> None:
    expect(w.screen.locator("#form")).to_be_visible()
    expect(w.screen.locator("#stage")).to_be_hidden()
    expect(w.screen.locator("#form-title")).to_have_text("Kiểm tra kiến thức chuyển đổi số")
    expect(w.screen.locator("#form-kind")).to_have_text("Kiểm tra đầu vào")
    expect(w.screen.locator("#form-link")).to_contain_text(f"/a/{w.site}-")
    expect(w.screen.locator("#form-qr")).to_have_attribute("src", SVG_DATA)
    expect(w.screen.locator("#form-count")).to_have_text("0")


def test_console_runs_a_form_and_the_screen_follows(
    server: RestartableServer, browser: Browser
) -> None:
    engine = create_db_engine(server.settings.database_url)
    w, sid = _world(server, browser, engine)
    made, screen = w.made, w.screen
    console = _console(browser, server.url, sid)
    row = console.locator(f"#forms-list li[data-form='{made.form_id}']")
    row.locator("button[data-action=open]").click()
    expect(row).to_have_attribute("data-status", "open")
    _shows_the_open_form(w)
    expect(w.other.locator("#form-count")).to_have_text("0")

    for option in (made.right_id, made.wrong_id, made.right_id):  # three phones at site 1
        expect(_phone_answers(browser, screen, option).locator("#done")).to_contain_text(
            "Đã ghi nhận")
    expect(_phone_answers(browser, w.other, made.right_id).locator("#done")).to_contain_text(
        "Đã ghi nhận")
    expect(screen.locator("#form-count")).to_have_text("3")
    expect(w.other.locator("#form-count")).to_have_text("1")  # each screen: its own site
    expect(console.locator("#forms-total")).to_have_text("4")

    late = _phone_answers_later(browser, screen)
    row.locator("button[data-action=close]").click()
    for s in (screen, w.other):
        expect(s.locator("#form-closed")).to_have_text("Phiếu đã đóng")
        expect(s.locator("#form-closed")).to_be_visible()
        expect(s.locator("#form")).to_have_attribute("data-status", "closed")
    late.check(f"input[name=q1][value='{made.right_id}']")
    late.click("#send")
    expect(late.locator("#send-error")).to_contain_text("đã đóng")

    row.locator("button[data-action='results/show']").click()
    for s in (screen, w.other):
        expect(s.locator("#form-results img.form-chart")).to_have_count(3)
        expect(s.locator("#form-results")).to_have_attribute("data-version", "1")
        assert s.evaluate("window.__sameDocument") is True  # never reloaded
    expect(console.locator("#forms-charts img")).to_have_count(3)
    results = _results(server, made.form_id)
    assert results["answers"] == 4
    assert [o["count"] for o in results["questions"][0]["options"]] == [3, 1]
    screen.screenshot(path=str(SCREENSHOT))  # for the README
    assert SCREENSHOT.stat().st_size < 300_000

    row.locator("button[data-action=hide]").click()
    expect(screen.locator("#form")).to_be_hidden()
    expect(screen.locator("#stage")).to_be_visible()
    engine.dispose()
