"""Running a form in Chromium (issue 13's "done means" 2, without the phone page, another
part): the console opens a form, a site screen shows its title, QR, short link and a count
of 0; answers arrive and the count changes without a reload; the console closes the form
("Phiếu đã đóng") and shows the results, and the screen shows the charts."""

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from app.config import PROJECT_ROOT
from app.db import create_db_engine
from sessions import events
from tests.conftest import ADMIN_PASSWORD
from tests.sessions.form_support import answer, make_form
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


def test_console_runs_a_form_and_the_screen_follows(
    server: RestartableServer, browser: Browser
) -> None:
    base = server.url
    http = httpx.Client(base_url=base, timeout=30)
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
    token = http.post(f"/api/v1/sites/{site}/screen-token").json()["token"]
    engine = create_db_engine(server.settings.database_url)
    made = make_form(engine, conference_id=cid, session_id=sid,
                     title="Kiểm tra kiến thức chuyển đổi số")

    screen = browser.new_context(viewport={"width": 1280, "height": 720}, locale="vi-VN",
                                 timezone_id="Asia/Ho_Chi_Minh").new_page()
    screen.set_default_timeout(10_000)
    screen.goto(f"{base}/screen#token={token}")
    expect(screen.locator("#status")).to_have_text("Đã kết nối")
    screen.evaluate("window.__sameDocument = true")

    console = _console(browser, base, sid)
    row = console.locator(f"#forms-list li[data-form='{made.form_id}']")
    row.locator("button[data-action=open]").click()
    expect(row).to_have_attribute("data-status", "open")

    card = screen.locator("#form")
    expect(card).to_be_visible()
    expect(screen.locator("#stage")).to_be_hidden()
    expect(screen.locator("#form-title")).to_have_text("Kiểm tra kiến thức chuyển đổi số")
    expect(screen.locator("#form-kind")).to_have_text("Kiểm tra đầu vào")
    expect(screen.locator("#form-link")).to_contain_text(f"/a/{site}-")
    expect(screen.locator("#form-qr")).to_have_attribute("src", SVG_DATA)
    expect(screen.locator("#form-count")).to_have_text("0")

    hub = server.app.state.hub
    for option in (made.right_id, made.wrong_id, made.right_id):
        answer(engine, made, conference_id=cid, site_id=site, option_id=option)
        hub.publish(events.form_channel(cid),
                    events.encode_form_answered(form_id=made.form_id, site_id=site))
    expect(screen.locator("#form-count")).to_have_text("3")
    expect(console.locator("#forms-total")).to_have_text("3")

    row.locator("button[data-action=close]").click()
    expect(screen.locator("#form-closed")).to_have_text("Phiếu đã đóng")
    expect(screen.locator("#form-closed")).to_be_visible()
    expect(card).to_have_attribute("data-status", "closed")

    row.locator("button[data-action='results/show']").click()
    charts = screen.locator("#form-results img.form-chart")
    expect(charts).to_have_count(3)
    expect(screen.locator("#form-results")).to_have_attribute("data-version", "1")
    expect(console.locator("#forms-charts img")).to_have_count(3)
    assert screen.evaluate("window.__sameDocument") is True  # never reloaded
    screen.screenshot(path=str(SCREENSHOT))  # for the README
    assert SCREENSHOT.stat().st_size < 300_000

    row.locator("button[data-action=hide]").click()
    expect(card).to_be_hidden()
    expect(screen.locator("#stage")).to_be_visible()
    engine.dispose()
    http.close()
