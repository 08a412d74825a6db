"""CSRF and cookies (app/deps.py): a test generated from the app's route table proves every
unsafe route that accepts the login cookie refuses a cookie request without its
login-bound CSRF token, so a future route without CSRF fails here; plus the binding of
the token to the login, `__Host-` Secure cookies in production, and no bearer fallback."""

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.security import ANON_COOKIE, CSRF_HEADER, HOST_PREFIX, SESSION_COOKIE
from tests.conftest import ADMIN_PASSWORD, Tree, make_settings
from tests.endpoints.support import csrf, login

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Routes that never read the login cookie (anonymous, or bearer-only JSON): a cookie
# changes nothing there (checked below), so there is nothing to forge. One line each.
NO_COOKIE = {
    ("POST", "/api/v1/auth/token"): "password grant: the token comes back in the body",
    ("POST", "/api/v1/checkins/self"): "anonymous self check-in (site token in the body)",
    ("POST", "/api/v1/invites/{token}/register"): "anonymous, carries the invite token",
    ("POST", "/api/v1/screens/pair"): "a screen device pairs with a one-time code",
    ("POST", "/api/v1/auth/password-reset"): "anonymous, carries the one-time reset token",
    ("POST", "/api/v1/follow/{token}/questions"): "anonymous, carries the follow link token",
    ("POST", "/api/v1/forms/{form_id}/answers"): "anonymous, the site's answer code in the body",
}
# Anonymous forms: they need the CSRF token too (login CSRF), but no login.
ANONYMOUS_FORMS = {
    ("POST", "/login"), ("POST", "/invite/{token}"), ("POST", "/c/{site_token}"),
    ("POST", "/password-reset/{token}"), ("POST", "/p/{token}"), ("POST", "/p/{token}/requests"),
    ("POST", "/a/{code}"),
}
# A valid body for routes that authenticate only after reading it (the scan hot path).
BODIES: dict[tuple[str, str], dict[str, object]] = {
    ("POST", "/api/v1/checkins"): {"code": "ABCD1234", "site_id": 999999},
    # The presenter's command too (auth in the same hop as the change).
    ("PUT", "/api/v1/sessions/{session_id}/state"): {"slide": 1},
    # The ask takes the check-in's path (auth inside, after the body is read) too.
    ("POST", "/api/v1/sessions/{session_id}/floor/requests"): {
        "site_id": 999999, "topic": "Ý kiến", "speaker_name": "An"},
}


def unsafe_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) of the app that can change something, routers included."""
    return sorted(
        (method, str(route.path))
        for route in iter_route_contexts(app.routes)
        for method in (route.methods or set()) & UNSAFE
    )


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "999999", path)


def _csrf_refused(r: httpx.Response) -> bool:
    return r.status_code == 403 and "csrf_failed" in r.text


def _logged_in(client: TestClient) -> bool:
    status: int = client.get("/api/v1/auth/me").status_code
    return status == 200


@pytest.fixture
def admin_page(client: TestClient, tree: Tree) -> TestClient:
    """The central office logged in through the login form (cookie), like a browser."""
    login(client, "admin", ADMIN_PASSWORD)
    return client


def _refusals(client: TestClient, method: str, url: str, anon_token: str) -> list[str]:
    """What a cookie request without a valid login-bound token got, where it was not
    refused with csrf_failed."""
    tries: dict[str, dict[str, object]] = {
        "no token": {},
        "wrong header": {"headers": {CSRF_HEADER: "forged"}},
        "wrong form field": {"data": {"csrf_token": "forged"}},
        "anonymous visitor's token": {"headers": {CSRF_HEADER: anon_token}},
    }
    missed = []
    for name, extra in tries.items():
        r = client.request(method, url, follow_redirects=False, **extra)  # type: ignore[arg-type]
        if not _csrf_refused(r):
            missed.append(f"{name}: {r.status_code}")
    return missed


def test_every_cookie_route_refuses_writes_without_the_login_bound_token(
    admin_page: TestClient,
) -> None:
    app = admin_page.app
    assert isinstance(app, FastAPI)
    routes = unsafe_routes(app)
    assert len(routes) > 60 and ("POST", "/api/v1/sites/{site_id}/approve") in routes
    assert set(NO_COOKIE) <= set(routes), "stale NO_COOKIE entries"
    anon_token = csrf(TestClient(app))  # bound to another visitor's anonymous cookie
    failures = []
    for method, path in routes:
        if (method, path) in NO_COOKIE:
            continue
        url = _url(path)
        failures += [f"{method} {path} ({m})" for m in _refusals(admin_page, method, url,
                                                                 anon_token)]
        # With the right token the same request gets past the check (to 404/422...).
        r = admin_page.request(method, url, headers={CSRF_HEADER: csrf(admin_page)},
                               follow_redirects=False)
        if _csrf_refused(r):
            failures.append(f"{method} {path} refuses its own token")
        if not _logged_in(admin_page):  # a logout route ended the session: log in again
            login(admin_page, "admin", ADMIN_PASSWORD)
    assert not failures, "\n".join(failures)


def test_routes_without_the_cookie_ignore_it(admin_page: TestClient) -> None:
    anonymous = TestClient(admin_page.app)
    for method, path in NO_COOKIE:
        with_cookie = admin_page.request(method, _url(path), follow_redirects=False)
        without = anonymous.request(method, _url(path), follow_redirects=False)
        assert with_cookie.status_code == without.status_code != 403, (method, path)


def test_an_invalid_bearer_token_never_falls_back_to_the_cookie(admin_page: TestClient) -> None:
    app = admin_page.app
    assert isinstance(app, FastAPI)
    forged = {"Authorization": "Bearer forged"}
    assert admin_page.get("/api/v1/auth/me", headers=forged).status_code == 401
    failures = []
    for method, path in unsafe_routes(app):
        if (method, path) in NO_COOKIE or (method, path) in ANONYMOUS_FORMS:
            continue
        r = admin_page.request(method, _url(path), follow_redirects=False,
                               headers={**forged, CSRF_HEADER: csrf(admin_page)},
                               json=BODIES.get((method, path)))
        to_login = r.status_code == 303 and r.headers["location"].startswith("/login")
        if r.status_code != 401 and not to_login:  # pages send 401 to the login form
            failures.append(f"{method} {path}: {r.status_code}")
    assert not failures, "\n".join(failures)


# ------------------------------------------------------------ binding to the login


def test_the_token_is_bound_to_the_login_and_never_a_cookie(
    client: TestClient, tree: Tree
) -> None:
    before = csrf(client)  # anonymous: bound to the anonymous cookie
    login(client, "admin", ADMIN_PASSWORD)
    after = csrf(client)
    assert before != after, "a new login means a new token"
    cookies = set(dict(client.cookies).values())
    assert after not in cookies and before not in cookies
    page = client.get("/conferences").text
    assert f'value="{after}"' in page
    # The previous login's token is refused once logged in again.
    r = client.post("/logout", data={"csrf_token": before}, follow_redirects=False)
    assert _csrf_refused(r)


def test_login_csrf_needs_the_visitors_own_token(client: TestClient, tree: Tree) -> None:
    form = {"username": "admin", "password": ADMIN_PASSWORD}
    attacker = TestClient(client.app)
    attackers_token = csrf(attacker)  # a valid token, but for the attacker's browser
    csrf(client)
    r = client.post("/login", data={**form, "csrf_token": attackers_token},
                    follow_redirects=False)
    assert _csrf_refused(r)
    r = client.post("/login", data=form, follow_redirects=False)
    assert _csrf_refused(r)
    r = client.post("/login", data={**form, "csrf_token": csrf(client)}, follow_redirects=False)
    assert r.status_code == 303


# ------------------------------------------------------------ cookies in production


@pytest.fixture
def production(database_url: str) -> Settings:
    return make_settings(database_url).model_copy(update={
        "env": "production", "secret_key": "s" * 40, "admin_password": "a-strong-admin-password",
    })


@pytest.fixture
def https_client(production: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(production), base_url="https://testserver") as test_client:
        yield test_client


def _set_cookies(r: httpx.Response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in r.headers.get_list("set-cookie")}


def test_production_cookies_are_host_prefixed_and_secure(
    https_client: TestClient, production: Settings
) -> None:
    r = https_client.get("/login")
    anon = _set_cookies(r)[HOST_PREFIX + ANON_COOKIE]
    token = csrf(https_client)
    r = https_client.post("/login", data={"username": "admin", "csrf_token": token,
                                          "password": "a-strong-admin-password"},
                          follow_redirects=False)
    assert r.status_code == 303, r.text
    session = _set_cookies(r)[HOST_PREFIX + SESSION_COOKIE]
    for header in (anon, session):
        attributes = header.lower()
        assert "; secure" in attributes and "; path=/" in attributes
        assert "; httponly" in attributes and "domain=" not in attributes
    assert _logged_in(https_client)
    # A cookie under the plain name (planted over http, or by a sibling domain) is ignored.
    value = https_client.cookies[HOST_PREFIX + SESSION_COOKIE]
    planted = TestClient(https_client.app, base_url="https://testserver")
    planted.cookies.set(SESSION_COOKIE, value)
    assert not _logged_in(planted)
    r = https_client.post("/logout", data={"csrf_token": csrf(https_client)},
                          follow_redirects=False)
    cleared = _set_cookies(r)[HOST_PREFIX + SESSION_COOKIE].lower()
    assert "; secure" in cleared and "max-age=0" in cleared


def test_development_cookies_work_over_plain_http(client: TestClient, tree: Tree) -> None:
    r = client.get("/login")
    assert "secure" not in _set_cookies(r)[ANON_COOKIE].lower()
    login(client, "admin", ADMIN_PASSWORD)
    assert _logged_in(client)
