"""The central office ends a session only after saying yes, and can reopen it."""

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from app.db import local_today
from tests.browser import LiveServer
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser
TODAY = local_today().isoformat()


def _session(base: str) -> int:
    with httpx.Client(base_url=base, timeout=30) as http:
        r = http.post("/api/v1/auth/token",
                      data={"username": "admin", "password": ADMIN_PASSWORD})
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        cid = http.post("/api/v1/conferences", json={
            "title": "Hội nghị tập huấn AI", "starts_on": TODAY, "ends_on": TODAY}).json()["id"]
        sid: int = http.post(f"/api/v1/conferences/{cid}/sessions", json={
            "title": "Phiên khai mạc", "starts_at": f"{TODAY}T08:00:00+07:00",
            "ends_at": f"{TODAY}T11:00:00+07:00"}).json()["id"]
    return sid


def test_close_asks_first_and_the_central_office_reopens(
    live_server: LiveServer, page: Page
) -> None:
    sid = _session(live_server.url)
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.goto(f"{live_server.url}/sessions/{sid}")
    console = page.get_by_role("link", name="Điều khiển trình chiếu")
    close = page.get_by_role("button", name="Kết thúc phiên")

    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    close.click()
    page.wait_for_timeout(300)
    assert asked and "Kết thúc phiên «Phiên khai mạc»" in asked[0]
    expect(console).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        close.click()
    expect(page.get_by_role("status")).to_have_text("Đã kết thúc phiên họp.")
    expect(console).to_have_count(0)

    page.get_by_role("button", name="Mở lại phiên").click()
    expect(page.get_by_role("status")).to_have_text("Đã mở lại phiên họp.")
    expect(page.locator("h2").first).to_contain_text("chưa bắt đầu")
    expect(console).to_be_visible()
    expect(page.get_by_role("button", name="Mở lại phiên")).to_have_count(0)
