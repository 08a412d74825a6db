"""The site screen's pages and its service worker (sessions/screen_pages.py)."""

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.headers import CONTENT_SECURITY_POLICY
from app.main import create_app
from tests.conftest import make_settings


@pytest.fixture
def anonymous(sqlite_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(sqlite_url))) as test_client:
        yield test_client


def test_service_worker_may_control_the_display_and_is_revalidated(
    anonymous: TestClient,
) -> None:
    r = anonymous.get("/screen/sw.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    # Served from /screen/, it may control /screen itself only with this header.
    assert r.headers["service-worker-allowed"] == "/screen"
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert 'addEventListener("fetch"' in r.text


def test_service_worker_asks_only_our_own_server(anonymous: TestClient) -> None:
    """No outside call: every URL the worker names is a path of ours."""
    source = anonymous.get("/screen/sw.js").text
    assert not re.search(r"https?://", source)
    assert "importScripts" not in source


def test_display_registers_the_worker_before_its_own_script(anonymous: TestClient) -> None:
    page = anonymous.get("/screen").text
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts.index("/static/screen_offline.js") < scripts.index("/static/screen.js")
    assert 'id="offline"' in page and "Mất kết nối, đang thử lại…" in page
    assert anonymous.get("/static/screen_offline.js").text.count('"/screen/sw.js"') == 1
