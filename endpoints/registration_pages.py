"""Registration through an invite link (public) and the central office's approvals."""

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from app.accounts.models import User
from app.audit import spool
from app.config import Settings
from app.db import DbSession, ReadDbSession
from app.deps import AdminUser, CsrfChecked, SettingsDep
from app.errors import AppError
from app.templating import render_page
from endpoints import errors, invites, privacy, registrations, service, site_lists
from endpoints.forms import FormText, filled, notice, validation_message
from endpoints.invite_models import Registration

router = APIRouter(include_in_schema=False)


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
    # The privacy notice box, and the version of the notice the page showed.
    accept_notice: FormText = ""
    notice_version: FormText = ""

    def kept(self, *, accepted: bool = True) -> "RegistrationForm":
        """The form to show again: passwords are never sent back to the browser (nor the
        acceptance of a notice that changed meanwhile)."""
        update = {"password": "", "password_confirm": ""}
        if not accepted:
            update["accept_notice"] = ""
        return self.model_copy(update=update)


_INVITE_TITLES = {
    "invite_expired": "Liên kết mời đã hết hạn",
    "invite_used": "Liên kết mời đã được sử dụng",
    "invite_invalid": "Liên kết mời không hợp lệ",
}


def _invite_closed(request: Request, exc: AppError) -> HTMLResponse:
    return render_page(
        request,
        None,
        "endpoints/invite_closed.html",
        {"title": _INVITE_TITLES.get(exc.code, "Không thể đăng ký"), "detail": exc.detail,
         "code": exc.code},
        status=exc.status_code,
    )


def _register(
    request: Request,
    details: invites.InviteDetails,
    token: str,
    settings: Settings,
    *,
    form: RegistrationForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    kind = details.invite.suggested_kind or ""
    return render_page(
        request,
        None,
        "endpoints/register.html",
        {
            "details": details,
            "token": token,
            "form": form or RegistrationForm(kind=kind),
            "error": error,
            "privacy": privacy.notice_of(details.conference,
                                         controller=privacy.controller_of(settings)),
        },
        status=status,
    )


@router.get("/invite/{token}", response_class=HTMLResponse)
def register_page(
    request: Request, token: Annotated[str, Path(max_length=200)], db: ReadDbSession,
    settings: SettingsDep,
) -> Response:
    """The public registration form behind an invite link (no login)."""
    try:
        details = invites.invite_details(db, token=token)
    except (errors.InviteInvalid, errors.InviteUsed, errors.InviteExpired) as exc:
        return _invite_closed(request, exc)
    return _register(request, details, token, settings)


@router.post("/invite/{token}", dependencies=[CsrfChecked])
def register_submit(
    request: Request,
    token: Annotated[str, Path(max_length=200)],
    db: DbSession,
    settings: SettingsDep,
    form: Annotated[RegistrationForm, Form()],
) -> Response:
    """Register the site and the coordinator account; both wait for approval."""
    try:
        details = invites.invite_details(db, token=token)
    except (errors.InviteInvalid, errors.InviteUsed, errors.InviteExpired) as exc:
        return _invite_closed(request, exc)
    if form.password != form.password_confirm:
        return _register(request, details, token, settings, form=form.kept(),
                         error="Mật khẩu nhập lại không khớp.", status=422)
    fields = [f for f in RegistrationForm.model_fields if f != "password_confirm"]
    try:
        data = Registration.model_validate(
            {**filled(form.model_dump(), fields), "site_name": form.site_name,
             "full_name": form.full_name, "password": form.password}
        )
        site, account = invites.register_with_invite(db, token=token, data=data)
    except ValidationError as exc:
        return _register(request, details, token, settings, form=form.kept(),
                         error=validation_message(exc), status=422)
    except (errors.InviteInvalid, errors.InviteUsed, errors.InviteExpired) as exc:
        return _invite_closed(request, exc)
    except AppError as exc:
        if isinstance(exc, errors.NoticeChanged):
            # Show the new version: the coordinator reads it and accepts it again.
            db.rollback()
            details = invites.invite_details(db, token=token)
        return _register(request, details, token, settings,
                         form=form.kept(accepted=not isinstance(exc, errors.NoticeChanged)),
                         error=exc.detail, status=exc.status_code)
    return render_page(
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
        registrations.list_decided_registrations(db, conference_id=conference_id, actor=user)
        if decided
        else registrations.list_registrations(db, conference_id=conference_id, actor=user)
    )
    parent_ids = [s.parent_id for s, _ in rows if s.parent_id is not None]
    return render_page(
        request,
        user,
        "endpoints/registrations.html",
        {
            "conference": conference,
            "rows": rows,
            "parents": site_lists.sites_by_ids(
                db, conference_id=conference_id, ids=parent_ids, actor=user
            ),
            "decided": decided,
            "is_admin": True,
            "notice": notice(request.query_params.get("msg")),
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
    spool.viewed(db, what="registration_list", conference_id=conference_id)  # names, phones
    return _registrations(request, db, user, conference_id, decided=show == "decided")


def _decide(request: Request, db: Session, site_id: int, user: User, *, approve: bool) -> Response:
    service.get_site(db, site_id=site_id, actor=user)
    conference_id = registrations.registered_for(db, site_id=site_id)
    if conference_id is None:
        raise errors.SiteNotInConference()
    try:
        if approve:
            registrations.approve_registration(db, site_id=site_id, actor=user)
        else:
            registrations.reject_registration(db, site_id=site_id, actor=user)
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
