"""A real site screen in Chromium follows the presenter and survives a dropped connection."""

import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pypdfium2 as pdfium
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect

from app.main import create_app
from tests.browser import _free_port, _wait_healthy
from tests.conftest import ADMIN_PASSWORD, make_settings

pytestmark = pytest.mark.browser


class RestartableServer:
    """The app under uvicorn on a fixed port, which the test can stop and start again."""

    def __init__(self, database_url: str, data_dir: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = make_settings(database_url, data_dir=data_dir)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(
            create_app(self.settings),
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
        json={"title": "Hội nghị tập huấn AI", "starts_on": "2025-09-09", "ends_on": "2025-09-09"},
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
