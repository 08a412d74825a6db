"""Real Chromium: the dashboard and the report open on the live session, say which session
they count, and the whole-conference view counts everyone checked in to any session."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser import LiveServer
from tests.checkin.journeys import SESSION_TITLE, live_morning
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser


def _login(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/conferences")


def test_dashboard_defaults_to_live_session_and_conference_counts_every_session(
    live_server: LiveServer, page: Page
) -> None:
    base = live_server.url
    morning = live_morning(live_server, attendees=6)
    try:
        morning.check_in(0, session=False)  # at the door
        for person in (1, 2, 3):
            morning.check_in(person, session=True)
        morning.check_in(0, session=True)  # the door's attendee goes in too: counted once
        _login(page, base)

        page.goto(f"{base}/conferences/{morning.conference_id}/dashboard")
        expect(page.locator("#session option:checked")).to_contain_text(SESSION_TITLE)
        expect(page.locator("#counted-session")).to_contain_text(f"phiên {SESSION_TITLE}")
        expect(page.locator("#t-checked")).to_have_text("4")

        page.select_option("#session", "0")
        page.click("#scope-form button[type=submit]")
        expect(page.locator("#counted-session")).to_contain_text("cả hội nghị")
        expect(page.locator("#t-checked")).to_have_text("4")
        # A session check-in made while the conference view is open reaches it live.
        morning.check_in(4, session=True)
        expect(page.locator("#t-checked")).to_have_text("5")
        expect(page.locator("#t-present")).to_have_text("5")

        page.goto(f"{base}/conferences/{morning.conference_id}/report")
        expect(page.locator("#report-session")).to_contain_text(f"Phiên: {SESSION_TITLE}")
        page.goto(f"{base}/conferences/{morning.conference_id}/report?session_id=0")
        expect(page.locator("#report-session")).to_contain_text("Cả hội nghị")
        expect(page.locator("#summary")).to_contain_text("5 đại biểu điểm danh bằng thẻ")
    finally:
        morning.http.close()
