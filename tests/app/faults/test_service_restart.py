"""The whole service restarted mid-event (`diemcau serve --workers 2`, Redis broker,
PostgreSQL): the screen, the follow page and the dashboard in real Chromium reconnect by
themselves and show the current state within 5 s of the return, without a reload; the
presenter carries on from where the stage was."""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from app.db import local_today
from tests.app.faults.serving import Served, admin_client, redis_url, serve_env, served
from tests.conftest import ADMIN_PASSWORD
from tests.sessions.support import make_pdf

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
BACK_WITHIN_MS = 5_000


@dataclass
class Event:
    http: httpx.Client
    conference_id: int
    site_id: int
    session_id: int
    item_id: int
    screen_token: str
    follow_path: str
    codes: list[str]


def _arrange(http: httpx.Client) -> Event:
    """Today's conference: a hub, a ward of two attendees, a session with a 3-page deck."""
    today = local_today().isoformat()
    cid = http.post("/api/v1/conferences", json={
        "title": "Hội nghị tập huấn AI", "starts_on": today, "ends_on": today}).json()["id"]
    hub = http.post(f"/api/v1/conferences/{cid}/sites", json={
        "name": "Thành phố Hồ Chí Minh", "kind": "hub", "expected_attendees": 10}).json()["id"]
    site = http.post(f"/api/v1/conferences/{cid}/sites", json={
        "name": "Phường Bến Nghé", "kind": "ward", "parent_id": hub,
        "expected_attendees": 4}).json()["id"]
    people = http.post(f"/api/v1/conferences/{cid}/attendees", json=[
        {"full_name": "Nguyễn Văn An", "site_id": site},
        {"full_name": "Trần Thị Bình", "site_id": site}]).json()
    sid = http.post(f"/api/v1/conferences/{cid}/sessions", json={
        "title": "Phiên khai mạc", "starts_at": f"{today}T08:00",
        "ends_at": f"{today}T11:30"}).json()["id"]
    item = http.post(f"/api/v1/sessions/{sid}/agenda", json={
        "title": "Ứng dụng AI trong công tác Đảng", "kind": "talk"}).json()["id"]
    r = http.post(f"/api/v1/agenda-items/{item}/deck",
                  files={"file": ("bai.pdf", make_pdf(3), "application/pdf")})
    assert r.status_code == 201, r.text
    token = http.post(f"/api/v1/sites/{site}/screen-token").json()["token"]
    follow = http.get(f"/api/v1/conferences/{cid}/follow-link").json()["url"]
    return Event(http, cid, site, sid, item, token, "/" + follow.split("/", 3)[3],
                 [p["short_code"] for p in people])


def _move(http: httpx.Client, session_id: int, **state: Any) -> int:
    r = http.put(f"/api/v1/sessions/{session_id}/state", json=state)
    assert r.status_code == 200, r.text
    return int(r.json()["version"])


def _check_in(event: Event, code: str) -> None:
    r = event.http.post("/api/v1/checkins", json={"code": code, "site_id": event.site_id})
    assert r.status_code == 201, r.text


@pytest.fixture
def service(fresh_pg: str, tmp_path: Path) -> Iterator[Served]:
    with served(serve_env(fresh_pg, redis_url()), tmp_path, workers=2) as server:
        yield server


def _open(browser: Browser, url: str, login: str | None = None) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    page.set_default_timeout(15_000)
    if login is not None:
        page.goto(f"{login}/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{login}/conferences")
    page.goto(url)
    return page


def test_every_page_reconnects_by_itself_after_the_whole_service_restarts(
    service: Served, browser: Browser
) -> None:
    with admin_client(service.url) as http:
        event = _arrange(http)
        version = _move(http, event.session_id, agenda_item_id=event.item_id, slide=1)
        _check_in(event, event.codes[0])
        screen = _open(browser, f"{service.url}/screen#token={event.screen_token}")
        follow = _open(browser, service.url + event.follow_path)
        # session_id=0: the whole conference, whichever session the check-ins count for.
        board = _open(browser, f"{service.url}/conferences/{event.conference_id}"
                      "/dashboard?session_id=0", login=service.url)
        for page in (screen, follow):
            expect(page.locator("body")).to_have_attribute("data-version", str(version))
        expect(screen.locator("#slide-no")).to_have_text("Trang 1 / 3")
        expect(board.locator("#conn")).to_have_text("Đang cập nhật trực tiếp")
        expect(board.locator("#t-checked")).to_have_text("1")
        for page in (screen, follow, board):
            page.evaluate("window.__beforeRestart = true")  # gone if the page reloads

        service.stop()  # every worker
        expect(screen.locator("#status")).to_have_text("Mất kết nối, đang thử lại…")
        expect(board.locator("#conn")).to_contain_text("Mất kết nối")
        time.sleep(1)  # the pages back off while nothing answers
        service.start()
        back = time.monotonic()

        # The presenter's next command works and the stage carries on from slide 1.
        after = _move(http, event.session_id, slide=2)
        assert after == version + 1
        _check_in(event, event.codes[1])

        def left() -> int:
            """Milliseconds left of the 5 s since the service answered again."""
            return max(1, int(BACK_WITHIN_MS - (time.monotonic() - back) * 1000))

        for page in (screen, follow):
            expect(page.locator("body")).to_have_attribute("data-version", str(after),
                                                           timeout=left())
        expect(screen.locator("#slide-no")).to_have_text("Trang 2 / 3", timeout=left())
        expect(follow.locator("#status")).to_have_text("Trực tiếp", timeout=left())
        expect(board.locator("#t-checked")).to_have_text("2", timeout=left())
        expect(board.locator("#conn")).to_have_text("Đang cập nhật trực tiếp", timeout=left())
        assert time.monotonic() - back < BACK_WITHIN_MS / 1000
        for page in (screen, follow, board):
            assert page.evaluate("window.__beforeRestart") is True, page.url  # no reload
