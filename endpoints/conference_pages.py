"""The conference list and the form that adds a conference."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import DbSession, ReadDbSession
from app.deps import AdminUser, CsrfChecked, CurrentUser
from app.errors import AppError
from app.templating import render_page
from endpoints import service
from endpoints.forms import FormText, validation_message
from endpoints.models import ConferenceCreate

router = APIRouter(include_in_schema=False)


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
    return render_page(
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
