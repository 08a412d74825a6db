"""A real site screen in Chromium follows the presenter and survives a dropped connection."""

import io
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pypdfium2 as pdfium
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from app.db import create_db_engine, local_today
from app.main import create_app
from endpoints import service as endpoints_service
from endpoints.models import Conference
from tests.browser import _free_port, _wait_healthy
from tests.conftest import ADMIN_PASSWORD, make_settings

pytestmark = pytest.mark.browser
TODAY = local_today().isoformat()


class RestartableServer:
    """The app under uvicorn on a fixed port, which the test can stop and start again."""

    def __init__(self, database_url: str, data_dir: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = make_settings(database_url, data_dir=data_dir)
        self._server: uvicorn.Server | None = None
        self.app: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.app = create_app(self.settings)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws_per_message_deflate=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        _wait_healthy(self.url, self._thread)

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=15)


@pytest.fixture
def server(sqlite_url: str, tmp_path: Any) -> Iterator[RestartableServer]:
    srv = RestartableServer(sqlite_url, str(tmp_path / "var"))
    srv.start()
    yield srv
    srv.stop()


def _pdf(pages: int) -> bytes:
    doc = pdfium.PdfDocument.new()
    for _ in range(pages):
        doc.new_page(960, 540)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _prepare(base: str) -> tuple[httpx.Client, int, int, str]:
    http = httpx.Client(base_url=base, timeout=30)
    r = http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    cid = http.post(
        "/api/v1/conferences",
        # Today: a screen follows the conference live at its site.
        json={"title": "Hội nghị tập huấn AI", "starts_on": TODAY, "ends_on": TODAY},
    ).json()["id"]
    site = http.post(
        f"/api/v1/conferences/{cid}/sites", json={"name": "Phường Bến Nghé", "kind": "ward"}
    ).json()["id"]
    sid = http.post(
        f"/api/v1/conferences/{cid}/sessions",
        json={
            "title": "Phiên khai mạc",
            "starts_at": "2025-09-09T01:00:00Z",
            "ends_at": "2025-09-09T03:00:00Z",
        },
    ).json()["id"]
    item = http.post(
        f"/api/v1/sessions/{sid}/agenda",
        json={
            "title": "Ứng dụng AI trong công tác Đảng",
            "kind": "talk",
            "speaker": "TS. Nguyễn An",
        },
    ).json()["id"]
    r = http.post(
        f"/api/v1/agenda-items/{item}/deck",
        files={"file": ("bai-giang.pdf", _pdf(6), "application/pdf")},
    )
    assert r.status_code == 201, r.text
    token = http.post(f"/api/v1/sites/{site}/screen-token").json()["token"]
    return http, sid, item, token


def _move(http: httpx.Client, session_id: int, **state: Any) -> int:
    r = http.put(f"/api/v1/sessions/{session_id}/state", json=state)
    assert r.status_code == 200, r.text
    return int(r.json()["version"])


def _shows(page: Page, version: int, slide: int) -> None:
    expect(page.locator("body")).to_have_attribute("data-version", str(version), timeout=5_000)
    expect(page.locator("#slide")).to_have_attribute("alt", f"Trang {slide}")
    expect(page.locator("#slide-no")).to_have_text(f"Trang {slide} / 6")


def test_screen_follows_slides_and_recovers_after_connection_drop(
    server: RestartableServer,
    browser: Browser,
) -> None:
    http, sid, item, token = _prepare(server.url)
    v = _move(http, sid, agenda_item_id=item, slide=1)
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="vi-VN")
    page = context.new_page()
    try:
        page.goto(f"{server.url}/screen#token={token}")
        _shows(page, v, 1)
        expect(page.locator("#item")).to_have_text("Ứng dụng AI trong công tác Đảng")
        expect(page.locator("#status")).to_have_text("Đã kết nối")
        page.evaluate("window.__sameDocument = true")
        assert "token" not in page.url  # the secret left the address bar

        for slide in (2, 3, 4):
            started = time.monotonic()
            v = _move(http, sid, slide=slide)
            _shows(page, v, slide)
            assert time.monotonic() - started < 1.0, "a screen must follow within a second"

        # Cut the connection: the server goes away, the presenter moves on meanwhile.
        server.stop()
        expect(page.locator("#status")).to_have_text("Mất kết nối, đang thử lại…")
        server.start()
        v = _move(http, sid, slide=5, notice="Các điểm cầu giữ trật tự")
        _shows(page, v, 5)
        expect(page.locator("#notice")).to_have_text("Các điểm cầu giữ trật tự")
        expect(page.locator("#status")).to_have_text("Đã kết nối")
        assert page.evaluate("window.__sameDocument") is True  # never reloaded
    finally:
        context.close()
        http.close()


def test_screen_with_bad_token_offers_pairing(
    server: RestartableServer,
    browser: Browser,
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    try:
        page.goto(f"{server.url}/screen#token=scr_forged")
        expect(page.locator("#unpaired")).to_be_visible(timeout=5_000)
        expect(page.locator("#unpaired a")).to_have_attribute("href", "/screen/pair")
    finally:
        context.close()


def test_projector_pairs_with_code_from_coordinator_phone(
    server: RestartableServer,
    browser: Browser,
) -> None:
    http, sid, item, _ = _prepare(server.url)
    v = _move(http, sid, agenda_item_id=item, slide=2)
    conference_id = http.get("/api/v1/conferences").json()[0]["id"]
    sites = http.get(f"/api/v1/conferences/{conference_id}/sites").json()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    projector = browser.new_context(viewport={"width": 1280, "height": 720}, locale="vi-VN")
    try:
        coordinator = phone.new_page()
        coordinator.goto(f"{server.url}/login")
        coordinator.fill("input[name=username]", "admin")
        coordinator.fill("input[name=password]", ADMIN_PASSWORD)
        coordinator.click("button[type=submit]")
        coordinator.wait_for_url(f"{server.url}/conferences")
        coordinator.goto(f"{server.url}/sites/{sites[0]['id']}/screens")
        coordinator.get_by_role("button", name="Tạo mã ghép nối").click()
        code = coordinator.locator("[data-testid=pairing-code]").inner_text()

        screen = projector.new_page()
        screen.goto(f"{server.url}/screen/pair")
        screen.fill("#code", code)
        screen.click("button[type=submit]")
        screen.wait_for_url(f"{server.url}/screen")
        _shows(screen, v, 2)

        # Presence is written in batches every 10 s: the list shows the screen online after that.
        deadline = time.monotonic() + 20
        while coordinator.locator("text=trực tuyến").count() == 0:
            assert time.monotonic() < deadline, "the paired screen never showed as online"
            coordinator.wait_for_timeout(1000)
            coordinator.reload()
    finally:
        phone.close()
        projector.close()
        http.close()


def _next_conference(server: RestartableServer, http: httpx.Client) -> int:
    """Conference A is over; B, in five days, invites the same site (no new pairing)."""
    today = local_today()
    cid = http.get("/api/v1/conferences").json()[0]["id"]
    site = http.get(f"/api/v1/conferences/{cid}/sites").json()[0]["id"]
    day = (today + timedelta(days=5)).isoformat()
    b = http.post(
        "/api/v1/conferences", json={"title": "Hội nghị quý I", "starts_on": day, "ends_on": day}
    ).json()["id"]
    r = http.post(f"/api/v1/conferences/{b}/sessions", json={
        "title": "Khai mạc", "starts_at": f"{day}T01:30:00Z", "ends_at": f"{day}T04:00:00Z"})
    assert r.status_code == 201, r.text
    _set_dates(server, cid, today - timedelta(days=1))
    engine = create_db_engine(server.settings.database_url)
    with Session(engine) as db:
        site_row = endpoints_service.load_site(db, site)
        endpoints_service.invite_site(db, conference_id=b, site=site_row)
        db.commit()
    engine.dispose()
    return int(b)


def _set_dates(server: RestartableServer, conference_id: int, day: date) -> None:
    engine = create_db_engine(server.settings.database_url)
    with Session(engine) as db:
        conference = db.get(Conference, conference_id)
        assert conference is not None
        conference.starts_on = conference.ends_on = day
        db.add(conference)
        db.commit()
    engine.dispose()


def test_screen_waits_between_conferences_then_follows_the_next(
    server: RestartableServer,
    browser: Browser,
) -> None:
    server.app.state.screen_recheck_seconds = 0.2
    http, _, _, token = _prepare(server.url)
    b = _next_conference(server, http)
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="vi-VN")
    page = context.new_page()
    try:
        page.goto(f"{server.url}/screen#token={token}")
        expect(page.locator("body")).to_have_attribute("data-mode", "waiting", timeout=5_000)
        expect(page.locator("#waiting-site")).to_have_text("Phường Bến Nghé")
        expect(page.locator("#waiting-title")).to_have_text("Hội nghị quý I")
        expect(page.locator("#waiting-when")).to_contain_text("08:30")
        expect(page.locator("#stage")).to_be_hidden()
        shown = page.locator("#waiting-clock").inner_text()
        expect(page.locator("#waiting-clock")).not_to_have_text(shown, timeout=3_000)  # it ticks

        _set_dates(server, b, local_today())  # B begins: the same pairing follows it
        expect(page.locator("body")).to_have_attribute("data-mode", "stage", timeout=5_000)
        expect(page.locator("#conference")).to_have_text("Hội nghị quý I")
        expect(page.locator("#waiting")).to_be_hidden()
    finally:
        context.close()
        http.close()
