"""HTML pages of the registry; they call the same service functions as the API."""

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app import uploads
from app.accounts import errors as accounts_errors
from app.accounts import service as accounts_service
from app.accounts.models import Password, User, Username
from app.db import DbSession, ReadDbSession, utcnow
from app.deps import AdminUser, CsrfChecked, CurrentUser, OptionalUser, SettingsDep
from app.errors import AppError, CsrfFailed, describe_validation
from app.security import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, csrf_matches
from app.tabular.report import ImportReport
from app.templating import add_globals, render
from app.text import Name
from endpoints import errors, import_columns, imports, service
from endpoints import models as endpoints_models
from endpoints.models import (
    Approval,
    ConferenceCreate,
    Invite,
    InviteCreate,
    Phone,
    Readiness,
    Registration,
    Site,
    SiteCreate,
    SiteKind,
    SiteUpdate,
)

router = APIRouter(include_in_schema=False)

# Every domain's pages show site kinds, readiness and approval with these labels.
add_globals(
    KIND_LABELS=endpoints_models.SITE_KIND_LABELS,
    READINESS_LABELS=endpoints_models.READINESS_LABELS,
    APPROVAL_LABELS=endpoints_models.APPROVAL_LABELS,
    SiteKind=endpoints_models.SiteKind,
    Readiness=endpoints_models.Readiness,
    Approval=endpoints_models.Approval,
)
E = TypeVar("E", bound=StrEnum)

PAGE_SIZE = 100
FormText = Annotated[str, Field(max_length=2000)]

# Vietnamese names of form fields, for validation messages.
FIELD_LABELS = {
    "title": "Tên hội nghị",
    "starts_on": "Ngày bắt đầu",
    "ends_on": "Ngày kết thúc",
    "name": "Tên điểm cầu",
    "site_name": "Tên điểm cầu",
    "kind": "Loại điểm cầu",
    "parent_id": "Điểm cầu cấp trên",
    "parent_site_id": "Điểm cầu cấp trên",
    "code": "Mã điểm cầu",
    "room": "Phòng họp",
    "contact_name": "Người liên hệ",
    "contact_phone": "Số điện thoại liên hệ",
    "expected_attendees": "Số đại biểu dự kiến",
    "connection_link": "Đường dẫn kết nối",
    "readiness": "Tình trạng",
    "readiness_note": "Ghi chú tình trạng",
    "suggested_kind": "Loại điểm cầu gợi ý",
    "note": "Ghi chú",
    "days_valid": "Số ngày hiệu lực",
    "full_name": "Họ và tên",
    "phone": "Số điện thoại",
    "username": "Tên đăng nhập",
    "password": "Mật khẩu",
}
_MESSAGES = {
    "string_pattern_mismatch": "chỉ được dùng chữ cái không dấu, chữ số và . _ - @",
    "string_too_short": "quá ngắn",
    "date_from_datetime_inexact": "ngày không hợp lệ",
    "int_from_float": "phải là số nguyên",
    "greater_than_equal": "quá nhỏ",
    "less_than_equal": "quá lớn",
}
_NOTICES = {
    "site_created": "Đã thêm điểm cầu.",
    "site_saved": "Đã lưu thay đổi.",
    "site_deleted": "Đã xoá điểm cầu.",
    "coordinator_created": "Đã tạo tài khoản cán bộ phụ trách.",
    "invite_revoked": "Đã thu hồi lời mời.",
    "approved": "Đã duyệt đăng ký; cán bộ phụ trách có thể đăng nhập.",
    "rejected": "Đã từ chối đăng ký.",
}
INVITE_STATUS_LABELS = {
    "open": "chưa dùng",
    "used": "đã dùng",
    "expired": "hết hạn",
    "revoked": "đã thu hồi",
}


# ------------------------------------------------------------------ helpers


def _page(
    request: Request,
    user: User | None,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    request.state.user = user
    return render(request, name, dict(context or {}), status=status)


def _notice(key: str | None) -> str | None:
    return _NOTICES.get(key or "")


def validation_message(exc: ValidationError) -> str:
    """The first problem of a form, in Vietnamese, naming the field."""
    described = describe_validation([dict(e) for e in exc.errors()])
    if not described:
        return "Dữ liệu không hợp lệ."
    first, raw = described[0], exc.errors()[0]
    message = str(first["message"])
    if raw.get("type") in _MESSAGES:
        message = _MESSAGES[str(raw["type"])]
    label = FIELD_LABELS.get(str(first["field"]))
    return f"{label}: {message}" if label else message


def _filled(values: Mapping[str, str], keys: Sequence[str]) -> dict[str, str]:
    """The non-blank values among `keys`, trimmed (blank means "not given")."""
    return {k: values[k].strip() for k in keys if values.get(k, "").strip()}


def _safe_next(target: str | None) -> str | None:
    # Only local paths: an open redirect after login would help phishing.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


def _landing(db: Session, user: User) -> str:
    """Where a user goes after login: the central office to the conference list, a
    coordinator straight to the site tree of their conference."""
    if accounts_service.is_admin(user):
        return "/conferences"
    try:
        conferences = service.list_conferences(db, actor=user)
    except AppError:
        return "/conferences"
    return f"/conferences/{conferences[0].id}/sites" if conferences else "/conferences"


def _enum_or_none(kind: type[E], value: str | None) -> E | None:
    # Filters come from links people share and edit: an unknown value means "no filter".
    try:
        return kind(value) if value else None
    except ValueError:
        return None


# ------------------------------------------------------------- login, home


@router.get("/", response_class=HTMLResponse)
def home(db: ReadDbSession, user: OptionalUser) -> Response:
    """Start page: the user's landing page, or the login page."""
    return RedirectResponse(_landing(db, user) if user else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    """The login form."""
    return render(request, "login.html", {"next": _safe_next(next) or ""})


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
        user = accounts_service.authenticate(db, username=username, password=password)
    except (accounts_errors.InvalidCredentials, accounts_errors.AccountNotActive) as exc:
        return render(
            request,
            "login.html",
            {"error": exc.detail, "username": username, "next": _safe_next(next) or ""},
            status=exc.status_code,
        )
    response = RedirectResponse(_safe_next(next) or _landing(db, user), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        accounts_service.issue_token(user=user, secret=settings.secret_key),
        max_age=settings.access_token_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    return response


@router.post("/logout", dependencies=[CsrfChecked])
def logout_submit(db: DbSession, user: CurrentUser) -> Response:
    """End every session of the user and drop the cookie."""
    accounts_service.logout(db, user=user)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# -------------------------------------------------------------- conferences


class ConferenceForm(BaseModel):
    title: FormText = ""
    starts_on: FormText = ""
    ends_on: FormText = ""


def _conferences(
    request: Request,
    db: Session,
    user: User,
    *,
    form: ConferenceForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return _page(
        request,
        user,
        "endpoints/conferences.html",
        {
            "conferences": service.list_conferences(db, actor=user),
            "is_admin": accounts_service.is_admin(user),
            "form": form or ConferenceForm(),
            "error": error,
        },
        status=status,
    )


@router.get("/conferences", response_class=HTMLResponse)
def conferences_page(request: Request, db: ReadDbSession, user: CurrentUser) -> Response:
    """The conferences the user takes part in; the central office can add one."""
    return _conferences(request, db, user)


@router.post("/conferences", dependencies=[CsrfChecked])
def conference_create(
    request: Request,
    db: DbSession,
    user: AdminUser,
    form: Annotated[ConferenceForm, Form()],
) -> Response:
    """Create a conference and open its site tree."""
    try:
        data = ConferenceCreate.model_validate(form.model_dump())
        conference = service.create_conference(db, data=data, actor=user)
    except ValidationError as exc:
        return _conferences(request, db, user, form=form, error=validation_message(exc), status=422)
    except AppError as exc:
        return _conferences(request, db, user, form=form, error=exc.detail, status=exc.status_code)
    return RedirectResponse(f"/conferences/{conference.id}/sites", status_code=303)


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
    readiness_note: FormText = ""

    def chosen_parent(self) -> str:
        """The parent the form names: a typed id wins over the list choice."""
        return self.parent_other.strip() or (self.parent_id or "").strip()


_SITE_TEXT = ("name", "kind", "code", "room", "contact_name", "contact_phone",
              "expected_attendees", "connection_link")


def _site_create_data(form: SiteForm) -> SiteCreate:
    values = _filled(form.model_dump(), _SITE_TEXT)
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

    def filters(self) -> service.SiteFilter:
        """The service filter these query parameters name."""
        return service.SiteFilter(
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
    result = service.list_sites(
        db,
        conference_id=conference_id,
        actor=user,
        filters=query.filters(),
        limit=PAGE_SIZE,
        offset=(query.page - 1) * PAGE_SIZE,
    )
    parent_ids = [s.parent_id for s in result.items if s.parent_id is not None]
    shown = {s.id for s in result.items}
    parents = service.sites_by_ids(
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
    return _page(
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
            "parent_choices": service.parent_choices(db, conference_id=conference_id, actor=user),
            "form": form or SiteForm(),
            "error": error,
            "notice": _notice(request.query_params.get("msg")),
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
    return RedirectResponse(f"/sites/{site.id}?msg=site_created", status_code=303)


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


def _site_form(site: Site) -> SiteForm:
    return SiteForm(
        name=site.name,
        kind=site.kind,
        parent_id=str(site.parent_id or ""),
        code=site.code or "",
        room=site.room or "",
        contact_name=site.contact_name or "",
        contact_phone=site.contact_phone or "",
        expected_attendees=str(site.expected_attendees),
        connection_link=site.connection_link or "",
        readiness=site.readiness,
        readiness_note=site.readiness_note or "",
    )


def _site_page(
    request: Request,
    db: Session,
    user: User,
    site: Site,
    *,
    form: SiteForm | None = None,
    coordinator_form: CoordinatorForm | None = None,
    error: str | None = None,
    coordinator_error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    assert site.id is not None
    conference = service.get_conference(db, conference_id=site.conference_id, actor=user)
    is_admin = accounts_service.is_admin(user)
    children = service.list_sites(
        db,
        conference_id=site.conference_id,
        actor=user,
        filters=service.SiteFilter(parent_id=site.id),
        limit=50,
    )
    ids = [site.parent_id] if site.parent_id is not None else []
    parent = service.sites_by_ids(
        db, conference_id=site.conference_id, ids=ids, actor=user
    ).get(site.parent_id or 0)
    choices: Sequence[Site] = []
    if is_admin:
        choices = [
            c
            for c in service.parent_choices(db, conference_id=site.conference_id, actor=user)
            if c.id != site.id
        ]
        if parent is not None and all(c.id != parent.id for c in choices):
            choices = [parent, *choices]
    return _page(
        request,
        user,
        "endpoints/site.html",
        {
            "conference": conference,
            "site": site,
            "parent": parent,
            "children": children.items,
            "children_total": children.total,
            "accounts": service.list_site_users(db, site_id=site.id, actor=user),
            "is_admin": is_admin,
            "parent_choices": choices,
            "form": form or _site_form(site),
            "coordinator_form": coordinator_form or CoordinatorForm(),
            "error": error,
            "coordinator_error": coordinator_error,
            "notice": _notice(request.query_params.get("msg")),
            "tab": "sites",
        },
        status=status,
    )


@router.get("/sites/{site_id}", response_class=HTMLResponse)
def site_page(request: Request, site_id: int, db: ReadDbSession, user: CurrentUser) -> Response:
    """One site: every field, its edit form, the sites below it."""
    site = service.get_site(db, site_id=site_id, actor=user)
    return _site_page(request, db, user, site)


def _site_update_data(form: SiteForm, *, may_move: bool) -> SiteUpdate:
    values = form.model_dump()
    payload: dict[str, Any] = {"name": form.name}
    # Blank optional text clears the field; blank choices and numbers leave it alone.
    for key in ("code", "room", "contact_name", "contact_phone", "connection_link",
                "readiness_note"):
        payload[key] = values[key].strip() or None
    payload.update(_filled(values, ("kind", "readiness", "expected_attendees")))
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
) -> Response:
    """Save the edit form of a site in the user's scope."""
    site = service.get_site(db, site_id=site_id, actor=user)
    try:
        data = _site_update_data(form, may_move=accounts_service.is_admin(user))
        service.update_site(db, site_id=site_id, data=data, actor=user)
    except ValidationError as exc:
        return _site_page(request, db, user, site, form=form, error=validation_message(exc),
                          status=422)
    except AppError as exc:
        db.rollback()
        site = service.get_site(db, site_id=site_id, actor=user)
        return _site_page(request, db, user, site, form=form, error=exc.detail,
                          status=exc.status_code)
    return RedirectResponse(f"/sites/{site_id}?msg=site_saved", status_code=303)


@router.post("/sites/{site_id}/delete", dependencies=[CsrfChecked])
def site_delete(request: Request, site_id: int, db: DbSession, user: AdminUser) -> Response:
    """Remove a site that has nothing below it (central office)."""
    site = service.get_site(db, site_id=site_id, actor=user)
    conference_id = site.conference_id
    try:
        service.delete_site(db, site_id=site_id, actor=user)
    except AppError as exc:
        db.rollback()
        site = service.get_site(db, site_id=site_id, actor=user)
        return _site_page(request, db, user, site, error=exc.detail, status=exc.status_code)
    return RedirectResponse(f"/conferences/{conference_id}/sites?msg=site_deleted", status_code=303)


@router.post("/sites/{site_id}/coordinators", dependencies=[CsrfChecked])
def coordinator_create(
    request: Request,
    site_id: int,
    db: DbSession,
    user: AdminUser,
    form: Annotated[CoordinatorForm, Form()],
) -> Response:
    """Create an active coordinator account for the site (central office)."""
    site = service.get_site(db, site_id=site_id, actor=user)
    try:
        data = CoordinatorInput.model_validate(
            {**_filled(form.model_dump(), ("username", "full_name", "phone")),
             "password": form.password, "full_name": form.full_name}
        )
        service.create_coordinator(
            db, site_id=site_id, username=data.username, password=data.password,
            full_name=data.full_name, phone=data.phone, actor=user,
        )
    except ValidationError as exc:
        return _site_page(request, db, user, site, coordinator_form=form,
                          coordinator_error=validation_message(exc), status=422)
    except AppError as exc:
        site = service.get_site(db, site_id=site_id, actor=user)
        return _site_page(request, db, user, site, coordinator_form=form,
                          coordinator_error=exc.detail, status=exc.status_code)
    return RedirectResponse(f"/sites/{site_id}?msg=coordinator_created", status_code=303)


# ------------------------------------------------------------------ invites


class InviteForm(BaseModel):
    parent_site_id: FormText = ""
    suggested_kind: FormText = ""
    note: FormText = ""
    days_valid: FormText = ""


def invite_status(invite: Invite, now: datetime) -> str:
    """open / used / expired / revoked, for the list and its labels."""
    if invite.revoked:
        return "revoked"
    if invite.used_at is not None:
        return "used"
    return "expired" if invite.expires_at <= now else "open"


def _invites(
    request: Request,
    db: Session,
    user: User,
    conference_id: int,
    *,
    form: InviteForm | None = None,
    created_url: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    conference = service.get_conference(db, conference_id=conference_id, actor=user)
    invites = service.list_invites_in_scope(db, conference_id=conference_id, actor=user)
    site_ids = [i.parent_site_id for i in invites if i.parent_site_id is not None]
    site_ids += [i.site_id for i in invites if i.site_id is not None]
    sites = service.sites_by_ids(db, conference_id=conference_id, ids=site_ids, actor=user)
    now = utcnow()
    choices = service.parent_choices(db, conference_id=conference_id, actor=user)
    return _page(
        request,
        user,
        "endpoints/invites.html",
        {
            "conference": conference,
            "rows": [(i, invite_status(i, now)) for i in invites],
            "status_labels": INVITE_STATUS_LABELS,
            "sites": sites,
            "parent_choices": choices,
            "is_admin": accounts_service.is_admin(user),
            "form": form or InviteForm(parent_site_id=str(user.site_id or "")),
            "created_url": created_url,
            "error": error,
            "notice": _notice(request.query_params.get("msg")),
            "tab": "invites",
        },
        status=status,
    )


@router.get("/conferences/{conference_id}/invites", response_class=HTMLResponse)
def invites_page(
    request: Request, conference_id: int, db: ReadDbSession, user: CurrentUser
) -> Response:
    """Invite links of a conference (a hub coordinator: those below their site)."""
    return _invites(request, db, user, conference_id)


@router.post("/conferences/{conference_id}/invites", dependencies=[CsrfChecked])
def invite_create(
    request: Request,
    conference_id: int,
    db: DbSession,
    user: CurrentUser,
    settings: SettingsDep,
    form: Annotated[InviteForm, Form()],
) -> Response:
    """Create an invite and show its link once (only a hash is stored)."""
    try:
        values = _filled(form.model_dump(), list(InviteForm.model_fields))
        data = InviteCreate.model_validate(values)
        _, token = service.create_invite(
            db, conference_id=conference_id, data=data, actor=user,
            default_days=settings.invite_days,
        )
    except ValidationError as exc:
        return _invites(request, db, user, conference_id, form=form,
                        error=validation_message(exc), status=422)
    except AppError as exc:
        return _invites(request, db, user, conference_id, form=form, error=exc.detail,
                        status=exc.status_code)
    url = f"{str(request.base_url).rstrip('/')}/invite/{token}"
    return _invites(request, db, user, conference_id, created_url=url, status=201)


@router.post("/invites/{invite_id}/revoke", dependencies=[CsrfChecked])
def invite_revoke(invite_id: int, db: DbSession, user: AdminUser) -> Response:
    """Stop an invite link from working (central office)."""
    invite = service.revoke_invite(db, invite_id=invite_id, actor=user)
    return RedirectResponse(
        f"/conferences/{invite.conference_id}/invites?msg=invite_revoked", status_code=303
    )


# --------------------------------------------------- public registration


class RegistrationForm(BaseModel):
    site_name: FormText = ""
    kind: FormText = ""
    room: FormText = ""
    expected_attendees: FormText = ""
    connection_link: FormText = ""
    full_name: FormText = ""
    phone: FormText = ""
    username: FormText = ""
    password: FormText = ""
    password_confirm: FormText = ""

    def kept(self) -> "RegistrationForm":
        """The form to show again: passwords are never sent back to the browser."""
        return self.model_copy(update={"password": "", "password_confirm": ""})


_INVITE_TITLES = {
    "invite_expired": "Liên kết mời đã hết hạn",
    "invite_used": "Liên kết mời đã được sử dụng",
    "invite_invalid": "Liên kết mời không hợp lệ",
}


def _invite_closed(request: Request, exc: AppError) -> HTMLResponse:
    return _page(
        request,
        None,
        "endpoints/invite_closed.html",
        {"title": _INVITE_TITLES.get(exc.code, "Không thể đăng ký"), "detail": exc.detail,
         "code": exc.code},
        status=exc.status_code,
    )


def _register(
    request: Request,
    details: service.InviteDetails,
    token: str,
    *,
    form: RegistrationForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    kind = details.invite.suggested_kind or ""
    return _page(
        request,
        None,
        "endpoints/register.html",
        {
            "details": details,
            "token": token,
            "form": form or RegistrationForm(kind=kind),
            "error": error,
        },
        status=status,
    )


@router.get("/invite/{token}", response_class=HTMLResponse)
def register_page(
    request: Request, token: Annotated[str, Path(max_length=200)], db: ReadDbSession
) -> Response:
    """The public registration form behind an invite link (no login)."""
    try:
        details = service.invite_details(db, token=token)
    except (errors.InviteInvalid, errors.InviteUsed, errors.InviteExpired) as exc:
        return _invite_closed(request, exc)
    return _register(request, details, token)


@router.post("/invite/{token}", dependencies=[CsrfChecked])
def register_submit(
    request: Request,
    token: Annotated[str, Path(max_length=200)],
    db: DbSession,
    form: Annotated[RegistrationForm, Form()],
) -> Response:
    """Register the site and the coordinator account; both wait for approval."""
    try:
        details = service.invite_details(db, token=token)
    except (errors.InviteInvalid, errors.InviteUsed, errors.InviteExpired) as exc:
        return _invite_closed(request, exc)
    if form.password != form.password_confirm:
        return _register(request, details, token, form=form.kept(),
                         error="Mật khẩu nhập lại không khớp.", status=422)
    fields = [f for f in RegistrationForm.model_fields if f != "password_confirm"]
    try:
        data = Registration.model_validate(
            {**_filled(form.model_dump(), fields), "site_name": form.site_name,
             "full_name": form.full_name, "password": form.password}
        )
        site, account = service.register_with_invite(db, token=token, data=data)
    except ValidationError as exc:
        return _register(request, details, token, form=form.kept(),
                         error=validation_message(exc), status=422)
    except (errors.InviteInvalid, errors.InviteUsed, errors.InviteExpired) as exc:
        return _invite_closed(request, exc)
    except AppError as exc:
        return _register(request, details, token, form=form.kept(), error=exc.detail,
                         status=exc.status_code)
    return _page(
        request,
        None,
        "endpoints/register_done.html",
        {"details": details, "site": site, "account": account},
        status=201,
    )


# ------------------------------------------------------------ approvals


def _registrations(
    request: Request,
    db: Session,
    user: User,
    conference_id: int,
    *,
    decided: bool = False,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    conference = service.get_conference(db, conference_id=conference_id, actor=user)
    rows = (
        service.list_decided_registrations(db, conference_id=conference_id, actor=user)
        if decided
        else service.list_registrations(db, conference_id=conference_id, actor=user)
    )
    parent_ids = [s.parent_id for s, _ in rows if s.parent_id is not None]
    return _page(
        request,
        user,
        "endpoints/registrations.html",
        {
            "conference": conference,
            "rows": rows,
            "parents": service.sites_by_ids(
                db, conference_id=conference_id, ids=parent_ids, actor=user
            ),
            "decided": decided,
            "is_admin": True,
            "notice": _notice(request.query_params.get("msg")),
            "error": error,
            "tab": "registrations",
        },
        status=status,
    )


@router.get("/conferences/{conference_id}/registrations", response_class=HTMLResponse)
def registrations_page(
    request: Request,
    conference_id: int,
    db: ReadDbSession,
    user: AdminUser,
    show: Annotated[str, Query(max_length=20)] = "pending",
) -> Response:
    """Sites registered through invites: waiting for a decision, or already decided."""
    return _registrations(request, db, user, conference_id, decided=show == "decided")


def _decide(request: Request, db: Session, site_id: int, user: User, *, approve: bool) -> Response:
    site = service.get_site(db, site_id=site_id, actor=user)
    conference_id = site.conference_id
    try:
        if approve:
            service.approve_registration(db, site_id=site_id, actor=user)
        else:
            service.reject_registration(db, site_id=site_id, actor=user)
    except errors.RegistrationNotPending as exc:
        return _registrations(
            request, db, user, conference_id, error=exc.detail, status=exc.status_code
        )
    return RedirectResponse(
        f"/conferences/{conference_id}/registrations?msg={'approved' if approve else 'rejected'}",
        status_code=303,
    )


@router.post("/sites/{site_id}/approve", dependencies=[CsrfChecked])
def registration_approve(
    request: Request, site_id: int, db: DbSession, user: AdminUser
) -> Response:
    """Approve a registered site; its coordinator can log in."""
    return _decide(request, db, site_id, user, approve=True)


@router.post("/sites/{site_id}/reject", dependencies=[CsrfChecked])
def registration_reject(
    request: Request, site_id: int, db: DbSession, user: AdminUser
) -> Response:
    """Reject a registered site."""
    return _decide(request, db, site_id, user, approve=False)


# ------------------------------------------------------------ site import


def _import_page(
    request: Request,
    db: Session,
    user: User,
    conference_id: int,
    *,
    report: ImportReport | None = None,
    error: AppError | None = None,
    status: int = 200,
) -> HTMLResponse:
    settings = request.app.state.settings
    extra = error.extra if error else {}
    return _page(
        request,
        user,
        "endpoints/import.html",
        {
            "conference": service.get_conference(db, conference_id=conference_id, actor=user),
            "is_admin": True,
            "tab": "sites",
            "notice": None,
            "report": asdict(report) if report else None,
            "error": error.detail if error else None,
            "error_code": error.code if error else None,
            "line_errors": extra.get("errors", []),
            "error_count": extra.get("error_count", 0),
            "warnings": extra.get("warnings", []) if error else [],
            "columns": import_columns.COLUMN_LABELS,
            "required": import_columns.REQUIRED_COLUMNS,
            "max_bytes": settings.max_import_bytes,
            "max_rows": settings.max_import_rows,
        },
        status=status,
    )


@router.get("/conferences/{conference_id}/sites/import", response_class=HTMLResponse)
def import_page(
    request: Request, conference_id: int, db: ReadDbSession, user: AdminUser
) -> Response:
    """The form to import a site tree from a CSV/XLSX file (central office)."""
    return _import_page(request, db, user, conference_id)


@router.get("/conferences/{conference_id}/sites/import/mau.csv")
def import_template(conference_id: int, db: ReadDbSession, user: AdminUser) -> Response:
    """An example file to fill in (UTF-8 CSV with the Vietnamese headers)."""
    service.get_conference(db, conference_id=conference_id, actor=user)
    return Response(
        import_columns.sample_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="mau-cay-diem-cau.csv"'},
    )


@router.post("/conferences/{conference_id}/sites/import", response_class=HTMLResponse)
async def import_submit(
    request: Request,
    conference_id: int,
    db: DbSession,
    page_db: ReadDbSession,
    user: AdminUser,
    settings: SettingsDep,
) -> Response:
    """Import the uploaded file; show the result or every bad line."""
    try:
        upload = await uploads.read_upload(request, max_bytes=settings.max_import_bytes)
        if not csrf_matches(request.cookies.get(CSRF_COOKIE), upload.fields.get(CSRF_FIELD)):
            raise CsrfFailed()
        report = await run_in_threadpool(
            imports.import_sites,
            db,
            conference_id=conference_id,
            filename=upload.filename,
            data=upload.data,
            actor=user,
            max_bytes=settings.max_import_bytes,
            max_rows=settings.max_import_rows,
        )
    except (CsrfFailed, errors.ConferenceNotFound):
        raise
    except AppError as exc:
        return await run_in_threadpool(
            _import_page, request, page_db, user, conference_id, error=exc,
            status=exc.status_code,
        )
    return await run_in_threadpool(
        _import_page, request, page_db, user, conference_id, report=report
    )
