"""Importing a site tree from a CSV/XLSX file (central office)."""

from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app import uploads
from app.accounts.models import User
from app.db import DbSession, ReadDbSession
from app.deps import (
    AdminUser,
    SettingsDep,
    StreamedCsrf,
    connection_settings,
)
from app.disposition import attachment
from app.errors import AppError
from app.tabular.report import ImportReport
from app.templating import render_page
from endpoints import errors, import_columns, imports, service

router = APIRouter(include_in_schema=False)


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
    settings = connection_settings(request)
    return render_page(
        request,
        user,
        "endpoints/import.html",
        {
            "conference": service.get_conference(db, conference_id=conference_id, actor=user),
            "is_admin": True,
            "tab": "sites",
            "notice": None,
            **uploads.result_context(report, error),
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
        headers=attachment("mau-cay-diem-cau.csv"),
    )


@router.post(
    "/conferences/{conference_id}/sites/import", response_class=HTMLResponse,
    dependencies=[StreamedCsrf],
)
async def import_submit(
    request: Request,
    conference_id: int,
    db: DbSession,
    page_db: ReadDbSession,
    user: AdminUser,
    settings: SettingsDep,
) -> Response:
    """Import the uploaded file; show the result or every bad line."""
    return await uploads.import_page(
        request,
        run=partial(imports.import_sites, db, conference_id=conference_id, actor=user,
                    max_rows=settings.max_import_rows),
        page=partial(_import_page, request, page_db, user, conference_id),
        max_bytes=settings.max_import_bytes,
        passthrough=(errors.ConferenceNotFound,),
    )
