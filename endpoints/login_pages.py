"""Login, logout and the start page."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.accounts import errors as accounts_errors
from app.accounts import login
from app.accounts import service as accounts_service
from app.accounts.models import User
from app.config import Settings
from app.db import DbSession, ReadDbSession
from app.deps import (
    CsrfChecked,
    CurrentUser,
    HubDep,
    OptionalUser,
    SettingsDep,
    clear_login_cookie,
    connection_read_engine,
    set_login_cookie,
)
from app.errors import AppError
from app.templating import render
from app.throttle import Throttle, Throttled
from app.throttle_deps import ThrottleDep, client_address
from endpoints import service

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str | None:
    # Only local paths: an open redirect after login would help phishing.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


def _landing(db: Session, user: User) -> str:
    """Where a user goes after login: the central office to the conference list, a
    coordinator straight to the site tree of the conference their site is about now
    (live, else the next, else the last)."""
    if accounts_service.is_admin(user):
        return "/conferences"
    try:
        conferences = service.list_conferences(db, actor=user)
    except AppError:
        return "/conferences"
    current = (service.current_conference_id(db, site_id=user.site_id)
               if user.site_id is not None else None)
    if current is None and conferences:
        current = conferences[0].id
    return f"/conferences/{current}/sites" if current is not None else "/conferences"


# ------------------------------------------------------------- login, home


@router.get("/", response_class=HTMLResponse)
def home(db: ReadDbSession, user: OptionalUser) -> Response:
    """Start page: the user's landing page, or the login page."""
    return RedirectResponse(_landing(db, user) if user else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    """The login form."""
    return render(request, "login.html", {"next": _safe_next(next) or ""})


def _refused(request: Request, exc: AppError, username: str, next: str | None) -> Response:
    page = render(
        request,
        "login.html",
        {"error": exc.detail, "username": username, "next": _safe_next(next) or ""},
        status=exc.status_code,
    )
    page.headers.update(exc.headers)  # Retry-After when throttled
    return page


def _login(request: Request, settings: Settings, throttle: Throttle, username: str,
           password: str, next: str | None) -> Response:
    with Session(connection_read_engine(request), expire_on_commit=False) as db:
        try:
            user = login.authenticate_throttled(
                db, throttle=throttle, settings=settings, client=client_address(request),
                username=username, password=password,
            )
        except (accounts_errors.InvalidCredentials, accounts_errors.AccountNotActive,
                Throttled) as exc:
            return _refused(request, exc, username, next)
        response = RedirectResponse(_safe_next(next) or _landing(db, user), status_code=303)
    set_login_cookie(
        response,
        token=accounts_service.issue_token(user=user, secret=settings.secret_key),
        settings=settings,
    )
    return response


@router.post("/login", dependencies=[CsrfChecked])
async def login_submit(
    request: Request,
    settings: SettingsDep,
    throttle: ThrottleDep,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    """Check the credentials (throttled per client and account) and set the session cookie.
    A guesser already known to wait is refused on the event loop; the password check runs
    in a worker thread on a read-only session."""
    attempts = login.login_attempts(settings, client=client_address(request), username=username)
    try:
        login.precheck(throttle, attempts)
    except Throttled as exc:
        return _refused(request, exc, username, next)
    return await run_in_threadpool(_login, request, settings, throttle, username, password, next)


@router.post("/logout", dependencies=[CsrfChecked])
def logout_submit(
    db: DbSession, user: CurrentUser, settings: SettingsDep, hub: HubDep
) -> Response:
    """End every session of the user (open sockets too) and drop the cookie."""
    accounts_service.logout(db, user=user, publish=hub.publish)
    response = RedirectResponse("/login", status_code=303)
    clear_login_cookie(response, settings=settings)
    return response
