"""Real Chromium, as the commune official at a desk that loses its network (issue 15): the
scanner page keeps checking people in (passes verified on the device, names found in the
roster it downloaded), queues each scan with its own time, opens again from the service
worker, and sends the queue once the link returns; the server's attendance is then exact.
The headcount page does the same with its reports and the site's «Sẵn sàng» / «Báo sự cố»."""

from collections.abc import Iterator
from datetime import datetime

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select
from sqlmodel import Session

from checkin.models import Attendance
from tests.browser import PHONE, LiveServer
from tests.checkin.journeys import OFFICIAL, Morning, live_morning

pytestmark = pytest.mark.browser


@pytest.fixture
def desk(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=PHONE, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh", is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    try:
        yield context
    finally:
        context.close()


def _login(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", OFFICIAL[0])
    page.fill("input[name=password]", OFFICIAL[1])
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def _open_desk(page: Page, base: str, morning: Morning, people: int) -> None:
    """The scanner page, online: its roster downloaded and its worker in control."""
    page.goto(f"{base}/sites/{morning.ward_id}/checkin?session_id=0")
    page.wait_for_function("n => window.diemcauCheckin.rosterSize() === n", arg=people)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def _scan(page: Page, code: str) -> None:
    page.fill("#code", code)
    page.press("#code", "Enter")


def _attendance(server: LiveServer, morning: Morning) -> list[tuple[int, datetime, str]]:
    with Session(server.app.state.engine) as db:
        rows = db.execute(select(Attendance.attendee_id, Attendance.checked_in_at,  # type: ignore[call-overload]
                                 Attendance.method)
                          .where(Attendance.conference_id == morning.conference_id,
                                 Attendance.session_key == 0)).all()
    return sorted((int(r[0]), r[1], str(r[2])) for r in rows)


def test_desk_checks_in_offline_and_syncs_once_with_the_original_times(
    live_server: LiveServer, desk: BrowserContext
) -> None:
    base = live_server.url
    morning = live_morning(live_server, attendees=4)
    try:
        page = desk.new_page()
        _login(page, base)
        _open_desk(page, base, morning, 4)

        desk.set_offline(True)
        _scan(page, morning.people[0]["code"])  # the QR pass, verified on the device
        expect(page.locator("#result")).to_contain_text("Đại biểu số 1")
        expect(page.locator("#result")).to_have_attribute("data-status", "queued")
        _scan(page, morning.people[0]["code"])  # twice: known here, not queued again
        expect(page.locator("#result")).to_contain_text("Đã điểm danh lúc")
        forged = morning.people[1]["code"][:-4] + ("AAAA" if not morning.people[1]["code"]
                                                    .endswith("AAAA") else "BBBA")
        _scan(page, forged)
        expect(page.locator("#result")).to_have_attribute("data-status", "pass_bad_signature")

        page.fill("#search-q", "dai bieu so 3")  # found in the roster kept on the device
        row = page.locator("#search-results li", has_text="Đại biểu số 3")
        row.get_by_role("button", name="Điểm danh").click()
        expect(row.locator(".ci-present")).to_contain_text("Đã có mặt")
        expect(page.locator("#sync-pending")).to_have_text("2")
        expect(page.locator("#net-status")).to_have_attribute("data-state", "offline")
        offline_at = datetime.now().astimezone()

        page.reload()  # served by the service worker; the queue is still there
        expect(page.locator("#sync-pending")).to_have_text("2")
        assert _attendance(live_server, morning) == []

        page.wait_for_timeout(1500)  # the server must keep the scans' own times
        desk.set_offline(False)
        expect(page.locator("#sync-pending")).to_have_text("0")
        expect(page.locator("#sync-accepted")).to_have_text("2")
        expect(page.locator("#sync-refused")).to_have_text("0")
        rows = _attendance(live_server, morning)
        assert [r[0] for r in rows] == sorted([morning.people[0]["id"], morning.people[2]["id"]])
        assert all(r[1] < offline_at for r in rows), (rows, offline_at)
        counts = morning.http.get(f"/api/v1/conferences/{morning.conference_id}/attendance",
                                  params={"site_id": morning.ward_id}).json()
        ward = [s for s in counts["sites"] if s["site_id"] == morning.ward_id]
        assert ward[0]["checked_in"] == 2
    finally:
        morning.http.close()


def _official_id(morning: Morning, base: str) -> int:
    r = morning.http.post("/api/v1/auth/token",
                          data={"username": OFFICIAL[0], "password": OFFICIAL[1]})
    me = morning.http.get("/api/v1/auth/me",
                          headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    return int(me.json()["id"])


ROSTERS_KEPT = """() => new Promise((ok) => {
  const req = indexedDB.open("diemcau-desk");
  req.onsuccess = () => {
    const t = req.result.transaction("rosters").objectStore("rosters").count();
    t.onsuccess = () => ok(t.result);
  };
})"""


def test_desk_keeps_its_queue_through_a_lost_login_and_lists_each_refusal(
    live_server: LiveServer, desk: BrowserContext
) -> None:
    base = live_server.url
    morning = live_morning(live_server, attendees=3)
    try:
        official = _official_id(morning, base)
        page = desk.new_page()
        _login(page, base)
        _open_desk(page, base, morning, 3)
        desk.set_offline(True)
        _scan(page, morning.people[0]["code"])
        _scan(page, morning.people[1]["code"])
        expect(page.locator("#sync-pending")).to_have_text("2")
        # Meanwhile the central office takes one of them off the roster, and the desk's
        # login ends (a forced logout).
        gone = morning.http.delete(f"/api/v1/attendees/{morning.people[1]['id']}")
        assert gone.status_code == 204
        assert morning.http.post(f"/api/v1/accounts/{official}/logout").status_code == 204

        desk.set_offline(False)
        expect(page.locator("#auth-lost")).to_be_visible()
        expect(page.locator("#auth-lost a")).to_have_text("đăng nhập lại")
        expect(page.locator("#sync-pending")).to_have_text("2")
        assert _attendance(live_server, morning) == []

        # The login page forgets the names kept on the device, never the queue.
        page.goto(f"{base}/login")
        page.wait_for_function(f"async () => (await ({ROSTERS_KEPT})()) === 0")
        _login(page, base)
        page.goto(f"{base}/sites/{morning.ward_id}/checkin?session_id=0")
        expect(page.locator("#sync-pending")).to_have_text("0")
        expect(page.locator("#auth-lost")).to_be_hidden()
        expect(page.locator("#sync-accepted")).to_have_text("1")
        expect(page.locator("#sync-refused")).to_have_text("1")
        refusal = page.locator("#sync-refusals li")
        expect(refusal).to_have_count(1)
        expect(refusal).to_contain_text("Đại biểu số 2")
        expect(refusal).to_contain_text("Không tìm thấy đại biểu")
        assert [r[0] for r in _attendance(live_server, morning)] == [morning.people[0]["id"]]
    finally:
        morning.http.close()


def test_headcount_reported_offline_is_sent_when_the_link_returns(
    live_server: LiveServer, desk: BrowserContext
) -> None:
    base = live_server.url
    morning = live_morning(live_server, attendees=0)
    try:
        page = desk.new_page()
        _login(page, base)
        url = f"{base}/sites/{morning.ward_id}/headcount?session_id=0"
        page.goto(url)
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        page.reload()  # now through the worker, which keeps the page
        desk.set_offline(True)
        page.goto(url)  # opens with no network
        page.fill("input[name=dai_bieu]", "12")
        page.fill("input[name=khach_moi]", "3")
        page.click("#headcount-form button[type=submit]")
        expect(page.locator("#hc-queued")).to_contain_text("Đã lưu báo cáo trên máy này")
        expect(page.locator("#sync-pending")).to_have_text("1")

        desk.set_offline(False)
        expect(page.locator("#sync-pending")).to_have_text("0")
        expect(page.locator("#sync-accepted")).to_have_text("1")
        reports = morning.http.get(f"/api/v1/sites/{morning.ward_id}/headcounts",
                                   params={"conference_id": morning.conference_id}).json()
        assert [(r["counts"]["dai_bieu"], r["counts"]["khach_moi"]) for r in reports] == [(12, 3)]
    finally:
        morning.http.close()


def _open_headcount(page: Page, url: str) -> None:
    """The headcount page, online, then kept by the service worker that controls it."""
    page.goto(url)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.reload()


def _tap(page: Page, button: str, note: str = "") -> tuple[datetime, datetime]:
    """Tap a readiness button; the local times just before and after the tap."""
    before = datetime.now().astimezone()
    page.fill("#readiness-form input[name=note]", note)
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.locator("#rd-queued")).to_contain_text(f"Đã lưu «{button}» trên máy này")
    page.wait_for_timeout(1100)  # the next item is at least a second later
    return before, datetime.now().astimezone()


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_incident_headcount_and_ready_entered_offline_are_applied_in_order(
    live_server: LiveServer, desk: BrowserContext
) -> None:
    base = live_server.url
    morning = live_morning(live_server, attendees=0)
    try:
        page = desk.new_page()
        _login(page, base)
        url = f"{base}/sites/{morning.ward_id}/headcount?session_id=0"
        _open_headcount(page, url)
        desk.set_offline(True)
        page.goto(url)  # opens with no network; its readiness buttons with it
        incident_tap = _tap(page, "Báo sự cố", "Mất tiếng từ trung ương")
        page.fill("input[name=dai_bieu]", "18")
        page.click("#headcount-form button[type=submit]")
        expect(page.locator("#hc-queued")).to_contain_text("Đã lưu báo cáo trên máy này")
        page.wait_for_timeout(1100)
        ready_tap = _tap(page, "Sẵn sàng")
        expect(page.locator("#sync-pending")).to_have_text("3")
        incidents = f"/api/v1/conferences/{morning.conference_id}/incidents"
        assert morning.http.get(incidents).json() == []

        desk.set_offline(False)
        expect(page.locator("#sync-pending")).to_have_text("0")
        expect(page.locator("#sync-accepted")).to_have_text("3")
        expect(page.locator("#sync-refused")).to_have_text("0")
        [incident] = morning.http.get(incidents).json()
        assert incident["reason"] == "Mất tiếng từ trung ương"
        opened, resolved = _when(incident["opened_at"]), _when(incident["resolved_at"])
        assert incident_tap[0] <= opened <= incident_tap[1], (opened, incident_tap)
        # Closed by the later "ready", at the time it was tapped (not when it arrived).
        assert ready_tap[0] <= resolved <= ready_tap[1], (resolved, ready_tap)
        [report] = morning.http.get(f"/api/v1/sites/{morning.ward_id}/headcounts",
                                    params={"conference_id": morning.conference_id}).json()
        assert report["counts"]["dai_bieu"] == 18
        assert opened < _when(report["reported_at"]) < resolved  # the queue's order held
        site = morning.http.get(f"/api/v1/sites/{morning.ward_id}",
                                params={"conference_id": morning.conference_id}).json()
        assert site["readiness"] == "ready"
    finally:
        morning.http.close()


def test_readiness_posts_online_and_is_queued_when_the_post_fails(
    live_server: LiveServer, desk: BrowserContext
) -> None:
    base = live_server.url
    morning = live_morning(live_server, attendees=0)
    try:
        page = desk.new_page()
        _login(page, base)
        url = f"{base}/sites/{morning.ward_id}/headcount?session_id=0"
        _open_headcount(page, url)
        page.get_by_role("button", name="Báo sự cố", exact=True).click()  # online: the form
        expect(page.locator("#rd-current")).to_have_text("sự cố")
        expect(page.locator(".flash[role=status]").first).to_contain_text("Đã báo sự cố")
        assert "/headcount" in page.url
        [incident] = morning.http.get(
            f"/api/v1/conferences/{morning.conference_id}/incidents").json()
        assert incident["reason"] == "Điểm cầu báo sự cố" and incident["resolved_at"] is None

        # The browser says "online" but the post never reaches the server: queued.
        page.route("**/readiness**", lambda route: route.abort("internetdisconnected"))
        page.get_by_role("button", name="Sẵn sàng", exact=True).click()
        expect(page.locator("#rd-queued")).to_contain_text("Đã lưu «Sẵn sàng» trên máy này")
        page.unroute("**/readiness**")
        page.evaluate("() => window.DiemcauDesk.syncNow()")
        expect(page.locator("#sync-pending")).to_have_text("0")
        expect(page.locator("#sync-accepted")).to_have_text("1")
        site = morning.http.get(f"/api/v1/sites/{morning.ward_id}",
                                params={"conference_id": morning.conference_id}).json()
        assert site["readiness"] == "ready"
    finally:
        morning.http.close()
