"""Real Chromium: the presenter console speaks plainly (no "Phiên bản trạng thái")."""

import httpx
import pytest
from playwright.sync_api import Page, expect

from app.db import local_today
from tests.browser import LiveServer
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser


def test_console_counts_screen_updates_in_plain_words(live_server: LiveServer, page: Page) -> None:
    base, today = live_server.url, local_today().isoformat()
    http = httpx.Client(base_url=base, timeout=30)
    r = http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    cid = http.post("/api/v1/conferences", json={
        "title": "Hội nghị sơ kết", "starts_on": today, "ends_on": today}).json()["id"]
    session = http.post(f"/api/v1/conferences/{cid}/sessions", json={
        "title": "Phiên khai mạc", "starts_at": f"{today}T08:00", "ends_at": f"{today}T23:59",
    }).json()["id"]
    http.close()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/conferences")
    page.goto(f"{base}/sessions/{session}/console")
    meta = page.locator(".meta")
    expect(meta).to_contain_text("Số lần cập nhật màn hình: 0")
    assert "Phiên bản" not in page.locator("main").inner_text()
