"""The floor in Chromium (the issue's "done means" 2): a coordinator asks on a phone, the
chair gives the floor, two site screens show the banner and a running timer (the
speaking site's own screen says so), a time limit counts down, the chair ends it and
the screens clear; a screen whose connection drops shows the current speaker, overtime
marked, without a reload; a follow page shows the banner too."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.db import create_db_engine, utcnow
from sessions import floor
from sessions.floor_models import FloorRequest
from tests.browser import PHONE
from tests.conftest import ADMIN_PASSWORD
from tests.sessions.test_screen_browser import TODAY, RestartableServer

pytestmark = pytest.mark.browser
SITE_A, SITE_B = "Phường Bến Nghé", "Xã Cần Giờ"
# Screen B's projector PC runs two hours fast: its timer must still start at 00:00.
SKEWED_CLOCK = "(() => { const real = Date.now; Date.now = () => real() + 7200000; })();"


@dataclass
class World:
    http: httpx.Client
    sid: int
    site_a: int
    site_b: int
    screens: dict[int, str]  # site -> screen token
    follow: str


@pytest.fixture
def server(sqlite_url: str, tmp_path: Any) -> Iterator[RestartableServer]:
    srv = RestartableServer(sqlite_url, str(tmp_path / "var"))
    srv.start()
    yield srv
    srv.stop()


def _world(base: str) -> World:
    http = httpx.Client(base_url=base, timeout=30)
    r = http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    cid = http.post("/api/v1/conferences", json={
        "title": "Hội nghị tập huấn AI", "starts_on": TODAY, "ends_on": TODAY}).json()["id"]
    a, b = (http.post(f"/api/v1/conferences/{cid}/sites", json={"name": name, "kind": "ward"}
                      ).json()["id"] for name in (SITE_A, SITE_B))
    http.post(f"/api/v1/sites/{a}/coordinators", json={
        "username": "benghe", "password": "benghe-password", "full_name": "Lê Thị Hồng"})
    sid = http.post(f"/api/v1/conferences/{cid}/sessions", json={
        "title": "Phiên thảo luận", "starts_at": f"{TODAY}T00:01:00+07:00",
        "ends_at": f"{TODAY}T23:59:00+07:00"}).json()["id"]
    item = http.post(f"/api/v1/sessions/{sid}/agenda", json={"title": "Thảo luận"}).json()["id"]
    assert http.put(f"/api/v1/sessions/{sid}/state",
                    json={"agenda_item_id": item}).status_code == 200
    screens = {s: http.post(f"/api/v1/sites/{s}/screen-token").json()["token"] for s in (a, b)}
    follow = http.get(f"/api/v1/conferences/{cid}/follow-link").json()["url"]
    return World(http, sid, a, b, screens, follow)


def _screen(browser: Browser, url: str, token: str, *, skewed: bool = False) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh")
    if skewed:
        context.add_init_script(SKEWED_CLOCK)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{url}/screen#token={token}")
    expect(page.locator("#status")).to_have_text("Đã kết nối")
    page.evaluate("window.__sameDocument = true")
    return page


def _ask_on_phone(phone: BrowserContext, base: str, site: int) -> Page:
    page = phone.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "benghe")
    page.fill("input[name=password]", "benghe-password")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{base}/sites/{site}/floor")
    page.fill("#topic", "Kinh nghiệm chuyển đổi số ở phường")
    page.fill("#speaker_name", "Trần Văn Bình")
    page.fill("#speaker_position", "Bí thư Đảng ủy")
    page.click("#ask")
    expect(page.locator("#status")).to_have_text("Đang chờ — thứ 1 trong hàng đợi")
    expect(page.locator("#ask")).to_have_text("Cập nhật đăng ký")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the floor page is {width} px wide on a phone"
    return page


def _timer_runs(page: Page) -> str:
    """The timer's text, after checking that it changes by itself."""
    before = page.locator("#floor-timer").inner_text()
    page.wait_for_function("t => document.getElementById('floor-timer').textContent !== t",
                           arg=before, timeout=4_000)
    return page.locator("#floor-timer").inner_text()


def _shows_speaker(page: Page, site: str, *, own: bool) -> None:
    expect(page.locator("#floor")).to_be_visible()
    expect(page.locator("#floor-site")).to_have_text(site)
    own_line = expect(page.locator("#floor-own"))
    if own:
        own_line.to_have_text("Điểm cầu của bạn đang phát biểu")
        own_line.to_be_visible()
    else:
        own_line.to_be_hidden()


def _request_of(w: World, site: int) -> int:
    state = w.http.get(f"/api/v1/sites/{site}/floor").json()
    return int(state["request"]["id"])


def test_a_site_asks_on_a_phone_and_every_screen_shows_the_speaker(
    server: RestartableServer, browser: Browser, phone: BrowserContext
) -> None:
    w = _world(server.url)
    screen_a = _screen(browser, server.url, w.screens[w.site_a])
    screen_b = _screen(browser, server.url, w.screens[w.site_b], skewed=True)
    follow = phone.browser.new_context(viewport=PHONE, locale="vi-VN").new_page()  # type: ignore[union-attr]
    follow.goto(w.follow)
    expect(follow.locator("#status")).to_have_text("Trực tiếp")
    coordinator = _ask_on_phone(phone, server.url, w.site_a)
    for page in (screen_a, screen_b, follow):
        expect(page.locator("#floor")).to_be_hidden()

    r = w.http.post(f"/api/v1/floor/requests/{_request_of(w, w.site_a)}/give", json={})
    assert r.status_code == 200, r.text
    _shows_speaker(screen_a, SITE_A, own=True)
    _shows_speaker(screen_b, SITE_A, own=False)
    for page in (screen_a, screen_b):
        expect(page.locator("#floor-speaker")).to_have_text("Trần Văn Bình, Bí thư Đảng ủy")
        expect(page.locator("#floor-topic")).to_have_text("Kinh nghiệm chuyển đổi số ở phường")
        assert re.fullmatch(r"00:0\d", _timer_runs(page)), "counts up from the server's time"
    expect(follow.locator("#floor-site")).to_have_text(SITE_A)
    assert re.fullmatch(r"00:\d\d", _timer_runs(follow))
    expect(coordinator.locator("#status")).to_have_text("Điểm cầu của bạn đang phát biểu",
                                                        timeout=10_000)

    assert w.http.put(f"/api/v1/sessions/{w.sid}/floor/limit",
                      json={"limit_seconds": 120}).status_code == 200
    for page in (screen_a, screen_b):
        expect(page.locator("#floor")).to_have_class(re.compile(r"\bcountdown\b"))
        assert re.fullmatch(r"01:5\d", _timer_runs(page)), "counts down from 02:00"

    assert w.http.post(f"/api/v1/sessions/{w.sid}/floor/end").status_code == 200
    for page in (screen_a, screen_b, follow):
        expect(page.locator("#floor")).to_be_hidden()
    for page in (screen_a, screen_b):
        assert page.evaluate("window.__sameDocument") is True  # never reloaded
    w.http.close()


def _give_while_down(server: RestartableServer, request_id: int) -> None:
    """The chair gives the floor while the screens are cut off (straight in the database),
    with a 30-second limit the speaker has already passed."""
    engine = create_db_engine(server.settings.database_url)
    with Session(engine) as db:
        admin = accounts_service.authenticate(db, username="admin", password=ADMIN_PASSWORD)
        floor.give(db, request_id=request_id, limit_seconds=30, actor=admin,
                   publish=lambda channel, message: None)
        req = db.get(FloorRequest, request_id)
        assert req is not None and req.started_at is not None
        req.started_at = utcnow() - timedelta(seconds=45)
        db.add(req)
        db.commit()
    engine.dispose()


def test_a_screen_that_reconnects_shows_the_current_speaker_without_a_reload(
    server: RestartableServer, browser: Browser
) -> None:
    w = _world(server.url)
    screens = [_screen(browser, server.url, w.screens[s]) for s in (w.site_a, w.site_b)]
    r = w.http.post(f"/api/v1/sessions/{w.sid}/floor/requests", json={
        "site_id": w.site_b, "topic": "Đề xuất", "speaker_name": "Phạm Thị Lan"})
    assert r.status_code == 201, r.text
    server.stop()  # every socket drops; the chair gives the floor meanwhile
    for page in screens:
        expect(page.locator("#status")).to_have_text("Mất kết nối, đang thử lại…")
    _give_while_down(server, int(r.json()["id"]))
    server.start()
    _shows_speaker(screens[0], SITE_B, own=False)
    _shows_speaker(screens[1], SITE_B, own=True)
    for page in screens:
        expect(page.locator("#floor")).to_have_class(re.compile(r"\bovertime\b"))
        assert re.fullmatch(r"Quá giờ \+00:1\d", _timer_runs(page))
        assert page.evaluate("window.__sameDocument") is True  # never reloaded
    w.http.close()


def test_an_attendee_sends_a_question_from_the_follow_page_with_the_remembered_code(
    server: RestartableServer, browser: Browser
) -> None:
    w = _world(server.url)
    cid = w.http.get(f"/api/v1/sessions/{w.sid}").json()["conference_id"]
    made = w.http.post(f"/api/v1/conferences/{cid}/attendees", json=[
        {"full_name": "Nguyễn Văn An", "site_id": w.site_a}]).json()[0]
    context = browser.new_context(viewport=PHONE, locale="vi-VN", is_mobile=True)
    # The self check-in page remembered the pass code on this phone.
    context.add_init_script(f"localStorage.setItem('diemcau.pass.code', '{made['short_code']}')")
    page = context.new_page()
    page.goto(w.follow)
    expect(page.locator("#ask-code")).to_have_value(made["short_code"])
    expect(page.locator("#ask-code-hint")).to_be_visible()
    page.fill("#ask-text", "Khi nào có tài liệu của phiên thảo luận?")
    page.click("#ask-send")
    expect(page.locator("#ask-result")).to_have_text(
        "Đã gửi câu hỏi; câu hỏi chờ Ban tổ chức duyệt.")
    page.fill("#ask-code", "ABCD-EFGH")
    page.fill("#ask-text", "Câu hỏi thứ hai")
    page.click("#ask-send")
    expect(page.locator("#ask-result")).to_contain_text("Mã cá nhân không đúng")
    queue = w.http.get(f"/api/v1/sessions/{w.sid}/floor").json()
    assert [(q["text"], q["site_id"]) for q in queue["questions"]] == [
        ("Khi nào có tài liệu của phiên thảo luận?", w.site_a)]
    context.close()
    w.http.close()
