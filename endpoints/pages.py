"""HTML pages of the registry; they call the same service functions as the API."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.db import DbSession
from app.deps import CsrfChecked, CurrentUser, OptionalUser, SettingsDep
from app.security import SESSION_COOKIE
from app.templating import render
from endpoints import errors, service

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect after login would help phishing.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/conferences"


@router.get("/", response_class=HTMLResponse)
def home(user: OptionalUser) -> Response:
    """Start page: the conference list, or the login page."""
    return RedirectResponse("/conferences" if user else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    """The login form."""
    return render(request, "login.html", {"next": _safe_next(next)})


@router.post("/login", dependencies=[CsrfChecked])
def login_submit(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    """Check the credentials and set the session cookie."""
    try:
        user = service.authenticate(db, username=username, password=password)
    except (errors.InvalidCredentials, errors.AccountNotActive) as exc:
        return render(
            request,
            "login.html",
            {"error": exc.detail, "username": username, "next": _safe_next(next)},
            status=exc.status_code,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        service.issue_token(user=user, secret=settings.secret_key),
        max_age=settings.access_token_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    return response


@router.post("/logout", dependencies=[CsrfChecked])
def logout_submit(db: DbSession, user: CurrentUser) -> Response:
    """End every session of the user and drop the cookie."""
    service.logout(db, user=user)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/conferences", response_class=HTMLResponse)
def conferences_page(request: Request, db: DbSession, user: CurrentUser) -> Response:
    """The conferences the user takes part in."""
    request.state.user = user
    return render(
        request,
        "endpoints/conferences.html",
        {"conferences": service.list_conferences(db, actor=user)},
    )
