"""Real Chromium: every page kind loads under the strict policy with no CSP violation.

The list of pages comes from the route table (every HTML GET route), so a new page
without a visit here fails `test_every_page_route_is_visited`. On each page the test
listens to `securitypolicyviolation` events and to console errors, and checks that the
page's own scripts ran (each <script src> touched the DOM), that no script threw, and,
where the page lives on a websocket, that the socket opened.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page
from sqlmodel import Session

from app.db import local_today
from app.headers import CAMERA_ALLOWED, CONTENT_SECURITY_POLICY, NO_FEATURES
from checkin.answer_links import site_answer_code
from tests.browser import DESKTOP, LiveServer
from tests.checkin.forms_world import make_form, put_on_stage
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser

# Runs before any page script. Records violations, and which script files ran: each of
# ours looks up an element or adds a listener while it runs (document.currentScript).
PROBE = """
(() => {
  window.__cspViolations = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__reportViolation(e.violatedDirective + " blocked " + (e.blockedURI || "inline")
      + " at " + e.sourceFile + ":" + e.lineNumber);
  });
  window.__scriptsRan = new Set();
  const mark = () => {
    const s = document.currentScript;
    if (s && s.src) window.__scriptsRan.add(s.src);
  };
  for (const [proto, name] of [[Document.prototype, "getElementById"],
      [Document.prototype, "querySelector"], [EventTarget.prototype, "addEventListener"]]) {
    const original = proto[name];
    proto[name] = function (...args) { mark(); return original.apply(this, args); };
  }
})();
"""
# A script that touches no element while it runs (a library) is known by its global.
SCRIPTS_RAN = """
() => [...document.querySelectorAll("script[src]")]
  .every((s) => (window.__scriptsRan && window.__scriptsRan.has(s.src))
    || (s.src.endsWith("/static/retry.js") && window.DiemcauRetry !== undefined))
"""
# Pages that live on a websocket: the status their script shows once it is open.
LIVE = {
    "/conferences/{conference_id}/dashboard": "Đang cập nhật trực tiếp",
    "/follow/{token}": "Trực tiếp",
    "/screen": "Đã kết nối",
    "/sessions/{session_id}/chair": "Trực tiếp",
    "/sessions/{session_id}/console": "Trực tiếp",
}
SCANNER = "/sites/{site_id}/checkin"
# Our own icon, linked from every page (base.html and the pages that do not extend it).
ICONS = """() => [...document.querySelectorAll('link[rel~="icon"]')].map((l) => l.href)"""
FAVICON = "/static/favicon.svg"


def page_routes(app: FastAPI) -> set[str]:
    """Every HTML page the app serves: GET routes outside /api that answer text/html."""
    paths = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or "GET" not in (route.methods or ()):
            continue
        response_class = getattr(route.response_class, "value", route.response_class)
        returns = route.endpoint.__annotations__.get("return")
        html = response_class is HTMLResponse or returns is HTMLResponse
        if html and context.path and not context.path.startswith("/api/"):
            paths.add(context.path)
    return paths


@dataclass
class Visits:
    """What the browser saw while visiting pages."""

    violations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    icons: set[str] = field(default_factory=set)

    def console(self, message: ConsoleMessage) -> None:
        text = message.text
        if message.type == "error" and ("Content Security Policy" in text or "Refused" in text):
            self.violations.append(text)

    def violation(self, text: str) -> None:
        self.violations.append(text)

    def page_error(self, error: Any) -> None:
        self.errors.append(str(error))


def _admin_api(server: LiveServer) -> httpx.Client:
    """An API client of the central office."""
    http = httpx.Client(base_url=server.url, timeout=30)
    r = http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return http


def _reset_link(http: httpx.Client, site: int) -> str:
    """The path of a reset link the central office issued for a new coordinator."""
    account = http.post(f"/api/v1/sites/{site}/coordinators", json={
        "username": "csp-coord", "password": "csp-coord-password", "full_name": "Lê Văn Tâm",
    }).json()["id"]
    return httpx.URL(http.post(f"/api/v1/accounts/{account}/reset-link").json()["url"]).path


def _bank(http: httpx.Client, cid: int) -> int:
    """A question bank of one question (its editor is a page)."""
    made: int = http.post(f"/api/v1/conferences/{cid}/banks", json={
        "title": "Kiểm tra", "questions": [{"kind": "single", "text": "Hỏi", "options": [
            {"label": "Có", "correct": True}, {"label": "Không"}]}]}).json()["id"]
    return made


# Pages whose URL needs nothing made first.
FIXED_PAGES = {
    "/login": "/login",
    "/screen/pair": "/screen/pair",
    "/docs": "/docs",
    "/": "/",
    "/conferences": "/conferences",
    "/registry/sites": "/registry/sites",
    "/registry/units": "/registry/units",
    "/accounts": "/accounts",
    "/audit": "/audit",
    "/account/password": "/account/password",
    "/data-requests": "/data-requests",
}


def _conference_pages(c: str) -> dict[str, str]:
    """The pages of the conference `c` (its path), keyed by their route path."""
    return {
        "/conferences/{conference_id}/dashboard": f"{c}/dashboard",
        "/conferences/{conference_id}/invite-sites": f"{c}/invite-sites",
        "/conferences/{conference_id}/invites": f"{c}/invites",
        "/conferences/{conference_id}/registrations": f"{c}/registrations",
        "/conferences/{conference_id}/report": f"{c}/report",
        "/conferences/{conference_id}/effectiveness": f"{c}/effectiveness",
        "/conferences/{conference_id}/effectiveness/print": f"{c}/effectiveness/print",
        "/conferences/{conference_id}/sessions": f"{c}/sessions",
        "/conferences/{conference_id}/sites": f"{c}/sites",
        "/conferences/{conference_id}/sites/import": f"{c}/sites/import",
        "/conferences/{conference_id}/attendees/import": f"{c}/attendees/import",
        "/conferences/{conference_id}/privacy": f"{c}/privacy",
        "/conferences/{conference_id}/banks": f"{c}/banks",
    }


def _scenario(server: LiveServer) -> dict[str, str]:
    """A conference with a site, an attendee, an invite, a session and a screen; the URL
    of one page of each kind, keyed by its route path."""
    http, today = _admin_api(server), local_today().isoformat()
    cid = http.post("/api/v1/conferences", json={"title": "Hội nghị CSP", "starts_on": today,
                                                  "ends_on": today}).json()["id"]
    site = http.post(f"/api/v1/conferences/{cid}/sites", json={
        "name": "Phường Bến Nghé", "kind": "ward", "expected_attendees": 10}).json()["id"]
    attendee = http.post(f"/api/v1/conferences/{cid}/attendees", json=[
        {"full_name": "Nguyễn Văn An", "site_id": site}]).json()[0]["id"]
    invite = http.post(f"/api/v1/conferences/{cid}/invites", json={}).json()["url"]
    session = http.post(
        f"/api/v1/conferences/{cid}/sessions",
        json={"title": "Phiên khai mạc", "starts_at": f"{today}T08:00",
              "ends_at": f"{today}T23:59"},
    ).json()["id"]
    follow = httpx.URL(http.get(f"/api/v1/conferences/{cid}/follow-link").json()["url"]).path
    site_token = http.get(f"/api/v1/sites/{site}/self-checkin-qr").json()["token"]
    screen = http.post(f"/api/v1/sites/{site}/screen-token").json()["token"]
    reset = _reset_link(http, site)
    own = httpx.URL(http.get(f"/api/v1/attendees/{attendee}/link").json()["url"]).path
    bank = _bank(http, cid)
    http.close()
    c, s = f"/conferences/{cid}", f"/sites/{site}"
    return {
        **FIXED_PAGES,
        "/invite/{token}": invite,
        "/c/{site_token}": f"/c/{site_token}",
        "/follow/{token}": follow,
        "/screen": f"/screen#token={screen}",
        **_conference_pages(c),
        "/privacy/{conference_id}": f"/privacy/{cid}",
        "/sessions/{session_id}": f"/sessions/{session}",
        "/sessions/{session_id}/console": f"/sessions/{session}/console",
        "/sessions/{session_id}/minutes": f"/sessions/{session}/minutes",
        "/sessions/{session_id}/chair": f"/sessions/{session}/chair",
        "/sessions/{session_id}/forms": f"/sessions/{session}/forms",
        "/banks/{bank_id}": f"/banks/{bank}",
        "/attendees/{attendee_id}/pass": f"/attendees/{attendee}/pass",
        "/sites/{site_id}": f"{s}?conference_id={cid}",
        "/sites/{site_id}/badges": f"{s}/badges?conference_id={cid}",
        SCANNER: f"{s}/checkin?conference_id={cid}",
        "/sites/{site_id}/headcount": f"{s}/headcount?conference_id={cid}",
        "/sites/{site_id}/floor": f"{s}/floor",
        "/sites/{site_id}/history": f"{s}/history",
        "/sites/{site_id}/screens": f"{s}/screens",
        "/password-reset/{token}": reset,
        "/p/{token}": own,
        **_form_pages(server, cid, site),
    }


def _form_pages(server: LiveServer, cid: int, site: int) -> dict[str, str]:
    """A form open on the stage (rows: authoring has no API here): its answer and tally
    pages."""
    with Session(server.app.state.engine) as db:
        form = make_form(db, conference_id=cid)
        put_on_stage(db, conference_id=cid, form_id=form.form_id)
    s = f"/sites/{site}"
    return {
        "/a/{code}": f"/a/{site_answer_code(site, server.settings)}",
        "/sites/{site_id}/forms/{form_id}/tally": f"{s}/forms/{form.form_id}/tally",
        "/sites/{site_id}/forms/tally": f"{s}/forms/tally?conference_id={cid}",
    }


# Visited before the login (anonymous pages), then the rest as the central office.
ANONYMOUS = ("/login", "/invite/{token}", "/c/{site_token}", "/follow/{token}", "/screen",
             "/screen/pair", "/docs", "/password-reset/{token}", "/privacy/{conference_id}",
             "/p/{token}", "/a/{code}")


@pytest.fixture
def context(browser: Browser, live_server: LiveServer) -> Iterator[tuple[BrowserContext, Visits]]:
    visits = Visits()
    ctx = browser.new_context(viewport=DESKTOP, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                              base_url=live_server.url)
    ctx.set_default_timeout(10_000)
    ctx.expose_function("__reportViolation", visits.violation)
    ctx.add_init_script(PROBE)
    try:
        yield ctx, visits
    finally:
        ctx.close()


def _visit(page: Page, visits: Visits, route: str, url: str) -> None:
    seen = (len(visits.violations), len(visits.errors))
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, f"{route}: {response and response.status}"
    headers = response.headers
    assert headers.get("content-security-policy") == CONTENT_SECURITY_POLICY, route
    camera = CAMERA_ALLOWED if route == SCANNER else NO_FEATURES
    assert headers.get("permissions-policy") == camera, route
    page.wait_for_function(SCRIPTS_RAN, timeout=5_000)
    if route in LIVE:
        page.wait_for_function(
            "t => document.body.innerText.includes(t)", arg=LIVE[route], timeout=10_000
        )
    if route == "/screen":  # the QR arrives as a data: image (img-src)
        page.wait_for_selector("#selfcheckin-qr[src^='data:image/svg+xml']", state="attached")
    if route == "/docs":
        page.wait_for_selector("#swagger-ui .swagger-ui", state="attached")
    icons = page.evaluate(ICONS)
    assert any(httpx.URL(h).path == FAVICON for h in icons), f"{route}: icons {icons}"
    visits.icons.update(icons)
    page.wait_for_timeout(150)  # late reports (images, fetches) arrive asynchronously
    assert (len(visits.violations), len(visits.errors)) == seen, (
        f"{route}: {visits.violations[seen[0]:]} {visits.errors[seen[1]:]}"
    )


def test_every_page_route_is_visited(live_server: LiveServer) -> None:
    """A page added to the app without a visit in `_scenario` fails here."""
    visited = set(_scenario(live_server))
    assert page_routes(live_server.app) == visited


def test_every_page_kind_has_no_csp_violation(
    live_server: LiveServer, context: tuple[BrowserContext, Visits]
) -> None:
    ctx, visits = context
    urls = _scenario(live_server)
    page = ctx.new_page()
    page.on("console", visits.console)
    page.on("pageerror", visits.page_error)
    for route in ANONYMOUS:
        _visit(page, visits, route, urls[route])
    page.goto("/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/conferences"))
    for route in sorted(set(urls) - set(ANONYMOUS)):
        _visit(page, visits, route, urls[route])
    assert not visits.violations and not visits.errors
    _icons_load(page, visits.icons | {"/favicon.ico"})


def _icons_load(page: Page, icons: set[str]) -> None:
    """Every icon the pages link, and /favicon.ico that browsers ask for unasked, is an
    image of ours (not a 404, nothing from another host)."""
    for href in sorted(icons):
        response = page.request.get(href)
        assert response.ok, f"{href}: {response.status}"
        assert response.headers["content-type"].startswith("image/"), href
        assert httpx.URL(response.url).host == "127.0.0.1", href


def test_the_policy_blocks_inline_script(
    live_server: LiveServer, context: tuple[BrowserContext, Visits]
) -> None:
    """The listener works and the policy is enforced: an injected inline script is
    refused and reported (without the header it would run)."""
    ctx, visits = context
    page = ctx.new_page()
    page.goto("/login")
    ran = page.evaluate(
        """() => { const s = document.createElement("script");
        s.textContent = "window.__inlineRan = true"; document.body.appendChild(s);
        return window.__inlineRan === true; }"""
    )
    page.wait_for_timeout(150)
    assert ran is False
    assert any("script-src" in v for v in visits.violations), visits.violations
