"""Request dependencies: the current user, roles, settings, CSRF, the realtime hub."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from app.config import Settings
from app.db import ReadDbSession
from app.errors import CsrfFailed, NotAuthenticated
from app.security import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, csrf_matches
from endpoints import service as endpoints_service
from endpoints.errors import AdminOnly
from endpoints.models import User

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_settings_dep(request: Request) -> Settings:
    """The settings the running app was built with."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def _user_from(db: ReadDbSession, settings: Settings, token: str | None) -> User | None:
    if not token:
        return None
    return endpoints_service.user_for_token(
        db,
        token=token,
        secret=settings.secret_key,
        max_age_seconds=settings.access_token_minutes * 60,
    )


def get_current_user(
    request: Request,
    db: ReadDbSession,
    settings: SettingsDep,
    bearer: Annotated[str | None, Depends(_bearer)],
) -> User:
    """The logged-in user: a bearer token for /api, the session cookie for pages."""
    user = _user_from(db, settings, bearer) or _user_from(
        db, settings, request.cookies.get(SESSION_COOKIE)
    )
    if user is None:
        raise NotAuthenticated()
    return user


def get_optional_user(
    request: Request, db: ReadDbSession, settings: SettingsDep
) -> User | None:
    """The logged-in page user, or None (for pages that also serve visitors)."""
    return _user_from(db, settings, request.cookies.get(SESSION_COOKIE))


CurrentUser = Annotated[User, Depends(get_current_user)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]


def get_admin_user(user: CurrentUser) -> User:
    """The logged-in user, who must be from the central office."""
    if not endpoints_service.is_admin(user):
        raise AdminOnly()
    return user


AdminUser = Annotated[User, Depends(get_admin_user)]


async def verify_csrf(request: Request) -> None:
    """Form posts must echo the random CSRF cookie (double submit, SameSite=Lax cookies)."""
    form = await request.form()
    value = form.get(CSRF_FIELD)
    if not csrf_matches(request.cookies.get(CSRF_COOKIE), value if isinstance(value, str) else None):
        raise CsrfFailed()


CsrfChecked = Depends(verify_csrf)
