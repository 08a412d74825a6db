"""Importing an attendee roster from a CSV/XLSX file: the page beside the site-tree import.

Who may: whoever the API lets (`roster_import.import_attendees`): the central office for
any site of the conference, a coordinator for the sites of their own subtree (a line
naming another site is reported as `unknown_site`, and nothing is imported).
"""

from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app import uploads
from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import DbSession, ReadDbSession
from app.deps import (
    CurrentUser,
    SettingsDep,
    StreamedCsrf,
    connection_settings,
)
from app.disposition import attachment
from app.errors import AppError
from app.tabular.report import ImportReport
from app.templating import render_page
from checkin import roster_import
from checkin.basis import BASES, parse_basis
from endpoints import errors as endpoints_errors
from endpoints import service as endpoints_service

router = APIRouter(include_in_schema=False)


def _roster_page(
    request: Request,
    db: Session,
    user: User,
    conference_id: int,
    *,
    report: ImportReport | None = None,
    error: AppError | None = None,
    status: int = 200,
) -> HTMLResponse:
    settings = connection_settings(request)
    conference = endpoints_service.get_conference(db, conference_id=conference_id, actor=user)
    return render_page(
        request,
        user,
        "checkin/roster_import.html",
        {
            "conference": conference,
            "is_admin": accounts_service.is_admin(user),
            "tab": "sites",
            "notice": None,
            **uploads.result_context(report, error),
            "columns": roster_import.COLUMN_LABELS,
            "bases": BASES,
            "max_bytes": settings.max_import_bytes,
            "max_rows": settings.max_roster_rows,
        },
        status=status,
    )


@router.get("/conferences/{conference_id}/attendees/import", response_class=HTMLResponse)
def roster_import_page(
    request: Request, conference_id: int, db: ReadDbSession, user: CurrentUser
) -> Response:
    """The form to import attendees from a CSV/XLSX file (into the sites in one's scope)."""
    return _roster_page(request, db, user, conference_id)


@router.get("/conferences/{conference_id}/attendees/import/mau.csv")
def roster_template(conference_id: int, db: ReadDbSession, user: CurrentUser) -> Response:
    """A file to fill in: the Vietnamese headers and two example lines whose site codes
    are real sites of the caller's scope (UTF-8 CSV with a BOM, for Excel)."""
    codes = roster_import.example_codes(db, conference_id=conference_id, actor=user)
    return Response(
        roster_import.sample_csv(codes),
        media_type="text/csv; charset=utf-8",
        headers=attachment("mau-danh-sach-dai-bieu.csv"),
    )


@router.post(
    "/conferences/{conference_id}/attendees/import", response_class=HTMLResponse,
    dependencies=[StreamedCsrf],
)
async def roster_import_submit(
    request: Request,
    conference_id: int,
    db: DbSession,
    page_db: ReadDbSession,
    user: CurrentUser,
    settings: SettingsDep,
) -> Response:
    """Import the uploaded roster; show what was added, or every bad line (nothing added)."""
    return await uploads.import_page(
        request,
        run=partial(_import, db, conference_id=conference_id, actor=user,
                    max_rows=settings.max_roster_rows),
        page=partial(_roster_page, request, page_db, user, conference_id),
        max_bytes=settings.max_import_bytes,
        passthrough=(endpoints_errors.ConferenceNotFound,),
        fields=("basis",),
    )


def _import(
    db: Session, *, conference_id: int, actor: User, max_rows: int, filename: str,
    data: bytes, max_bytes: int, basis: str,
) -> ImportReport:
    """The import with the basis the form requires (chosen before anything is read)."""
    return roster_import.import_attendees(
        db, conference_id=conference_id, actor=actor, max_rows=max_rows, filename=filename,
        data=data, max_bytes=max_bytes, basis=parse_basis(basis, required=True),
    )
