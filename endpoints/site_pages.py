"""The site tree (filtered, searched, paged) and the page of one site with its coordinators."""

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import Password, User, Username
from app.audit import spool
from app.db import DbSession, ReadDbSession
from app.deps import AdminUser, CsrfChecked, CurrentUser
from app.errors import AppError
from app.templating import render_page
from app.text import Name
from endpoints import coordinators, rollcall, service, site_changes, site_lists
from endpoints.forms import FormText, filled, notice, validation_message
from endpoints.models import (
    Approval,
    Conference,
    Phone,
    Readiness,
    Site,
    SiteCreate,
    SiteKind,
    SiteUpdate,
    SiteView,
)

router = APIRouter(include_in_schema=False)


E = TypeVar("E", bound=StrEnum)

PAGE_SIZE = 100

def _enum_or_none(kind: type[E], value: str | None) -> E | None:
    # Filters come from links people share and edit: an unknown value means "no filter".
    try:
        return kind(value) if value else None
    except ValueError:
        return None


# --------------------------------------------------------------- site tree


class SiteForm(BaseModel):
    """Every field of the site forms, as typed (kept on errors)."""

    name: FormText = ""
    kind: FormText = ""
    parent_id: FormText | None = None  # None: the form had no parent field
    parent_other: FormText = ""
    code: FormText = ""
    room: FormText = ""
    contact_name: FormText = ""
    contact_phone: FormText = ""
    expected_attendees: FormText = ""
    connection_link: FormText = ""
    readiness: FormText = ""
    # None: the form had no note field (readiness moved to its own buttons).
    readiness_note: FormText | None = None

    def chosen_parent(self) -> str:
        """The parent the form names: a typed id wins over the list choice."""
        return self.parent_other.strip() or (self.parent_id or "").strip()


_SITE_TEXT = ("name", "kind", "code", "room", "contact_name", "contact_phone",
              "expected_attendees", "connection_link")


def _site_create_data(form: SiteForm) -> SiteCreate:
    values = filled(form.model_dump(), _SITE_TEXT)
    parent = form.chosen_parent()
    payload: dict[str, Any] = {**values, "name": form.name, "kind": form.kind}
    if parent:
        payload["parent_id"] = parent
    return SiteCreate.model_validate(payload)


class TreeQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    q: str = Field(default="", max_length=200)
    kind: str = Field(default="", max_length=30)
    readiness: str = Field(default="", max_length=30)
    approval: str = Field(default="", max_length=30)
    under: int | None = Field(default=None, ge=1)
    page: int = Field(default=1, ge=1, le=10_000)

    def filters(self) -> site_lists.SiteFilter:
        """The service filter these query parameters name."""
        return site_lists.SiteFilter(
            q=self.q.strip() or None,
            kind=_enum_or_none(SiteKind, self.kind),
            readiness=_enum_or_none(Readiness, self.readiness),
            approval=_enum_or_none(Approval, self.approval),
            under_id=self.under,
        )

    def link(self, **changes: Any) -> str:
        """The query string of this view with some parameters changed."""
        params = {**self.model_dump(), **changes}
        if params["page"] == 1:
            del params["page"]
        return "?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})


def _tree(
    request: Request,
    db: Session,
    user: User,
    conference_id: int,
    query: TreeQuery,
    *,
    form: SiteForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    conference = service.get_conference(db, conference_id=conference_id, actor=user)
    result = site_lists.list_sites(
        db,
        conference_id=conference_id,
        actor=user,
        filters=query.filters(),
        limit=PAGE_SIZE,
        offset=(query.page - 1) * PAGE_SIZE,
    )
    parent_ids = [s.parent_id for s in result.items if s.parent_id is not None]
    shown = {s.id for s in result.items}
    parents = site_lists.sites_by_ids(
        db,
        conference_id=conference_id,
        ids=[p for p in parent_ids if p not in shown],
        actor=user,
    )
    parents.update({s.id: s for s in result.items if s.id is not None})
    under = None
    if query.under is not None:
        under = service.get_site(db, site_id=query.under, actor=user)
    pages = max(1, -(-result.total // PAGE_SIZE))
    return render_page(
        request,
        user,
        "endpoints/sites.html",
        {
            "conference": conference,
            "sites": result.items,
            "total": result.total,
            "parents": parents,
            "query": query,
            "filtered": bool(query.q.strip() or query.kind or query.readiness or query.approval),
            "under": under,
            "page": query.page,
            "pages": pages,
            "first_index": (query.page - 1) * PAGE_SIZE + 1,
            "is_admin": accounts_service.is_admin(user),
            "parent_choices": site_lists.parent_choices(db, actor=user),
            "form": form or SiteForm(),
            "error": error,
            "notice": notice(request.query_params.get("msg")),
            "tab": "sites",
        },
        status=status,
    )


@router.get("/conferences/{conference_id}/sites", response_class=HTMLResponse)
def sites_page(
    request: Request,
    conference_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    query: Annotated[TreeQuery, Query()],
) -> Response:
    """The site tree (a coordinator sees their subtree), filtered, searched and paged."""
    spool.viewed(db, what="site_list", conference_id=conference_id)
    return _tree(request, db, user, conference_id, query)


@router.post("/conferences/{conference_id}/sites", dependencies=[CsrfChecked])
def site_create(
    request: Request,
    conference_id: int,
    db: DbSession,
    user: CurrentUser,
    form: Annotated[SiteForm, Form()],
) -> Response:
    """Add a site from the tree page's form."""
    try:
        site = service.create_site(
            db, conference_id=conference_id, data=_site_create_data(form), actor=user
        )
    except ValidationError as exc:
        return _tree(
            request, db, user, conference_id, TreeQuery(),
            form=form, error=validation_message(exc), status=422,
        )
    except AppError as exc:
        return _tree(
            request, db, user, conference_id, TreeQuery(),
            form=form, error=exc.detail, status=exc.status_code,
        )
    return RedirectResponse(
        _site_url(site.id or 0, conference_id, "site_created"), status_code=303
    )


# --------------------------------------------------------------- site page


class CoordinatorForm(BaseModel):
    username: FormText = ""
    password: FormText = ""
    full_name: FormText = ""
    phone: FormText = ""


class CoordinatorInput(BaseModel):
    """A coordinator account typed by the central office on the site page."""

    model_config = ConfigDict(extra="forbid")

    username: Username
    password: Password
    full_name: Name
    phone: Phone | None = None


def _site_url(site_id: int, conference_id: int | None, msg: str | None = None) -> str:
    """A site page, in a named conference when one was chosen."""
    params = {"conference_id": conference_id, "msg": msg}
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"/sites/{site_id}" + (f"?{query}" if query else "")


def _site_form(view: SiteView) -> SiteForm:
    return SiteForm(
        name=view.name,
        kind=view.kind,
        parent_id=str(view.parent_id or ""),
        code=view.code or "",
        room=view.room or "",
        contact_name=view.contact_name or "",
        contact_phone=view.contact_phone or "",
        expected_attendees=str(view.expected_attendees),
        connection_link=view.connection_link or "",
        readiness=view.readiness or "",
        readiness_note=view.readiness_note or "",
    )


def _neighbours(
    db: Session, user: User, view: SiteView, conference: Conference | None
) -> tuple[SiteView | None, site_lists.SitePage]:
    """The site's parent and its first children, as the conference (or the registry) sees them."""
    below = site_lists.SiteFilter(parent_id=view.id)
    ids = [view.parent_id] if view.parent_id is not None else []
    if conference is not None and conference.id is not None:
        children = site_lists.list_sites(
            db, conference_id=conference.id, actor=user, filters=below, limit=50
        )
        parents = site_lists.sites_by_ids(db, conference_id=conference.id, ids=ids, actor=user)
    else:
        children = site_lists.registry_sites(db, actor=user, filters=below, limit=50)
        parents = site_lists.registry_by_ids(db, ids=ids, actor=user)
    return parents.get(view.parent_id or 0), children


def _site_page(
    request: Request,
    db: Session,
    user: User,
    view: SiteView,
    *,
    form: SiteForm | None = None,
    coordinator_form: CoordinatorForm | None = None,
    error: str | None = None,
    coordinator_error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    assert view.id is not None
    conference = None
    if view.conference_id is not None:
        conference = service.get_conference(db, conference_id=view.conference_id, actor=user)
    is_admin = accounts_service.is_admin(user)
    parent, children = _neighbours(db, user, view, conference)
    choices: Sequence[Site | SiteView] = []
    if is_admin:
        choices = [c for c in site_lists.parent_choices(db, actor=user) if c.id != view.id]
        if parent is not None and all(c.id != parent.id for c in choices):
            choices = [parent, *choices]
    return render_page(
        request,
        user,
        "endpoints/site.html",
        {
            "conference": conference,
            "site": view,
            "parent": parent,
            "children": children.items,
            "children_total": children.total,
            "accounts": coordinators.list_site_users(db, site_id=view.id, actor=user),
            "screen_state": rollcall.screen_state(db, site_id=view.id),
            "conferences": site_lists.site_conferences(db, site_id=view.id, actor=user),
            "is_admin": is_admin,
            "parent_choices": choices,
            "form": form or _site_form(view),
            "coordinator_form": coordinator_form or CoordinatorForm(),
            "error": error,
            "coordinator_error": coordinator_error,
            "notice": notice(request.query_params.get("msg")),
            "tab": "sites",
        },
        status=status,
    )


def _refused(
    request: Request,
    db: Session,
    user: User,
    site_id: int,
    conference_id: int | None,
    exc: AppError,
    *,
    form: SiteForm | None = None,
) -> HTMLResponse:
    # The refused write left the session dirty: show the site as it is stored.
    db.rollback()
    view = service.site_view(db, site_id=site_id, actor=user, conference_id=conference_id)
    return _site_page(request, db, user, view, form=form, error=exc.detail,
                      status=exc.status_code)


ConferenceParam = Annotated[int | None, Query(ge=1)]


@router.get("/sites/{site_id}", response_class=HTMLResponse)
def site_page(
    request: Request,
    site_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    conference_id: ConferenceParam = None,
) -> Response:
    """One site: every field, its edit form, the sites below it; in `?conference_id=` or
    the conference the site is about now."""
    view = service.site_view(db, site_id=site_id, actor=user, conference_id=conference_id)
    # Contacts and coordinators' names and phones: a view of personal data.
    spool.viewed(db, what="site", object_id=site_id, conference_id=conference_id, site_id=site_id)
    return _site_page(request, db, user, view)


def _site_update_data(form: SiteForm, *, may_move: bool, in_conference: bool) -> SiteUpdate:
    values = form.model_dump()
    payload: dict[str, Any] = {"name": form.name}
    # Blank optional text clears the field; blank choices and numbers leave it alone.
    for key in ("code", "room", "contact_name", "contact_phone", "connection_link"):
        payload[key] = values[key].strip() or None
    payload.update(filled(values, ("kind",)))
    if in_conference:
        # Readiness and expected attendees are the conference's: a registry-only view has none.
        if form.readiness_note is not None:
            payload["readiness_note"] = form.readiness_note.strip() or None
        payload.update(filled(values, ("readiness", "expected_attendees")))
    if may_move and (form.parent_id is not None or form.parent_other.strip()):
        payload["parent_id"] = form.chosen_parent() or None
    return SiteUpdate.model_validate(payload)


@router.post("/sites/{site_id}", dependencies=[CsrfChecked])
def site_update(
    request: Request,
    site_id: int,
    db: DbSession,
    user: CurrentUser,
    form: Annotated[SiteForm, Form()],
    conference_id: ConferenceParam = None,
) -> Response:
    """Save the edit form of a site in the user's scope."""
    view = service.site_view(db, site_id=site_id, actor=user, conference_id=conference_id)
    try:
        data = _site_update_data(form, may_move=accounts_service.is_admin(user),
                                 in_conference=view.part is not None)
        site_changes.update_site(db, site_id=site_id, data=data, actor=user,
                                 conference_id=view.conference_id)
    except ValidationError as exc:
        return _site_page(request, db, user, view, form=form, error=validation_message(exc),
                          status=422)
    except AppError as exc:
        return _refused(request, db, user, site_id, conference_id, exc, form=form)
    return RedirectResponse(_site_url(site_id, conference_id, "site_saved"), status_code=303)


@router.post("/sites/{site_id}/delete", dependencies=[CsrfChecked])
def site_delete(
    request: Request,
    site_id: int,
    db: DbSession,
    user: AdminUser,
    conference_id: ConferenceParam = None,
) -> Response:
    """Remove a site that has nothing below it (central office)."""
    view = service.site_view(db, site_id=site_id, actor=user, conference_id=conference_id)
    back = view.conference_id
    try:
        site_changes.delete_site(db, site_id=site_id, actor=user)
    except AppError as exc:
        return _refused(request, db, user, site_id, conference_id, exc)
    if back is None:
        return RedirectResponse("/conferences?msg=site_deleted", status_code=303)
    return RedirectResponse(f"/conferences/{back}/sites?msg=site_deleted", status_code=303)


@router.post("/sites/{site_id}/coordinators", dependencies=[CsrfChecked])
def coordinator_create(
    request: Request,
    site_id: int,
    db: DbSession,
    user: AdminUser,
    form: Annotated[CoordinatorForm, Form()],
    conference_id: ConferenceParam = None,
) -> Response:
    """Create an active coordinator account for the site (central office)."""
    view = service.site_view(db, site_id=site_id, actor=user, conference_id=conference_id)
    try:
        data = CoordinatorInput.model_validate(
            {**filled(form.model_dump(), ("username", "full_name", "phone")),
             "password": form.password, "full_name": form.full_name}
        )
        coordinators.create_coordinator(
            db, site_id=site_id, username=data.username, password=data.password,
            full_name=data.full_name, phone=data.phone, actor=user,
        )
    except ValidationError as exc:
        return _site_page(request, db, user, view, coordinator_form=form,
                          coordinator_error=validation_message(exc), status=422)
    except AppError as exc:
        db.rollback()
        view = service.site_view(db, site_id=site_id, actor=user, conference_id=conference_id)
        return _site_page(request, db, user, view, coordinator_form=form,
                          coordinator_error=exc.detail, status=exc.status_code)
    return RedirectResponse(_site_url(site_id, conference_id, "coordinator_created"),
                            status_code=303)
