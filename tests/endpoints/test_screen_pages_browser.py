"""A commune coordinator pairs the room's screen from their phone: the code page shows the
server's full address and its QR, a reload or Back creates no second screen, and the
screen shows online as soon as it is connected."""

import time

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from app.db import local_today
from tests.browser import DESKTOP, LiveServer
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser
TODAY = local_today().isoformat()


def _seed(base: str) -> tuple[httpx.Client, int]:
    """A conference today, a commune and its coordinator (login "cangio")."""
    http = httpx.Client(base_url=base, timeout=30)
    r = http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    cid = http.post("/api/v1/conferences", json={
        "title": "Hội nghị tập huấn AI", "starts_on": TODAY, "ends_on": TODAY}).json()["id"]
    site: int = http.post(f"/api/v1/conferences/{cid}/sites",
                          json={"name": "Xã Cần Giờ", "kind": "commune"}).json()["id"]
    http.post(f"/api/v1/sites/{site}/coordinators", json={
        "username": "cangio", "password": "xa-password-1", "full_name": "Trần Quốc Toản",
    }).raise_for_status()
    return http, site


def test_pairing_from_a_phone(live_server: LiveServer, browser: Browser,
                              phone: BrowserContext) -> None:
    http, site = _seed(live_server.url)
    try:
        coordinator = phone.new_page()
        coordinator.goto(f"{live_server.url}/login")
        coordinator.fill("input[name=username]", "cangio")
        coordinator.fill("input[name=password]", "xa-password-1")
        coordinator.get_by_role("button", name="Đăng nhập").click()
        coordinator.goto(f"{live_server.url}/sites/{site}/screens")
        coordinator.get_by_role("button", name="Tạo mã ghép nối").click()

        code = coordinator.get_by_test_id("pairing-code")
        expect(code).to_be_visible()
        shown = code.inner_text()
        address = f"{live_server.url}/screen/pair"
        expect(coordinator.get_by_test_id("pairing-address")).to_have_text(address)
        expect(coordinator.get_by_test_id("pairing-qr").locator("svg")).to_be_visible()

        # Reload, then Back and Forward: the same code, still one screen.
        coordinator.reload()
        expect(code).to_have_text(shown)
        coordinator.go_back()
        coordinator.go_forward()
        expect(code).to_have_text(shown)
        assert len(http.get(f"/api/v1/sites/{site}/screens").json()) == 1

        projector = browser.new_context(viewport=DESKTOP, locale="vi-VN").new_page()
        projector.goto(address)
        projector.fill("#code", shown)
        projector.get_by_role("button", name="Ghép nối").click()
        expect(projector.locator("#status")).to_have_text("Đã kết nối")

        _online_within(coordinator, seconds=3.0)
        expect(coordinator.get_by_role("heading", name="Đã ghép nối «Màn hình 1»")).to_be_visible()
        projector.context.close()
    finally:
        http.close()


def _online_within(page: Page, *, seconds: float) -> None:
    """The coordinator reloads the code page until the screen shows online (it used to take
    up to 15 s: the next heartbeat flush)."""
    deadline = time.monotonic() + seconds
    while True:
        page.reload()
        if page.locator("#ghep-noi .badge.ready").count():
            return
        assert time.monotonic() < deadline, "the connected screen still shows offline"
        page.wait_for_timeout(250)
