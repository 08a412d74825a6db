"""Security headers: every HTTP response carries them; templates hold no inline code."""

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import PROJECT_ROOT
from app.headers import CAMERA_ALLOWED, CONTENT_SECURITY_POLICY, NO_FEATURES, SecurityHeaders
from app.main import create_app
from tests.conftest import ADMIN_PASSWORD, make_settings, token_for

EXPECTED = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "permissions-policy": NO_FEATURES,
}


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(sqlite_url))) as test_client:
        yield test_client


def _directives() -> dict[str, list[str]]:
    parts = (d.split() for d in CONTENT_SECURITY_POLICY.split(";"))
    return {p[0]: p[1:] for p in parts}


def test_the_policy_is_strict() -> None:
    directives = _directives()
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    # The screens, dashboard and follow pages live on same-origin websockets.
    assert {"'self'", "ws:", "wss:"} <= set(directives["connect-src"])
    assert "unsafe" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    "path", ["/login", "/healthz", "/api/v1/auth/me", "/static/app.css", "/no-such-page", "/docs"]
)
def test_every_http_response_carries_the_headers(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert {name: r.headers.get(name) for name in EXPECTED} == EXPECTED
    # Once each: a header the middleware adds is never doubled.
    assert all(len(r.headers.get_list(name)) == 1 for name in EXPECTED)


def test_only_the_scanner_desk_may_use_the_camera(client: TestClient) -> None:
    auth = token_for(client, "admin", ADMIN_PASSWORD)
    cid = client.post(
        "/api/v1/conferences",
        json={"title": "Hội nghị", "starts_on": "2026-12-02", "ends_on": "2026-12-02"},
        headers=auth,
    ).json()["id"]
    site = client.post(
        f"/api/v1/conferences/{cid}/sites", json={"name": "Phường 1", "kind": "ward"}, headers=auth
    ).json()["id"]
    desk = client.get(f"/sites/{site}/checkin?conference_id={cid}", headers=auth)
    assert desk.status_code == 200
    assert desk.headers.get_list("permissions-policy") == [CAMERA_ALLOWED]
    other = client.get(f"/sites/{site}?conference_id={cid}", headers=auth)
    assert other.status_code == 200
    assert other.headers["permissions-policy"] == NO_FEATURES


def test_websockets_pass_through_untouched() -> None:
    seen: list[Any] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(send)

    async def receive() -> Any:
        return {}

    async def send(message: Any) -> None:
        pass

    call = SecurityHeaders(inner)({"type": "websocket"}, receive, send)
    # The inner app's own coroutine, with the original send: no wrapper frame per socket.
    assert getattr(call, "cr_code", None) is inner.__code__
    asyncio.run(call)  # type: ignore[arg-type]
    assert seen == [send]


# Inline code the policy refuses: a <script> without src (JSON data blocks are not
# code), on*= handler attributes, javascript: URLs, <style> blocks and style= attributes.
INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
    re.compile(r"<[^>]*\son[a-z]+\s*=", re.I),
    re.compile(r"javascript:", re.I),
    re.compile(r"<style\b", re.I),
    re.compile(r"<[^>]*\sstyle\s*=", re.I),
]


def test_templates_hold_no_inline_script_or_style() -> None:
    found = [
        f"{path.relative_to(PROJECT_ROOT)}: {m.group(0)[:80]}"
        for path in sorted((PROJECT_ROOT / "templates").rglob("*.html"))
        for pattern in INLINE
        for m in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []


@pytest.mark.parametrize(
    "snippet",
    ['<script>alert(1)</script>', '<input onfocus="this.select()">', '<a href="javascript:x">',
     "<style>p{}</style>", '<p style="color:red">'],
)
def test_the_template_check_finds_inline_code(snippet: str) -> None:
    assert any(p.search(snippet) for p in INLINE)
    allowed = '<script src="/static/a.js"></script><meta content="x">'
    assert not any(p.search(allowed) for p in INLINE)


def test_the_proxy_sets_hsts_and_leaves_the_page_headers_to_the_app() -> None:
    """deploy/Caddyfile ends TLS, so it sends HSTS; a second copy of the app's headers
    there would replace the scanner page's own Permissions-Policy."""
    caddyfile = (PROJECT_ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    lines = [line.split("#")[0].strip() for line in caddyfile.splitlines()]
    hsts = [line for line in lines if line.startswith("Strict-Transport-Security")]
    assert len(hsts) == 1
    max_age = re.search(r"max-age=(\d+)", hsts[0])
    assert max_age and int(max_age.group(1)) >= 180 * 24 * 3600
    names = {line.split()[0].lower() for line in lines if line}
    assert names.isdisjoint(EXPECTED)
