"""Request dependencies: the current user, roles, settings, CSRF, the realtime hub."""

import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import HTTPConnection

from app.accounts import service as accounts_service
from app.accounts.errors import AdminOnly
from app.accounts.models import User
from app.accounts.revocations import SocketRevocations
from app.config import Settings
from app.db import ReadDbSession
from app.errors import CsrfFailed, NotAuthenticated
from app.realtime import Hub
from app.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
    csrf_matches,
)

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
# The `Authorization: Bearer` token, if any (async: resolving it costs no thread hop).
BearerToken = Annotated[str | None, Depends(_bearer)]


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
    """The user of the bearer token, else of the login cookie; `NotAuthenticated` if neither.

    With `cache` (hot paths only), a token validated a few seconds ago skips the lookup;
    `db` may then be a session factory, called only on a miss.
    """
    for token in (bearer, request.cookies.get(SESSION_COOKIE)):
        if not token:
            continue
        user = cache.get(token) if cache is not None else None
        if user is None:
            user = _lookup(db, settings, token, cache)
        if user is not None:
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
    return _user_from(db, settings, request.cookies.get(SESSION_COOKIE))


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


async def verify_csrf(request: Request) -> None:
    """Form posts must echo the random CSRF cookie (double submit, SameSite=Lax cookies)."""
    form = await request.form()
    value = form.get(CSRF_FIELD)
    submitted = value if isinstance(value, str) else None
    if not csrf_matches(request.cookies.get(CSRF_COOKIE), submitted):
        raise CsrfFailed()


CsrfChecked = Depends(verify_csrf)

CSRF_HEADER = "X-CSRF-Token"


def verify_cookie_csrf(
    request: Request, bearer: Annotated[str | None, Depends(_bearer)]
) -> None:
    """JSON writes sent by our pages (login cookie) must echo the CSRF cookie in X-CSRF-Token.

    A bearer-authenticated call needs no token: another site cannot make a browser send
    an Authorization header (that needs a CORS preflight we never grant).
    """
    if bearer:
        return
    if not csrf_matches(request.cookies.get(CSRF_COOKIE), request.headers.get(CSRF_HEADER)):
        raise CsrfFailed()


CookieCsrf = Depends(verify_cookie_csrf)


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
