"""Real Chromium: the dashboard follows a check-in made through the API, and a site goes
offline when its screen closes (presence timeouts shortened through settings)."""

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect

from app.config import PROJECT_ROOT
from app.db import local_today
from app.main import create_app
from tests.browser import LiveServer, _free_port, _wait_healthy
from tests.conftest import ADMIN_PASSWORD, make_settings

pytestmark = pytest.mark.browser
SCREENSHOT = PROJECT_ROOT / "docs" / "screenshots" / "dashboard.png"
# Screens beat every 15 s, so a connected screen must stay online past one beat.
PRESENCE_TIMEOUT = 18.0


@pytest.fixture
def fast_server(sqlite_url: str) -> Iterator[LiveServer]:
    """The app under uvicorn with presence ticking every half second."""
    settings = make_settings(
        sqlite_url,
        presence_timeout_seconds=PRESENCE_TIMEOUT,
        presence_tick_seconds=0.5,
        presence_flush_seconds=0.5,
        dashboard_interval_seconds=0.25,
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    ))
    thread = threading.Thread(target=server.run, name="dashboard-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, thread)
        yield LiveServer(url=url, settings=settings)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _login(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/conferences")


def _arrange(http: httpx.Client) -> tuple[int, int, int, list[dict[str, Any]]]:
    """A conference running today with a hub, a ward of two attendees and an island site
    (admin login)."""
    r = http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    # Live today: a screen's presence reaches the conference live at its site.
    today = local_today().isoformat()
    cid = http.post("/api/v1/conferences", json={
        "title": "Hội nghị tập huấn AI", "starts_on": today, "ends_on": today,
    }).json()["id"]

    def site(name: str, kind: str, parent: int | None, expected: int) -> int:
        body = {"name": name, "kind": kind, "parent_id": parent, "expected_attendees": expected}
        r = http.post(f"/api/v1/conferences/{cid}/sites", json=body)
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    hub = site("Thành phố Hồ Chí Minh", "hub", None, 10)
    ward = site("Phường Bến Nghé", "ward", hub, 4)
    site("Đặc khu Côn Đảo", "special_zone", hub, 60)
    people = http.post(f"/api/v1/conferences/{cid}/attendees", json=[
        {"full_name": "Nguyễn Văn An", "site_id": ward},
        {"full_name": "Trần Thị Bình", "site_id": ward},
    ]).json()
    return cid, hub, ward, people


def test_dashboard_shows_checkin_live_and_site_offline_when_screen_closes(
    fast_server: LiveServer, browser: Browser, page: Page
) -> None:
    base = fast_server.url
    http = httpx.Client(base_url=base, timeout=30)
    cid, hub, ward, people = _arrange(http)
    token = http.post(f"/api/v1/sites/{ward}/screen-token").json()["token"]
    projector = browser.new_context(viewport={"width": 1280, "height": 720}, locale="vi-VN")
    try:
        screen = projector.new_page()
        screen.goto(f"{base}/screen#token={token}")

        _login(page, base)
        page.goto(f"{base}/conferences/{cid}/dashboard")
        expect(page.locator("#conn")).to_have_text("Đang cập nhật trực tiếp")
        row = page.locator(f'tr[data-site="{ward}"]')
        expect(row.locator("td.presence")).to_have_text("trực tuyến", timeout=15_000)
        expect(page.locator("#t-online")).to_have_text("1")
        expect(page.locator("#t-checked")).to_have_text("0")
        expect(page.locator(f'tr.group-row[data-group="{hub}"]')).to_contain_text(
            "Thành phố Hồ Chí Minh")

        for person in people:
            r = http.post("/api/v1/checkins", json={"code": person["code"], "site_id": ward})
            assert r.status_code == 201, r.text
        expect(page.locator("#t-checked")).to_have_text("2")
        expect(page.locator("#t-present")).to_have_text("2")
        expect(row.locator("td").nth(4)).to_have_text("2 / 4")
        expect(row.locator("td").nth(5)).to_contain_text("50,0%")
        expect(page.locator("#arrivals svg rect")).to_have_count(1)

        # Diacritics-free search and the "offline only" filter ask the server for rows.
        page.fill("#q", "ben nghe")
        expect(page.locator("#rows tr[data-site]")).to_have_count(1)
        page.fill("#q", "")
        page.check('input[name=filter][value="offline"]')
        expect(page.locator("#rows tr[data-site]")).to_have_count(2)  # hub and Côn Đảo
        page.check('input[name=filter][value=""]')
        expect(page.locator("#rows tr[data-site]")).to_have_count(3)

        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert SCREENSHOT.stat().st_size < 300_000

        projector.close()  # the room's screen goes dark
        expect(row.locator("td.presence")).to_have_text(
            "ngoại tuyến", timeout=int((PRESENCE_TIMEOUT + 10) * 1000))
        expect(page.locator("#t-online")).to_have_text("0")
        expect(page.locator("#missing")).to_contain_text("Phường Bến Nghé")
    finally:
        projector.close()
        http.close()
