"""Real Chromium: the dashboard follows a check-in made through the API, a site goes
offline when its screen closes (presence timeouts shortened through settings), and a
site's offline queue shows as its return, its check-ins at the times they were scanned."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect

from app.config import PROJECT_ROOT
from app.db import local_today, utcnow
from app.main import create_app
from app.templating import LOCAL_TZ
from tests.browser import PHONE, LiveServer, _free_port, _wait_healthy
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


CHART_TEXTS = """() => {
  const svg = document.querySelector("#arrivals svg");
  const width = svg.viewBox.baseVal.width;
  return [...svg.querySelectorAll("text")].map((t) => {
    const box = t.getBBox();
    return { text: t.textContent, left: box.x, right: box.x + box.width, width };
  });
}"""


def _latest(ticks: list[dict[str, Any]]) -> str:
    """The latest HH:MM of the chart's ticks, counted from its first (the chart may span
    local midnight: 23:56 comes before 00:08)."""
    def minutes(label: str) -> int:
        hours, mins = label.split(":")
        return int(hours) * 60 + int(mins)

    first = minutes(ticks[0]["text"])
    return str(max(ticks, key=lambda t: (minutes(t["text"]) - first) % 1440)["text"])


def test_commune_official_reads_plain_words_on_a_phone(
    live_server: LiveServer, browser: Browser
) -> None:
    """A ward's coordinator on a phone: the readiness list says "15 phút trước giờ họp"
    (not "T-15"), the chart's last time label is whole, and a page of another site
    leads with a sentence, the stable code only in small print."""
    base = live_server.url
    http = httpx.Client(base_url=base, timeout=30)
    cid, _hub, ward, people = _arrange(http)
    island = next(s["id"] for s in http.get(f"/api/v1/conferences/{cid}/sites").json()
                  if s["kind"] == "special_zone")
    r = http.post(f"/api/v1/sites/{ward}/coordinators", json={
        "username": "bennghe", "password": "ben-nghe-password-1", "full_name": "Lê Văn Tâm"})
    assert r.status_code == 201, r.text
    r = http.post("/api/v1/checkins", json={"code": people[0]["code"], "site_id": ward})
    assert r.status_code == 201, r.text
    http.close()
    context = browser.new_context(viewport=PHONE, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh", is_mobile=True)
    try:
        phone = context.new_page()
        _login_as(phone, base, "bennghe", "ben-nghe-password-1")
        phone.goto(f"{base}/conferences/{cid}/dashboard")
        expect(phone.locator("#arrivals svg rect")).to_have_count(1)
        body = phone.locator("main").inner_text()
        assert "Chưa sẵn sàng 15 phút trước giờ họp" in body and "T-15" not in body
        texts = phone.evaluate(CHART_TEXTS)
        assert _latest(texts[2:]) == texts[-1]["text"]  # the latest minute is last
        for t in texts:
            assert t["left"] >= 0 and t["right"] <= t["width"], t

        response = phone.goto(f"{base}/sites/{island}/checkin?conference_id={cid}")
        assert response is not None and response.status == 403
        card = phone.locator("section.error-page")
        lead = card.locator(".lead")
        expect(lead).to_be_visible()
        assert "site_out_of_scope" not in lead.inner_text()
        code = card.locator(".error-code")
        expect(code.locator("code")).to_have_text("site_out_of_scope")
        size = "e => parseFloat(getComputedStyle(e).fontSize)"
        assert code.evaluate(size) < 0.8 * lead.evaluate(size)
        # The sentence comes before the code, in reading order.
        text = card.inner_text()
        assert text.index(lead.inner_text()) < text.index("site_out_of_scope")
    finally:
        context.close()


def _login_as(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def _scan_times() -> tuple[datetime, datetime]:
    """Two scans of a cut that began 40 minutes ago (today's, even just after midnight)."""
    now = utcnow()
    midnight = datetime.combine(local_today(), time_of_day(), tzinfo=LOCAL_TZ)
    first = max(now - timedelta(minutes=40), midnight.astimezone(UTC))
    return first, first + timedelta(seconds=61)


def test_dashboard_shows_a_sites_return_and_places_its_check_ins_back_in_time(
    fast_server: LiveServer, page: Page
) -> None:
    """A ward that checked two people in offline sends its queue: the row and the list of
    returns say "đồng bộ 2 lượt điểm danh lúc …", live and after a reload, and the chart
    puts the check-ins in the minutes they were scanned, not now."""
    base = fast_server.url
    http = httpx.Client(base_url=base, timeout=30)
    cid, _hub, ward, people = _arrange(http)
    _login(page, base)
    page.goto(f"{base}/conferences/{cid}/dashboard")
    expect(page.locator("#conn")).to_have_text("Đang cập nhật trực tiếp")
    expect(page.locator("#syncs")).to_contain_text("Chưa có điểm cầu nào đồng bộ")

    times = _scan_times()
    r = http.post(f"/api/v1/sites/{ward}/sync", json={"device": "Bàn 1", "items": [
        {"kind": "scan", "nonce": f"ben-nghe-{n}", "at": at.isoformat(),
         "code": person["code"], "session_id": None, "method": "scan"}
        for n, (at, person) in enumerate(zip(times, people, strict=True))]})
    assert r.status_code == 200, r.text
    assert [x["outcome"] for x in r.json()["results"]] == ["accepted", "accepted"]
    synced_at = datetime.fromisoformat(r.json()["synced_at"])

    def clock(at: datetime) -> str:
        return at.astimezone(LOCAL_TZ).strftime("%H:%M")

    line = (f"đồng bộ 2 lượt điểm danh lúc {clock(synced_at)} (ghi từ {clock(times[0])})")
    row = page.locator(f'tr[data-site="{ward}"]')
    expect(page.locator("#t-checked")).to_have_text("2")
    expect(row.locator(".sync-note")).to_have_text(line)
    expect(page.locator("#syncs li")).to_have_text(f"Phường Bến Nghé: {line}")
    titles = page.locator("#arrivals svg rect title")
    expect(titles).to_have_count(2)
    # "09:01: 1 lượt": in the minutes scanned.
    assert [t[:5] for t in titles.all_text_contents()] == [clock(at) for at in times]

    page.reload()  # from the offline_sync table now
    expect(page.locator("#conn")).to_have_text("Đang cập nhật trực tiếp")
    expect(row.locator(".sync-note")).to_have_text(line)
    expect(page.locator("#syncs li")).to_have_text(f"Phường Bến Nghé: {line}")
    expect(page.locator("#arrivals svg rect title")).to_have_count(2)
    http.close()
