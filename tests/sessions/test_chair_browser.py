"""Real Chromium on a tablet: the chair page follows the floor live and acts on it.

A coordinator asks over the API and the request appears without a reload; the chair
gives the floor (the stage names the speaker), declines another request with a reason
(the site sees it), approves a written question and puts it on every screen, ends the
speaker; a dropped socket shows the mark and resumes with `since=`.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute, expect

from app.db import local_today
from tests.browser import LiveServer
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser
TABLET = {"width": 820, "height": 1180}


@dataclass
class Floor:
    admin: httpx.Client
    coord: httpx.Client
    cid: int
    sid: int
    wards: list[int]


def _client(base: str, username: str, password: str) -> httpx.Client:
    http = httpx.Client(base_url=base, timeout=30)
    r = http.post("/api/v1/auth/token", data={"username": username, "password": password})
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return http


@pytest.fixture
def floor(live_server: LiveServer) -> Iterator[Floor]:
    """A conference today with a hub and two wards, a session on stage, a coordinator."""
    today = local_today().isoformat()
    admin = _client(live_server.url, "admin", ADMIN_PASSWORD)
    cid = admin.post("/api/v1/conferences", json={
        "title": "Hội nghị quán triệt", "starts_on": today, "ends_on": today}).json()["id"]
    hub = admin.post(f"/api/v1/conferences/{cid}/sites", json={
        "name": "Điểm cầu TP Hồ Chí Minh", "kind": "hub"}).json()["id"]
    wards = [admin.post(f"/api/v1/conferences/{cid}/sites", json={
        "name": name, "kind": "ward", "parent_id": hub}).json()["id"]
        for name in ("Phường Bến Nghé", "Phường Sài Gòn")]
    sid = admin.post(f"/api/v1/conferences/{cid}/sessions", json={
        "title": "Phiên thảo luận", "starts_at": f"{today}T08:00",
        "ends_at": f"{today}T23:59"}).json()["id"]
    item = admin.post(f"/api/v1/sessions/{sid}/agenda", json={"title": "Thảo luận"}).json()["id"]
    r = admin.put(f"/api/v1/sessions/{sid}/state", json={"agenda_item_id": item})
    assert r.status_code == 200, r.text
    r = admin.post(f"/api/v1/sites/{hub}/coordinators", json={
        "username": "hcm-coord", "password": "hcm-coord-password", "full_name": "Lê Thị Hồng"})
    assert r.status_code == 201, r.text
    coord = _client(live_server.url, "hcm-coord", "hcm-coord-password")
    try:
        yield Floor(admin, coord, cid, sid, wards)
    finally:
        admin.close()
        coord.close()


def _chair(browser: Browser, base: str, sid: int, sockets: list[WebSocketRoute]) -> Page:
    """The chair's page on a touch tablet, logged in, each socket routed through the test."""
    context = browser.new_context(viewport=TABLET, has_touch=True, locale="vi-VN",  # type: ignore[arg-type]
                                  timezone_id="Asia/Ho_Chi_Minh", base_url=base)
    context.set_default_timeout(10_000)
    page = context.new_page()

    def through(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket("**/ws/floor*", through)
    page.goto("/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/conferences")
    page.goto(f"/sessions/{sid}/chair")
    expect(page.locator("#conn")).to_have_text("Trực tiếp")
    return page


def _ask(f: Floor, ward: int, speaker: str) -> None:
    r = f.coord.post(f"/api/v1/sessions/{f.sid}/floor/requests", json={
        "site_id": ward, "topic": "Chuyển đổi số cấp phường", "speaker_name": speaker,
        "speaker_position": "Bí thư Đảng ủy"})
    assert r.status_code == 201, r.text


def _stage(f: Floor) -> dict[str, Any]:
    body: dict[str, Any] = f.admin.get(f"/api/v1/conferences/{f.cid}/stage").json()
    return body


@pytest.mark.timeout(120)
def test_the_chair_runs_the_floor_live(
    browser: Browser, live_server: LiveServer, floor: Floor
) -> None:
    sockets: list[WebSocketRoute] = []
    page = _chair(browser, live_server.url, floor.sid, sockets)
    assert page.evaluate("getComputedStyle(document.querySelector('.chair'))"
                         ".gridTemplateColumns.split(' ').length") == 1  # one column
    _ask(floor, floor.wards[0], "Trần Văn Bình")
    _ask(floor, floor.wards[1], "Nguyễn Thị Lan")
    rows = page.locator("#queue > li")
    expect(rows).to_have_count(2)  # no reload: over the socket
    expect(rows.nth(0)).to_contain_text("Phường Bến Nghé")
    expect(rows.nth(0)).to_contain_text("Điểm cầu TP Hồ Chí Minh")
    expect(rows.nth(0)).to_contain_text("Trần Văn Bình, Bí thư Đảng ủy")
    page.select_option("#kind-filter", "commune")  # both asked from wards
    expect(rows).to_have_count(0)
    expect(page.locator("#queue-empty")).to_be_visible()
    page.select_option("#kind-filter", "")
    expect(rows).to_have_count(2)
    expect(page.locator("#conn")).to_have_text("Trực tiếp")
    _give_and_decline(page, floor)
    _questions(page, floor)
    page.click("#end")
    expect(page.locator("#no-speaker")).to_be_visible()
    assert _stage(floor)["floor"] is None
    _reconnects(page, sockets)


def _give_and_decline(page: Page, f: Floor) -> None:
    first = page.locator("#queue > li").nth(0)
    first.locator("select").select_option("120")
    first.get_by_role("button", name="Mời phát biểu").click()
    expect(page.locator("#speaker-site")).to_contain_text("Phường Bến Nghé")
    expect(page.locator("#timer .timer-label")).to_have_text("Còn lại")
    assert _stage(f)["floor"]["site_id"] == f.wards[0]
    assert _stage(f)["floor"]["limit_seconds"] == 120
    page.get_by_role("button", name="Không giới hạn").click()
    expect(page.locator("#timer .timer-label")).to_have_text("Đã nói")
    row = page.locator("#queue > li")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Từ chối", exact=True).click()
    row.get_by_role("button", name="Xác nhận từ chối").click()  # no reason yet
    expect(page.locator("#error")).to_have_text("Hãy nhập lý do từ chối.")
    row.locator("input").fill("Hết thời gian thảo luận")
    row.get_by_role("button", name="Xác nhận từ chối").click()
    expect(page.locator("#queue > li")).to_have_count(0)
    expect(page.locator("#error")).to_be_hidden()
    seen = f.coord.get(f"/api/v1/sessions/{f.sid}/floor/sites/{f.wards[1]}").json()
    assert seen[0]["status"] == "declined"
    assert seen[0]["decline_reason"] == "Hết thời gian thảo luận"


def _questions(page: Page, f: Floor) -> None:
    for text in ("Khi nào có tài liệu hướng dẫn?", "Bao giờ có tài liệu?"):
        r = f.coord.post(f"/api/v1/sessions/{f.sid}/questions",
                         json={"site_id": f.wards[0], "text": text})
        assert r.status_code == 201, r.text
    pending = page.locator("#pending > li")
    expect(pending).to_have_count(2)
    first = pending.filter(has=page.locator("p.text", has_text="Khi nào"))
    first.get_by_role("button", name="Duyệt").click()
    expect(page.locator("#approved > li")).to_have_count(1)
    second = page.locator("#pending > li")
    second.locator("select").select_option(index=1)
    second.get_by_role("button", name="Gộp").click()
    expect(page.locator("#pending > li")).to_have_count(0)
    approved = page.locator("#approved > li")
    expect(approved).to_contain_text("2 câu hỏi giống nhau")
    approved.get_by_role("button", name="Đưa lên màn hình").click()
    expect(approved.get_by_role("button", name="Gỡ khỏi màn hình")).to_be_visible()
    assert _stage(f)["question"]["text"] == "Khi nào có tài liệu hướng dẫn?"
    approved.get_by_role("button", name="Gỡ khỏi màn hình").click()
    expect(approved.get_by_role("button", name="Đưa lên màn hình")).to_be_visible()
    assert _stage(f)["question"] is None


def _reconnects(page: Page, sockets: list[WebSocketRoute]) -> None:
    """A dropped socket shows the mark, then resumes with since= (answered "resumed")."""
    before = len(sockets)
    sockets[-1].close(code=1011, reason="test")
    expect(page.locator("#conn")).to_have_text("Mất kết nối, đang thử lại…")
    expect(page.locator("#conn")).to_have_text("Trực tiếp", timeout=10_000)
    assert len(sockets) == before + 1 and "since=" in sockets[-1].url
    assert before == 3  # the first, then one per filter change: none left behind


@pytest.mark.timeout(120)
def test_the_console_floor_panel_gives_and_ends(
    browser: Browser, live_server: LiveServer, floor: Floor
) -> None:
    page = _chair(browser, live_server.url, floor.sid, [])
    page.goto(f"/sessions/{floor.sid}/console")
    expect(page.locator("#floor-conn")).to_have_text("Trực tiếp")
    _ask(floor, floor.wards[1], "Nguyễn Thị Lan")
    expect(page.locator("#floor-count")).to_have_text("1")
    page.locator("#floor-queue").get_by_role("button", name="Mời phát biểu").click()
    expect(page.locator("#floor-site")).to_have_text("Phường Sài Gòn")
    expect(page.locator("#floor-count")).to_have_text("0")
    assert _stage(floor)["floor"]["site_id"] == floor.wards[1]
    page.click("#floor-end")
    expect(page.locator("#floor-none")).to_be_visible()
    assert _stage(floor)["floor"] is None
    expect(page.get_by_role("link", name="Mở trang điều hành phát biểu")).to_have_attribute(
        "href", f"/sessions/{floor.sid}/chair")
