"""Registry pages: "Nạp danh mục đơn vị hành chính", the registry list, a site's history."""

from enum import StrEnum
from typing import Annotated, TypeVar

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from app.accounts.models import User
from app.accounts.service import is_admin
from app.db import DbSession, ReadDbSession
from app.deps import AdminUser, CsrfChecked, CurrentUser
from app.errors import AppError
from app.templating import add_globals, render_page
from endpoints import errors, registry, service, units
from endpoints.forms import FormText
from endpoints.models import SITE_CHANGE_LABELS, SITE_STATUS_LABELS, SiteKind, SiteStatus

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100
E = TypeVar("E", bound=StrEnum)

add_globals(SITE_STATUS_LABELS=SITE_STATUS_LABELS, SITE_CHANGE_LABELS=SITE_CHANGE_LABELS)


class UnitsForm(BaseModel):
    province_code: FormText = ""


def _units_page(
    request: Request, user: User, *, chosen: str = "",
    report: units.UnitsReport | None = None, error: str | None = None, status: int = 200,
) -> HTMLResponse:
    return render_page(request, user, "endpoints/units.html", {
        "provinces": units.province_choices(), "chosen": chosen, "report": report,
        "error": error,
    }, status=status)


@router.get("/registry/units", response_class=HTMLResponse)
def units_page(request: Request, user: AdminUser) -> Response:
    """The form that loads a province's or the whole country's official units."""
    return _units_page(request, user)


@router.post("/registry/units", dependencies=[CsrfChecked])
def units_load(
    request: Request, db: DbSession, user: AdminUser, form: Annotated[UnitsForm, Form()]
) -> Response:
    """Load the chosen province (blank: the whole country) and show what was done."""
    chosen = form.province_code.strip()
    if chosen and not chosen.isdigit():
        return _units_page(request, user, chosen=chosen, status=422,
                           error=errors.UnknownProvince.detail)
    try:
        report = units.load_units(db, actor=user,
                                  province_code=int(chosen) if chosen else None)
    except AppError as exc:
        return _units_page(request, user, chosen=chosen, error=exc.detail,
                           status=exc.status_code)
    return _units_page(request, user, chosen=chosen, report=report)


def _enum_or_none(kind: type[E], value: str | None) -> E | None:
    # Filters come from links people share and edit: an unknown value means "no filter".
    try:
        return kind(value) if value else None
    except ValueError:
        return None


@router.get("/registry/sites", response_class=HTMLResponse)
def registry_page(
    request: Request,
    db: ReadDbSession,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=200)] = "",
    kind: Annotated[str, Query(max_length=20)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """Every registry site the user may see, searched by name or code, in tree order."""
    found = registry.list_registry_sites(
        db, actor=user, q=q or None, kind=_enum_or_none(SiteKind, kind),
        status=_enum_or_none(SiteStatus, status), limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return render_page(request, user, "endpoints/registry_sites.html", {
        "sites": found.items, "total": found.total, "page": page,
        "pages": max(1, -(-found.total // PAGE_SIZE)),
        "query": {"q": q, "kind": kind, "status": status}, "is_admin": is_admin(user),
    })


@router.get("/sites/{site_id}/history", response_class=HTMLResponse)
def history_page(request: Request, site_id: int, db: ReadDbSession, user: CurrentUser) -> Response:
    """A site's changes: names, codes, places, merges, with their decrees."""
    site = service.get_site(db, site_id=site_id, actor=user)
    rows = registry.site_history(db, site_id=site_id, actor=user)
    merged_into = (service.load_site(db, site.merged_into_id)
                   if site.merged_into_id is not None else None)
    return render_page(request, user, "endpoints/site_history.html", {
        "site": site, "history": rows, "merged_into": merged_into,
    })
