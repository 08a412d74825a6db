"""The privacy notice: the public page anyone reads (no login) and the central office's
form to edit it and the retention period."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.accounts.models import User
from app.config import Settings
from app.db import DbSession, ReadDbSession
from app.deps import AdminUser, CsrfChecked, SettingsDep
from app.errors import AppError
from app.templating import render_page
from endpoints import errors, privacy, service
from endpoints.forms import FormText, notice

router = APIRouter(include_in_schema=False)


class PrivacyForm(BaseModel):
    text: Annotated[str, Field(max_length=100_000)] = ""
    retention_days: FormText = ""
    # The "back to the default text" button.
    reset: FormText = ""


@router.get("/privacy/{conference_id}", response_class=HTMLResponse)
def notice_page(
    request: Request, conference_id: int, db: ReadDbSession, settings: SettingsDep
) -> Response:
    """A conference's privacy notice, for attendees and registering coordinators (no login)."""
    found = privacy.public_notice(db, conference_id=conference_id,
                                  controller=privacy.controller_of(settings))
    return render_page(request, None, "endpoints/privacy.html", {"notice": found})


def _edit_page(
    request: Request,
    db: Session,
    user: User,
    conference_id: int,
    settings: Settings,
    *,
    form: PrivacyForm | None = None,
    error: AppError | None = None,
) -> HTMLResponse:
    conference = service.get_conference(db, conference_id=conference_id, actor=user)
    current = privacy.privacy_settings(db, conference_id=conference_id, actor=user,
                                       controller=privacy.controller_of(settings))
    return render_page(
        request,
        user,
        "endpoints/privacy_edit.html",
        {
            "conference": conference,
            "current": current,
            "text": form.text if form else current.text,
            "retention_days": form.retention_days if form else str(current.retention_days),
            "max_chars": privacy.MAX_NOTICE_CHARS,
            "error": error.detail if error else None,
            "error_code": error.code if error else None,
            "is_admin": True,
            "tab": "privacy",
            "notice": notice(request.query_params.get("msg")),
        },
        status=error.status_code if error else 200,
    )


@router.get("/conferences/{conference_id}/privacy", response_class=HTMLResponse)
def privacy_edit_page(
    request: Request, conference_id: int, db: ReadDbSession, user: AdminUser,
    settings: SettingsDep,
) -> Response:
    """The notice and the retention period of a conference, editable (central office)."""
    return _edit_page(request, db, user, conference_id, settings)


def _days(raw: str) -> int:
    value = raw.strip().replace(".", "")
    if not value.isdigit() or len(value) > 6:
        raise errors.RetentionOutOfRange()
    return int(value)


@router.post("/conferences/{conference_id}/privacy", dependencies=[CsrfChecked])
def privacy_edit_submit(
    request: Request,
    conference_id: int,
    db: DbSession,
    user: AdminUser,
    settings: SettingsDep,
    form: Annotated[PrivacyForm, Form()],
) -> Response:
    """Save the notice (empty, or the reset button: the default text) and the retention
    period; a change of the text read gives the notice a new version."""
    try:
        privacy.update_privacy(
            db, conference_id=conference_id, actor=user,
            controller=privacy.controller_of(settings),
            text="" if form.reset else form.text, retention_days=_days(form.retention_days),
        )
    except (errors.NoticeTooLong, errors.NoticeInvalid, errors.RetentionOutOfRange) as exc:
        db.rollback()
        return _edit_page(request, db, user, conference_id, settings, form=form, error=exc)
    return RedirectResponse(f"/conferences/{conference_id}/privacy?msg=privacy_saved",
                            status_code=303)
