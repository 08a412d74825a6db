"""The page that invites registry sites to a conference ("Mời điểm cầu từ danh mục")."""

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from pydantic import Field as PydField
from sqlmodel import Session

from app.accounts.models import User
from app.db import DbSession, ReadDbSession
from app.deps import AdminUser, CsrfChecked
from app.errors import AppError
from app.templating import render_page
from app.text import format_number
from endpoints import errors, participations, service
from endpoints.forms import FormText, validation_message
from endpoints.participation_models import MAX_PICKED, InviteReport, InviteSelection

router = APIRouter(include_in_schema=False)

MODES = ("all", "under", "kind", "codes")


class InviteSitesForm(BaseModel):
    mode: FormText = ""
    under_id: FormText = ""
    kind: FormText = ""
    kind_under_id: FormText = ""
    # Up to MAX_PICKED codes of at most 50 characters, one a line.
    codes: Annotated[str, PydField(max_length=MAX_PICKED * 52)] = ""


class FormProblem(Exception):
    """A form that names no selection the service could take (shown, nothing changed)."""


def _page(
    request: Request, db: Session, user: User, conference_id: int, *,
    form: InviteSitesForm | None = None, report: InviteReport | None = None,
    error: str | None = None, error_code: str | None = None, named: Sequence[int] = (),
    status: int = 200,
) -> HTMLResponse:
    return render_page(
        request, user, "endpoints/invite_sites.html",
        {
            "conference": service.get_conference(db, conference_id=conference_id, actor=user),
            "is_admin": True, "tab": "sites", "notice": None,
            "hubs": participations.hub_choices(db),
            "count": participations.participant_count(db, conference_id=conference_id),
            "form": form or InviteSitesForm(mode="all"), "report": report,
            "error": error, "error_code": error_code, "max_picked": MAX_PICKED,
            "named": participations.site_labels(db, site_ids=named),
        },
        status=status,
    )


def _selection(db: Session, form: InviteSitesForm) -> InviteSelection:
    """The service's selection for what the form chose (codes become registry ids)."""
    data: dict[str, Any]
    if form.mode == "all":
        data = {"all": True}
    elif form.mode == "under":
        data = {"under_id": form.under_id.strip() or None}
        if data["under_id"] is None:
            raise FormProblem("Hãy chọn một điểm cầu cấp tỉnh/thành.")
    elif form.mode == "kind":
        data = {"kind": form.kind.strip() or None, "under_id": form.kind_under_id.strip() or None}
    elif form.mode == "codes":
        codes = [line.strip() for line in form.codes.splitlines() if line.strip()]
        if not codes:
            raise FormProblem("Hãy dán ít nhất một mã điểm cầu, mỗi dòng một mã.")
        if len(set(codes)) > MAX_PICKED:
            raise FormProblem(
                f"Mỗi lần chỉ mời được tối đa {format_number(MAX_PICKED)} mã điểm cầu."
            )
        data = {"site_ids": participations.site_ids_for_codes(db, codes=codes)}
    else:
        raise FormProblem("Hãy chọn một cách mời điểm cầu.")
    return InviteSelection.model_validate(data)


@router.get("/conferences/{conference_id}/invite-sites", response_class=HTMLResponse)
def invite_sites_page(
    request: Request, conference_id: int, db: ReadDbSession, user: AdminUser
) -> Response:
    """The form to invite registry sites: the whole registry, a hub, a kind or codes."""
    return _page(request, db, user, conference_id)


@router.post("/conferences/{conference_id}/invite-sites", dependencies=[CsrfChecked])
def invite_sites_submit(
    request: Request, conference_id: int, db: DbSession, user: AdminUser,
    form: Annotated[InviteSitesForm, Form()],
) -> Response:
    """Invite what the form chose; show the report, or why nothing was invited."""
    try:
        selection = _selection(db, form)
        report = participations.invite_sites(
            db, conference_id=conference_id, actor=user, selection=selection
        )
    except errors.ConferenceNotFound:
        raise
    except FormProblem as exc:
        db.rollback()
        return _page(request, db, user, conference_id, form=form, error=str(exc),
                     error_code="invalid_selection", status=422)
    except ValidationError as exc:
        db.rollback()
        return _page(request, db, user, conference_id, form=form,
                     error=validation_message(exc), error_code="validation_error", status=422)
    except AppError as exc:
        db.rollback()
        return _page(request, db, user, conference_id, form=form, error=exc.detail,
                     error_code=exc.code, named=exc.extra.get("site_ids", ()),
                     status=exc.status_code)
    return _page(request, db, user, conference_id, form=form, report=report)
