"""Real Chromium at 390 px: the dashboard, the report and the badge sheet fit a phone
(issue 12, point 6); their print layouts stay the A4 ones."""

from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app.config import PROJECT_ROOT
from app.db import local_today
from tests.browser import PHONE, LiveServer
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser
LONG_NAME = "Nguyễn Thị Phương Thảo Nguyên"
WARD = "Đảng ủy phường Bến Nghé, quận Một cũ"
SCREENSHOT = PROJECT_ROOT / "docs" / "screenshots" / "dashboard-phone.png"  # for the README


@dataclass
class Arranged:
    conference_id: int
    ward_id: int


def _arrange(server: LiveServer) -> Arranged:
    """A conference live today: a province hub with a long-named ward of two attendees,
    one checked in, and a commune."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        r = http.post("/api/v1/auth/token",
                      data={"username": "admin", "password": ADMIN_PASSWORD})
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        today = local_today().isoformat()
        cid = http.post("/api/v1/conferences", json={
            "title": "Hội nghị quán triệt, triển khai thực hiện Nghị quyết Trung ương",
            "starts_on": today, "ends_on": today}).json()["id"]

        def site(name: str, kind: str, parent: int | None, expected: int) -> int:
            r = http.post(f"/api/v1/conferences/{cid}/sites", json={
                "name": name, "kind": kind, "parent_id": parent, "expected_attendees": expected})
            assert r.status_code == 201, r.text
            return int(r.json()["id"])

        hub = site("Thành phố Hồ Chí Minh", "hub", None, 10)
        ward = site(WARD, "ward", hub, 40)
        site("Đặc khu Côn Đảo", "special_zone", hub, 60)
        people = http.post(f"/api/v1/conferences/{cid}/attendees", json=[
            {"full_name": LONG_NAME, "site_id": ward, "position": "Phó Bí thư Thường trực",
             "unit": "Đảng ủy phường Bến Nghé"},
            {"full_name": "Trần Văn Bình", "site_id": ward},
        ]).json()
        r = http.post("/api/v1/checkins", json={"code": people[0]["code"], "site_id": ward})
        assert r.status_code == 201, r.text
        return Arranged(cid, ward)


def _login(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/conferences")


def _fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


# For each word of an element's text: on how many lines it lies, and on which line.
_LINES = """(el) => {
  const tops = new Set(); let split = [];
  const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node = walk.nextNode(); node; node = walk.nextNode()) {
    for (const m of node.data.matchAll(/\\S+/g)) {
      const r = document.createRange();
      r.setStart(node, m.index); r.setEnd(node, m.index + m[0].length);
      const rects = [...r.getClientRects()].filter(x => x.width > 0);
      const rows = new Set(rects.map(x => Math.round(x.top)));
      if (rows.size > 1) split.push(m[0]);
      rows.forEach(t => tops.add(t));
    }
  }
  return {lines: tops.size, split};
}"""


def _words_whole(page: Page, selector: str, max_lines: int) -> None:
    """No word of the element is broken across lines, and it takes at most `max_lines`."""
    found = page.locator(selector).evaluate(_LINES)
    assert found["split"] == [], f"{selector}: words broken across lines {found['split']}"
    assert found["lines"] <= max_lines, f"{selector}: {found['lines']} lines"


def _inside(page: Page, selector: str, text: str) -> None:
    """The element shows `text` and lies wholly inside the phone's width."""
    cell = page.locator(selector)
    expect(cell).to_be_visible()
    expect(cell).to_contain_text(text)
    box = cell.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


def test_dashboard_rows_are_cards_on_a_phone(
    live_server: LiveServer, phone: BrowserContext
) -> None:
    arranged = _arrange(live_server)
    page = phone.new_page()
    _login(page, live_server.url)
    page.goto(f"{live_server.url}/conferences/{arranged.conference_id}/dashboard")
    ward = f"#rows tr:has-text('{WARD}')"
    expect(page.locator(ward)).to_have_count(1)
    _fits(page)
    _inside(page, f"{ward} td:nth-child(5)", "1 / 40")  # Có mặt / dự kiến
    _inside(page, f"{ward} td:nth-child(6)", "2,5%")  # Tỷ lệ
    _words_whole(page, f"{ward} td:nth-child(5)", 1)
    _words_whole(page, f"{ward} td:first-child", 2)
    page.screenshot(path=str(SCREENSHOT), full_page=True, animations="disabled", caret="hide")


def test_report_fits_a_phone_and_prints_every_column(
    live_server: LiveServer, phone: BrowserContext
) -> None:
    arranged = _arrange(live_server)
    page = phone.new_page()
    _login(page, live_server.url)
    page.goto(f"{live_server.url}/conferences/{arranged.conference_id}/report")
    _fits(page)
    _inside(page, "#groups tfoot td:nth-child(5)", "110")  # Dự kiến
    _inside(page, "#groups tfoot td:nth-child(8)", "1")  # Có mặt
    _inside(page, "#groups tfoot td:nth-child(9)", "0,9%")  # Tỷ lệ
    for hidden in (1, 3, 4, 6, 7):  # STT, site counts, Điểm danh, Báo cáo: not on a phone
        expect(page.locator(f"#groups tfoot td:nth-child({hidden})")).to_be_hidden()
    _inside(page, f".report-group tr:has-text('{WARD}') td:nth-child(9)", "2,5%")
    _words_whole(page, f".report-group tr:has-text('{WARD}') td:nth-child(2)", 3)
    expect(page.locator("#phone-note")).to_be_visible()

    page.emulate_media(media="print")  # the A4 printout keeps all its columns
    expect(page.locator("#groups thead th")).to_have_count(9)
    for i in range(1, 10):
        expect(page.locator(f"#groups thead th:nth-child({i})")).to_be_visible()
    expect(page.locator(".report-group thead th:nth-child(10)")).to_be_visible()
    expect(page.locator("#phone-note")).to_be_hidden()


def test_badge_sheet_reads_on_a_phone_and_prints_two_by_four(
    live_server: LiveServer, phone: BrowserContext
) -> None:
    arranged = _arrange(live_server)
    page = phone.new_page()
    _login(page, live_server.url)
    page.goto(f"{live_server.url}/sites/{arranged.ward_id}/badges"
              f"?conference_id={arranged.conference_id}")
    _fits(page)
    card = page.locator(".badge-card").filter(has_text=LONG_NAME)
    _words_whole(page, f".badge-card:has-text('{LONG_NAME}') .name", 3)
    _words_whole(page, f".badge-card:has-text('{LONG_NAME}') .conf", 3)
    expect(card.locator(".short-code")).to_be_visible()

    page.emulate_media(media="print")  # A4: two badges of 105 mm side by side
    first, second = (page.locator(".badge-card").nth(i).bounding_box() for i in (0, 1))
    assert first is not None and second is not None
    assert abs(first["width"] - 105 * 96 / 25.4) < 3, first
    assert abs(first["y"] - second["y"]) < 1 and second["x"] > first["x"] + 300
