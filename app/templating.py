"""Jinja2 set-up: Vietnamese formats, labels, CSRF token, the error page."""

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from app.accounts.models import User
from app.config import PROJECT_ROOT
from app.deps import connection_settings, page_csrf_token, set_anon_cookie
from app.text import format_number

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
templates = Jinja2Templates(directory=PROJECT_ROOT / "templates")


def local_datetime(value: datetime | None) -> str:
    """dd/mm/yyyy HH:mm in Asia/Ho_Chi_Minh (stored UTC, shown local)."""
    if value is None:
        return ""
    return value.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")


def local_date(value: date | None) -> str:
    """dd/mm/yyyy."""
    return "" if value is None else value.strftime("%d/%m/%Y")


def long_date(value: date) -> str:
    """ "ngày 09 tháng 9 năm 2025", as Vietnamese reports write it."""
    return f"ngày {value.day:02d} tháng {value.month} năm {value.year}"


templates.env.filters.update(
    number=format_number,
    local_datetime=local_datetime,
    local_date=local_date,
    long_date=long_date,
)


def add_globals(**values: Any) -> None:
    """Names every template may use (a domain registers its labels and enums here)."""
    templates.env.globals.update(values)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    """Render a page, giving it the CSRF token bound to the visitor's login (or, for a
    visitor without one, to a new anonymous cookie set here)."""
    token, anon = page_csrf_token(request)
    ctx = {"csrf_token": token, "user": getattr(request.state, "user", None), **(context or {})}
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    if anon is not None:
        set_anon_cookie(response, value=anon, settings=connection_settings(request))
    return response


def render_page(
    request: Request,
    user: User | None,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """Render a page for `user` (None on public pages); the layout shows who is signed in."""
    request.state.user = user
    return render(request, name, dict(context or {}), status=status)


def render_error_page(request: Request, *, status: int, code: str, detail: str) -> Response:
    """The HTML form of an error; an unauthenticated page visit goes to the login page."""
    if status == 401:
        from urllib.parse import quote

        from fastapi.responses import RedirectResponse

        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return render(
        request, "error.html", {"status": status, "code": code, "detail": detail}, status=status
    )
