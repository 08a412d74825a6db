"""Request dependencies: the shared auth (bearer or cookie, optional token cache) and typed
reads of the running app's ground objects."""

from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import HTTPConnection, Request

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.config import Settings
from app.deps import (
    TokenCache,
    connection_hub,
    connection_read_engine,
    connection_settings,
    find_user,
)
from app.errors import NotAuthenticated
from app.realtime import Hub
from app.security import SESSION_COOKIE


def _request(settings: Settings, cookie: str | None = None) -> Request:
    headers = [] if cookie is None else [(b"cookie", f"{SESSION_COOKIE}={cookie}".encode())]
    app = SimpleNamespace(state=SimpleNamespace(settings=settings))
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers,
                    "app": app})


def _token(admin: User, settings: Settings) -> str:
    return accounts_service.issue_token(user=admin, secret=settings.secret_key)


def test_find_user_by_bearer_or_cookie(db: Session, admin: User, settings: Settings) -> None:
    token = _token(admin, settings)
    by_bearer = find_user(_request(settings), db=db, settings=settings, bearer=token)
    by_cookie = find_user(
        _request(settings, cookie=token), db=db, settings=settings, bearer=None
    )
    assert by_bearer.id == by_cookie.id == admin.id


def test_find_user_bad_bearer_never_falls_back_to_cookie(
    db: Session, admin: User, settings: Settings
) -> None:
    # Else a forged Authorization header would turn a cookie request into a bearer one,
    # which needs no CSRF token.
    token = _token(admin, settings)
    with pytest.raises(NotAuthenticated):
        find_user(
            _request(settings, cookie=token), db=db, settings=settings, bearer="not-a-token"
        )


def test_find_user_without_token_not_authenticated(db: Session, settings: Settings) -> None:
    with pytest.raises(NotAuthenticated):
        find_user(_request(settings), db=db, settings=settings, bearer=None)
    with pytest.raises(NotAuthenticated):
        find_user(_request(settings, cookie="forged"), db=db, settings=settings, bearer="forged")


def test_find_user_with_cache_skips_the_lookup_on_a_hit(
    db: Session, admin: User, settings: Settings
) -> None:
    token = _token(admin, settings)
    cache = TokenCache()
    first = find_user(_request(settings), db=db, settings=settings, bearer=token, cache=cache)
    assert cache.get(token) is first
    db.close()  # a hit must not need the database at all
    again = find_user(
        _request(settings), db=Session(), settings=settings, bearer=token, cache=cache
    )
    assert again is first and again.id == admin.id


def test_find_user_session_factory_opened_only_on_a_miss(
    engine: Engine, admin: User, settings: Settings
) -> None:
    token = _token(admin, settings)
    cache = TokenCache()
    opened: list[Session] = []

    def factory() -> Session:
        opened.append(Session(engine, expire_on_commit=False))
        return opened[-1]

    for _ in range(3):
        user = find_user(
            _request(settings), db=factory, settings=settings, bearer=token, cache=cache
        )
        assert user.id == admin.id
    assert len(opened) == 1


def test_token_cache_entry_expires_after_ttl(admin: User) -> None:
    cache = TokenCache(ttl=-1.0)
    cache.put("t", admin)
    assert cache.get("t") is None


def test_connection_accessors_return_the_apps_objects(
    client: TestClient, settings: Settings
) -> None:
    scope: dict[str, Any] = {"type": "websocket", "app": client.app}
    connection = HTTPConnection(scope)
    state = client.app.state  # type: ignore[attr-defined]
    assert connection_settings(connection) is settings
    assert isinstance(connection_hub(connection), Hub)
    assert connection_hub(connection) is state.hub
    assert connection_read_engine(connection) is state.read_engine
