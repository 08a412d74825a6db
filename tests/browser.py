"""Browser-test fixtures: the app under uvicorn on a free port, and headless Chromium.

Import the fixtures into a test module (`from tests.browser import browser, live_server,
page`). Without /usr/bin/chromium the tests skip with a reason, except in CI (CI=true),
where a missing browser is a failure.
"""

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, sync_playwright

from app.config import Settings
from app.main import create_app
from tests.conftest import make_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)


@dataclass(frozen=True)
class LiveServer:
    """A running app: its base URL, the settings (and so the database) it uses, and the
    app itself (tests tune `app.state` after start-up, e.g. how often screens recheck)."""

    url: str
    settings: Settings
    app: Any = None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(url: str, thread: threading.Thread, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the live server stopped during start-up")
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the live server did not answer /healthz within {timeout:.0f} s")


@pytest.fixture
def live_server(sqlite_url: str) -> Iterator[LiveServer]:
    """`create_app` under uvicorn in a background thread on a free 127.0.0.1 port."""
    settings = make_settings(sqlite_url)
    port = _free_port()
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, thread)
        yield LiveServer(url=url, settings=settings, app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium driven by Playwright, one per test.

    Playwright's sync API keeps an event loop running in the test thread while it is
    alive; a longer-lived browser would make `asyncio.run()` in later tests fail.
    """
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (apt-get install chromium to run browser tests)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    """A 390×844 phone context, as a site coordinator or an attendee holds it."""
    context = browser.new_context(
        viewport=PHONE, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
        is_mobile=True, has_touch=True, device_scale_factor=1,
    )
    context.set_default_timeout(10_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A desktop page in a fresh context (Vietnamese locale, Ho Chi Minh City time)."""
    context = browser.new_context(
        viewport=DESKTOP, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh"
    )
    desktop = context.new_page()
    desktop.set_default_timeout(10_000)
    try:
        yield desktop
    finally:
        context.close()
