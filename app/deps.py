"""Request dependencies: the current user, roles, settings, CSRF, the realtime hub."""

import time
from collections.abc import Callable, Mapping
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import HTTPConnection

from app.accounts import service as accounts_service
from app.accounts.errors import AdminOnly
from app.accounts.models import User
from app.accounts.revocations import SocketRevocations
from app.audit.context import identify
from app.config import Settings
from app.db import ReadDbSession
from app.errors import CsrfFailed, NotAuthenticated
from app.realtime import Hub
from app.security import (
    ANON_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    cookie_name,
    csrf_matches,
    csrf_token_for,
    new_anon_value,
)

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
# The `Authorization: Bearer` token, if any (async: resolving it costs no thread hop).
BearerToken = Annotated[str | None, Depends(_bearer)]


async def bearer_token(request: Request) -> str | None:
    """The `Authorization: Bearer` token, read as the dependency reads it."""
    return await _bearer(request)


async def get_settings_dep(request: Request) -> Settings:
    """The settings as a dependency (async: no thread hop to resolve)."""
    return connection_settings(request)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


class TokenCache:
    """Users of recently validated login tokens, for hot paths (a check-in burst).

    A hit skips the account lookup. An entry lives `ttl` seconds, so on a route that
    uses the cache a logout, password change or disabled account takes effect within
    that time (routes using `CurrentUser` look the account up on every request).
    """

    def __init__(self, *, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._entries: dict[str, tuple[float, User]] = {}

    def get(self, token: str) -> User | None:
        """The cached user of `token`, if validated less than `ttl` seconds ago."""
        entry = self._entries.get(token)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, token: str, user: User) -> None:
        """Remember a validated token (the user object is shared read-only)."""
        if len(self._entries) >= self._max:
            self._entries.clear()  # bounded memory beats a perfect hit rate
        self._entries[token] = (time.monotonic() + self._ttl, user)


def _user_from(db: Session, settings: Settings, token: str | None) -> User | None:
    if not token:
        return None
    return accounts_service.user_for_token(
        db,
        token=token,
        secret=settings.secret_key,
        max_age_seconds=settings.access_token_minutes * 60,
    )


def find_user(
    request: Request,
    *,
    db: Session | Callable[[], Session],
    settings: Settings,
    bearer: str | None,
    cache: TokenCache | None = None,
) -> User:
    """The user of the bearer token if one is sent, else of the login cookie;
    `NotAuthenticated` otherwise.

    A request that sends a bearer token is judged by it alone: an invalid one never falls
    back to the cookie (else a forged header would turn a cookie request into a bearer
    request, which needs no CSRF token).
    With `cache` (hot paths only), a token validated a few seconds ago skips the lookup;
    `db` may then be a session factory, called only on a miss.
    """
    token = bearer if bearer else login_cookie(request)
    if token:
        user = cache.get(token) if cache is not None else None
        if user is None:
            user = _lookup(db, settings, token, cache)
        if user is not None:
            identify(user_id=user.id, username=user.username, role=str(user.role))
            return user
    raise NotAuthenticated()


def _lookup(
    db: Session | Callable[[], Session], settings: Settings, token: str, cache: TokenCache | None
) -> User | None:
    if not isinstance(db, Session):
        with db() as opened:  # only on a miss: a session costs tens of µs per scan
            return _lookup(opened, settings, token, cache)
    user = _user_from(db, settings, token)
    if user is not None and cache is not None:
        db.expunge(user)  # shared read-only by later requests of the cache
        cache.put(token, user)
    return user


def get_current_user(
    request: Request,
    db: ReadDbSession,
    settings: SettingsDep,
    bearer: Annotated[str | None, Depends(_bearer)],
) -> User:
    """The logged-in user: a bearer token for /api, the session cookie for pages."""
    return find_user(request, db=db, settings=settings, bearer=bearer)


def get_optional_user(
    request: Request, db: ReadDbSession, settings: SettingsDep
) -> User | None:
    """The logged-in page user, or None (for pages that also serve visitors)."""
    user = _user_from(db, settings, login_cookie(request))
    if user is not None:
        identify(user_id=user.id, username=user.username, role=str(user.role))
    return user


async def get_token_cache(request: Request) -> TokenCache:
    """The token cache of this process (made at start-up; async: no thread hop)."""
    cache: TokenCache = request.app.state.token_cache
    return cache


TokenCacheDep = Annotated[TokenCache, Depends(get_token_cache)]


CurrentUser = Annotated[User, Depends(get_current_user)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]


def get_admin_user(user: CurrentUser) -> User:
    """The logged-in user, who must be from the central office."""
    if not accounts_service.is_admin(user):
        raise AdminOnly()
    return user


AdminUser = Annotated[User, Depends(get_admin_user)]


# ---------------------------------------------------------------- cookies and CSRF
#
# The CSRF token is an HMAC of the login cookie's value (see app.security.csrf_token_for):
# bound to this login, new at every login, and never a cookie itself, so a cookie planted
# by someone else (a sibling subdomain, plain http) cannot be paired with a token they
# know. Visitors without a login (the login form, the registration and self check-in
# forms) get a random anonymous cookie and a token bound to it: a forged cross-site login
# ("login CSRF") needs that token, which another site cannot read.


def _cookie(connection: HTTPConnection, base: str) -> str | None:
    settings = connection_settings(connection)
    return connection.cookies.get(cookie_name(base, secure=settings.secure_cookies)) or None


def csrf_token_from(cookies: Mapping[str, str], settings: Settings) -> str | None:
    """The CSRF token a request with these cookies must carry (None: no cookie to bind)."""
    secure = settings.secure_cookies
    binding = (cookies.get(cookie_name(SESSION_COOKIE, secure=secure))
               or cookies.get(cookie_name(ANON_COOKIE, secure=secure)))
    return csrf_token_for(secret=settings.secret_key, binding=binding) if binding else None


def login_cookie(connection: HTTPConnection) -> str | None:
    """The login token carried by the session cookie of this request, if any."""
    return _cookie(connection, SESSION_COOKIE)


def _set(
    response: Response, base: str, value: str, settings: Settings, max_age: int | None
) -> None:
    secure = settings.secure_cookies
    response.set_cookie(
        cookie_name(base, secure=secure), value, max_age=max_age, path="/",
        httponly=True, samesite="lax", secure=secure,
    )


def set_login_cookie(response: Response, *, token: str, settings: Settings) -> None:
    """Carry a login token in the session cookie (HttpOnly, SameSite=Lax, Secure and
    `__Host-` when cookies must be secure)."""
    _set(response, SESSION_COOKIE, token, settings, settings.access_token_minutes * 60)


def clear_login_cookie(response: Response, *, settings: Settings) -> None:
    """Drop the session cookie (with the same attributes: a `__Host-` cookie is only
    replaced by a Secure one)."""
    secure = settings.secure_cookies
    response.delete_cookie(
        cookie_name(SESSION_COOKIE, secure=secure), path="/", httponly=True,
        samesite="lax", secure=secure,
    )


def expected_csrf_token(connection: HTTPConnection) -> str | None:
    """The CSRF token this request must carry: bound to its login cookie when it has one,
    else to its anonymous cookie; None when it has neither (nothing can match)."""
    return csrf_token_from(connection.cookies, connection_settings(connection))


def page_csrf_token(request: Request) -> tuple[str, str | None]:
    """The CSRF token for a page's forms, and a new anonymous cookie value when the
    visitor has no cookie to bind it to yet (give it to `set_anon_cookie`)."""
    expected = expected_csrf_token(request)
    if expected is not None:
        return expected, None
    anon = new_anon_value()
    secret = connection_settings(request).secret_key
    return csrf_token_for(secret=secret, binding=anon), anon


def set_anon_cookie(response: Response, *, value: str, settings: Settings) -> None:
    """Carry the anonymous visitor's CSRF binding (a session cookie: gone with the browser)."""
    _set(response, ANON_COOKIE, value, settings, None)


def check_csrf(connection: HTTPConnection, submitted: str | None) -> None:
    """Refuse (`CsrfFailed`) a submitted token that is not this request's expected one."""
    if not csrf_matches(expected_csrf_token(connection), submitted):
        raise CsrfFailed()


async def verify_csrf(request: Request) -> None:
    """Form posts echo the login-bound token in the `csrf_token` field (or in
    X-CSRF-Token, for a page script posting the form)."""
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None:
        value = (await request.form()).get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    check_csrf(request, submitted)


CsrfChecked = Depends(verify_csrf)


async def verify_cookie_csrf(
    request: Request, bearer: Annotated[str | None, Depends(_bearer)]
) -> None:
    """JSON writes sent by our pages (login cookie) must carry the token in X-CSRF-Token.

    A bearer-authenticated call needs no token: another site cannot make a browser send
    an Authorization header (that needs a CORS preflight we never grant), and a request
    with a bearer token is never authenticated by its cookie (`find_user`).
    Without a login cookie there is no ambient authority to abuse: the route's own auth
    answers (401). Async and header-only: no thread hop, and it runs before the body.
    """
    if bearer or login_cookie(request) is None:
        return
    check_csrf(request, request.headers.get(CSRF_HEADER))


CookieCsrf = Depends(verify_cookie_csrf)


async def precheck_streamed_csrf(request: Request) -> None:
    """For routes that stream a multipart upload and read `csrf_token` from it themselves
    (`check_streamed_csrf`): a token in X-CSRF-Token is checked now, before any byte of
    the body is read; any other body is checked now too (a plain form by its field)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if CSRF_HEADER in request.headers or content_type != "multipart/form-data":
        await verify_csrf(request)
        request.state.csrf_checked = True


StreamedCsrf = Depends(precheck_streamed_csrf)


def check_streamed_csrf(request: Request, fields: dict[str, str]) -> None:
    """The check of a streamed form's `csrf_token` field (unless the header passed)."""
    if not getattr(request.state, "csrf_checked", False):
        check_csrf(request, fields.get(CSRF_FIELD))


async def get_hub(request: Request) -> Hub:
    """The realtime hub of this process (async: no thread hop to resolve)."""
    return connection_hub(request)


HubDep = Annotated[Hub, Depends(get_hub)]


# Typed reads of what create_app's lifespan keeps on app.state, for any connection
# (a websocket has no Request, and handlers should not read untyped app.state).


def connection_settings(connection: HTTPConnection) -> Settings:
    """The settings the running app was built with."""
    settings: Settings = connection.app.state.settings
    return settings


def connection_hub(connection: HTTPConnection) -> Hub:
    """The realtime hub of this process."""
    hub: Hub = connection.app.state.hub
    return hub


def connection_read_engine(connection: HTTPConnection) -> Engine:
    """The engine for sessions that only read."""
    engine: Engine = connection.app.state.read_engine
    return engine


def connection_revocations(connection: HTTPConnection) -> SocketRevocations:
    """Where sockets authenticated by a login token register, to be closed on revocation."""
    revocations: SocketRevocations = connection.app.state.revocations
    return revocations
