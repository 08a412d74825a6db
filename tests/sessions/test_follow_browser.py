"""Real Chromium: the follow-along link reaches the sites, not only the central office.

A coordinator finds the link and its QR on their session page; a site screen shows the
QR beside the self check-in one, and after a rotation shows the new link by itself.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from app.db import local_today
from checkin import site_qr_routes
from tests.browser import LiveServer
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser


@dataclass
class Scene:
    http: httpx.Client
    conference_id: int
    site_id: int
    session_id: int


@pytest.fixture
def scene(live_server: LiveServer) -> Iterator[Scene]:
    """Today's conference with a ward, its coordinator (nga / nga-password) and a session."""
    http = httpx.Client(base_url=live_server.url, timeout=30)
    r = http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    today = local_today().isoformat()
    cid = http.post("/api/v1/conferences", json={
        "title": "Hội nghị tập huấn AI", "starts_on": today, "ends_on": today}).json()["id"]
    site = http.post(f"/api/v1/conferences/{cid}/sites",
                     json={"name": "Phường Sài Gòn", "kind": "ward"}).json()["id"]
    r = http.post(f"/api/v1/sites/{site}/coordinators", json={
        "username": "nga", "password": "nga-password", "full_name": "Phạm Thị Nga"})
    assert r.status_code == 201, r.text
    session = http.post(f"/api/v1/conferences/{cid}/sessions", json={
        "title": "Phiên khai mạc", "starts_at": f"{today}T08:00", "ends_at": f"{today}T11:30",
    }).json()["id"]
    try:
        yield Scene(http, cid, site, session)
    finally:
        http.close()


def test_coordinator_finds_the_follow_link_and_qr_on_the_session_page(
    live_server: LiveServer, page: Page, scene: Scene
) -> None:
    link = scene.http.get(f"/api/v1/conferences/{scene.conference_id}/follow-link").json()
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=username]", "nga")
    page.fill("input[name=password]", "nga-password")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/sessions/{scene.session_id}")
    card = page.locator("#follow")
    expect(card.get_by_role("img", name="Mã QR của đường dẫn theo dõi")).to_be_visible()
    expect(card.locator("svg")).to_be_visible()
    expect(page.locator("#follow-url")).to_have_value(link["url"])
    expect(page.locator("#follow-rotate")).to_have_count(0)  # rotating is not theirs
    with page.context.expect_page() as opened:
        card.get_by_role("link", name="Mở trang theo dõi").click()
    follow = opened.value
    expect(follow.locator("#status")).to_contain_text("Trực tiếp")


def test_site_screen_shows_the_follow_qr_and_the_new_one_after_a_rotation(
    live_server: LiveServer, browser: Browser, scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(site_qr_routes, "FOLLOW_RECHECK_SECONDS", 0.5)
    token = scene.http.post(f"/api/v1/sites/{scene.site_id}/screen-token").json()["token"]
    link = scene.http.get(f"/api/v1/conferences/{scene.conference_id}/follow-link").json()
    projector = browser.new_context(viewport={"width": 1280, "height": 720}, locale="vi-VN")
    try:
        screen = projector.new_page()
        screen.goto(f"{live_server.url}/screen#token={token}")
        panel = screen.locator("#follow")
        expect(panel).to_be_visible()
        expect(panel).to_have_attribute("data-url", link["url"])
        expect(screen.locator("#follow-qr")).to_have_attribute("src", re.compile("^data:image/svg"))
        expect(screen.locator("#selfcheckin")).to_be_visible()  # both QR codes, side by side
        rotated = scene.http.post(
            f"/api/v1/conferences/{scene.conference_id}/follow-link/rotate").json()["url"]
        expect(panel).to_have_attribute("data-url", rotated)
        assert rotated != link["url"]
    finally:
        projector.close()
