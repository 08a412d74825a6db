"""A site screen shed in a storm (1013 retry_after=N) comes back by itself after N s."""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from app.admission import Ticket
from tests.sessions.test_screen_browser import RestartableServer, _move, _prepare, _shows

pytestmark = pytest.mark.browser


@pytest.fixture
def server(sqlite_url: str, tmp_path: Any) -> Iterator[RestartableServer]:
    """A server admitting one new socket every 4 s (a burst of one)."""
    srv = RestartableServer(sqlite_url, str(tmp_path / "var"))
    srv.settings = srv.settings.model_copy(
        update={"ws_admit_per_second": 0.25, "ws_admit_burst": 1}
    )
    srv.start()
    yield srv
    srv.stop()


def test_shed_screen_waits_as_told_then_shows_the_current_slide(
    server: RestartableServer, browser: Browser
) -> None:
    http, sid, item, token = _prepare(server.url)
    _move(http, sid, agenda_item_id=item, slide=1)
    admission = server.app.state.admission
    ticket = admission.admit()  # someone else took the one free place
    assert isinstance(ticket, Ticket)
    ticket.leave()
    told: list[int] = []  # the waits the server gave (3 or 4 s: it depends on page load)
    admit = admission.admit

    def admit_and_note(waited: float = 0.0) -> Any:
        answer = admit(waited)
        if isinstance(answer, int):
            told.append(answer)
        return answer

    admission.admit = admit_and_note
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="vi-VN")
    page = context.new_page()
    try:
        page.goto(f"{server.url}/screen#token={token}")
        deadline = time.monotonic() + 5
        while admission.shed == 0:
            assert time.monotonic() < deadline, "the screen never tried to connect"
            time.sleep(0.02)
        shed_at = time.monotonic()  # the bucket refills in 4 s: told 4 s at most
        expect(page.locator("#status")).to_have_text("Mất kết nối, đang thử lại…")
        v = _move(http, sid, slide=3)  # the presenter moves on meanwhile
        expect(page.locator("#status")).to_have_text("Đã kết nối", timeout=12_000)
        back_after = time.monotonic() - shed_at
        _shows(page, v, 3)
        # Came back once, when told: its own backoff (0.5-1 s) would have been shed again.
        assert admission.shed == 1 and admission.admitted == 2
        assert len(told) == 1 and told[0] - 0.1 <= back_after <= told[0] + 5.0, (told, back_after)
    finally:
        context.close()
        http.close()
