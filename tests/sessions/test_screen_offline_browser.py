"""A site screen in Chromium without a link: the last state stays, marked, and catches up.

How the link is cut: `context.set_offline(True)` gives the page the browser's own signal
(navigator.onLine, the "offline" event), but Chromium's emulation does not close an open
websocket: it holds its messages and delivers them once back online (seen with
Chromium 156). So each test also stops the server (RestartableServer.stop: uvicorn
closes every socket and the port refuses connections) and starts it again on the same
port and database while the browser is still offline; the presenter moves meanwhile.
"""

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.sessions.test_screen_browser import RestartableServer, _move, _prepare, _shows

pytestmark = pytest.mark.browser

DECKS = "diemcau-screen-decks-v1"
LOADED = "() => { const i = document.getElementById('slide'); " \
         "return i.complete && i.naturalWidth > 0; }"
CACHED_PAGES = f"""async () => {{
  const cache = await caches.open("{DECKS}");
  return (await cache.keys()).map((r) => new URL(r.url).pathname)
    .filter((p) => p.startsWith("/decks/")).sort();
}}"""


@pytest.fixture
def server(sqlite_url: str, tmp_path: Any) -> Iterator[RestartableServer]:
    srv = RestartableServer(sqlite_url, str(tmp_path / "var"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def screen(browser: Browser) -> Iterator[tuple[BrowserContext, Page]]:
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="vi-VN")
    context.set_default_timeout(10_000)
    try:
        yield context, context.new_page()
    finally:
        context.close()


def _offline_ready(page: Page, slide: int) -> None:
    """The worker holds the page's files and the slide on screen (it prefetches after)."""
    expect(page.locator("body")).to_have_attribute("data-offline-shell", "1")
    expect(page.locator("body")).to_have_attribute(
        "data-offline-slide", re.compile(rf"/{slide}\.png$"))


def _cached(page: Page) -> list[str]:
    """The slide images the worker holds (paths, sorted)."""
    found: list[str] = page.evaluate(CACHED_PAGES)
    return found


def _until(check: Callable[[], bool], seconds: float = 8.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.1)


def _marked_but_showing(page: Page, version: int, slide: int) -> None:
    mark = page.locator("#offline")
    expect(mark).to_be_visible(timeout=3_000)
    expect(mark).to_contain_text("Mất kết nối, đang thử lại…")
    expect(mark).to_contain_text("Cập nhật lúc")
    expect(page.locator("#status")).to_have_text("Mất kết nối, đang thử lại…")
    expect(page.locator("#slide")).to_be_visible()  # the mark does not hide the slide
    _shows(page, version, slide)
    page.wait_for_function(LOADED, timeout=3_000)
    expect(page.locator("#item")).to_have_text("Ứng dụng AI trong công tác Đảng")


def test_screen_keeps_its_slide_offline_and_catches_up_when_back(
    server: RestartableServer, screen: tuple[BrowserContext, Page]
) -> None:
    context, page = screen
    http, sid, item, token = _prepare(server.url)
    v = _move(http, sid, agenda_item_id=item, slide=2)
    try:
        page.goto(f"{server.url}/screen#token={token}")
        _shows(page, v, 2)
        expect(page.locator("#offline")).to_be_hidden()
        page.evaluate("window.__sameDocument = true")

        # The browser's signal alone marks the screen (the socket would stay "open").
        context.set_offline(True)
        _marked_but_showing(page, v, 2)
        server.stop()
        server.start()
        moved = _move(http, sid, slide=4)  # the presenter carries on meanwhile
        page.wait_for_timeout(1_500)
        _marked_but_showing(page, v, 2)  # no way to know yet: the last state stays

        back = time.monotonic()
        context.set_offline(False)
        _shows(page, moved, 4)
        expect(page.locator("#offline")).to_be_hidden()
        expect(page.locator("#status")).to_have_text("Đã kết nối")
        assert time.monotonic() - back < 5.0, "back within a few seconds"
        assert page.evaluate("window.__sameDocument") is True  # caught up, never reloaded
    finally:
        http.close()


def test_screen_marks_a_dropped_link_even_without_the_browsers_signal(
    server: RestartableServer, screen: tuple[BrowserContext, Page]
) -> None:
    """The server goes away while the network looks fine: the socket's close marks it."""
    _, page = screen
    http, sid, item, token = _prepare(server.url)
    v = _move(http, sid, agenda_item_id=item, slide=3)
    try:
        page.goto(f"{server.url}/screen#token={token}")
        _shows(page, v, 3)
        server.stop()
        _marked_but_showing(page, v, 3)
        server.start()
        moved = _move(http, sid, slide=5)
        _shows(page, moved, 5)
        expect(page.locator("#offline")).to_be_hidden()
    finally:
        http.close()


def test_reload_offline_shows_the_cached_last_state(
    server: RestartableServer, screen: tuple[BrowserContext, Page]
) -> None:
    context, page = screen
    http, sid, item, token = _prepare(server.url)
    v = _move(http, sid, agenda_item_id=item, slide=3)
    try:
        page.goto(f"{server.url}/screen#token={token}")
        _shows(page, v, 3)
        _offline_ready(page, 3)

        context.set_offline(True)
        server.stop()
        # Nothing answers and the browser's own cache is gone (a projector PC's may be
        # evicted): the page, its files and the slide come from the worker.
        context.new_cdp_session(page).send("Network.clearBrowserCache")
        page.reload()
        _marked_but_showing(page, v, 3)

        server.start()
        moved = _move(http, sid, slide=6)
        context.set_offline(False)
        _shows(page, moved, 6)  # resumed from the kept version
        expect(page.locator("#offline")).to_be_hidden()
    finally:
        http.close()


def test_worker_keeps_only_the_current_conferences_deck_pages(
    server: RestartableServer, screen: tuple[BrowserContext, Page]
) -> None:
    _, page = screen
    http, sid, item, token = _prepare(server.url)
    v = _move(http, sid, agenda_item_id=item, slide=2)
    try:
        page.goto(f"{server.url}/screen#token={token}")
        _shows(page, v, 2)
        _offline_ready(page, 2)
        src = page.locator("#slide").get_attribute("src") or ""
        deck = src.rsplit("/", 1)[0]
        # The slide on screen and the next two, fetched ahead a moment later.
        expected = sorted(f"{deck}/{n}.png" for n in (2, 3, 4))
        _until(lambda: _cached(page) == expected)
        # Another conference on this screen (or a waiting screen): those pages go.
        page.evaluate("""async () => {
          const reg = await navigator.serviceWorker.ready;
          reg.active.postMessage({type: "stage", conference: 987654, slide: null});
        }""")
        _until(lambda: _cached(page) == [])
    finally:
        http.close()


def test_revoked_screen_forgets_its_kept_state_and_slides(
    server: RestartableServer, screen: tuple[BrowserContext, Page]
) -> None:
    _, page = screen
    http, sid, item, token = _prepare(server.url)
    v = _move(http, sid, agenda_item_id=item, slide=2)
    try:
        page.goto(f"{server.url}/screen#token={token}")
        _shows(page, v, 2)
        _offline_ready(page, 2)
        assert page.evaluate("localStorage.getItem('diemcau.screen.last')") is not None
        cid = http.get("/api/v1/conferences").json()[0]["id"]
        site = http.get(f"/api/v1/conferences/{cid}/sites").json()[0]["id"]
        for device in http.get(f"/api/v1/sites/{site}/screens").json():
            assert http.delete(f"/api/v1/screens/{device['id']}").status_code == 200
        # Its open socket is cut at the next heartbeat (tens of seconds); a restart makes
        # it reconnect now, and the reconnection is refused (4401).
        server.stop()
        server.start()
        expect(page.locator("#unpaired")).to_be_visible()
        expect(page.locator("#offline")).to_be_hidden()  # no retrying: pair again
        assert page.evaluate("localStorage.getItem('diemcau.screen.last')") is None
        _until(lambda: _cached(page) == [])
    finally:
        http.close()


def test_another_pairing_never_shows_the_kept_state(
    server: RestartableServer, screen: tuple[BrowserContext, Page]
) -> None:
    """A new link opened in the same browser (another site's screen) starts blank."""
    context, page = screen
    http, sid, item, token = _prepare(server.url)
    v = _move(http, sid, agenda_item_id=item, slide=2)
    cid = http.get("/api/v1/conferences").json()[0]["id"]
    site = http.get(f"/api/v1/conferences/{cid}/sites").json()[0]["id"]
    other = http.post(f"/api/v1/sites/{site}/screen-token").json()["token"]
    try:
        page.goto(f"{server.url}/screen#token={token}")
        _shows(page, v, 2)
        _offline_ready(page, 2)
        context.set_offline(True)
        server.stop()
        page.goto("about:blank")  # a new document (a changed #fragment alone is not)
        page.goto(f"{server.url}/screen#token={other}")
        expect(page.locator("#offline")).to_be_visible()
        expect(page.locator("#no-slide")).to_be_visible()
        expect(page.locator("#slide")).to_be_hidden()
        assert page.evaluate("localStorage.getItem('diemcau.screen.last')") is None
        server.start()
    finally:
        http.close()
