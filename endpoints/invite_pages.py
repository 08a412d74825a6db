"""Invite links: the list, creating one (its link shown once), revoking."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import DbSession, ReadDbSession, utcnow
from app.deps import AdminUser, CsrfChecked, CurrentUser, SettingsDep
from app.errors import AppError
from app.templating import render_page
from endpoints import invites, service, site_lists
from endpoints.forms import FormText, filled, notice, validation_message
from endpoints.invite_models import Invite, InviteCreate

router = APIRouter(include_in_schema=False)


INVITE_STATUS_LABELS = {
    "open": "chưa dùng",
    "used": "đã dùng",
    "expired": "hết hạn",
    "revoked": "đã thu hồi",
}


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
    listed = invites.list_invites_in_scope(db, conference_id=conference_id, actor=user)
    site_ids = [i.parent_site_id for i in listed if i.parent_site_id is not None]
    site_ids += [i.site_id for i in listed if i.site_id is not None]
    sites = site_lists.sites_by_ids(db, conference_id=conference_id, ids=site_ids, actor=user)
    now = utcnow()
    # An invite's parent must take part in the conference the invite is for.
    offered = site_lists.parent_choices(db, actor=user)
    taking_part = site_lists.sites_by_ids(
        db, conference_id=conference_id, ids=[c.id for c in offered if c.id], actor=user
    )
    choices = [v for c in offered if (v := taking_part.get(c.id or 0)) and v.part is not None]
    return render_page(
        request,
        user,
        "endpoints/invites.html",
        {
            "conference": conference,
            "rows": [(i, invite_status(i, now)) for i in listed],
            "status_labels": INVITE_STATUS_LABELS,
            "sites": sites,
            "parent_choices": choices,
            "is_admin": accounts_service.is_admin(user),
            "form": form or InviteForm(parent_site_id=str(user.site_id or "")),
            "created_url": created_url,
            "error": error,
            "notice": notice(request.query_params.get("msg")),
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
        values = filled(form.model_dump(), list(InviteForm.model_fields))
        data = InviteCreate.model_validate(values)
        _, token = invites.create_invite(
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
    invite = invites.revoke_invite(db, invite_id=invite_id, actor=user)
    return RedirectResponse(
        f"/conferences/{invite.conference_id}/invites?msg=invite_revoked", status_code=303
    )
