"""JSON API of the site-tree import (CSV/XLSX)."""

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from app import uploads
from app.db import DbSession
from app.deps import AdminUser, CookieCsrf, SettingsDep
from endpoints import imports

router = APIRouter(prefix="/api/v1")


class SiteImportResult(BaseModel):
    """What an accepted site-tree import did."""

    created: int
    rows: int
    encoding: str
    warnings: list[str]
    by_kind: dict[str, int]
    seconds: dict[str, float]


_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}
            },
        },
    }
}


@router.post(
    "/conferences/{conference_id}/sites/import",
    response_model=SiteImportResult,
    status_code=201,
    tags=["sites"],
    openapi_extra=_IMPORT_BODY,
    responses={
        413: {"description": "file_too_large, too_many_rows"},
        415: {"description": "unsupported_file, encoding_unsupported"},
        422: {"description": "import_invalid (with per-line `errors`), missing_columns"},
    },
    dependencies=[CookieCsrf],
)
async def import_sites(
    conference_id: int,
    request: Request,
    db: DbSession,
    user: AdminUser,
    settings: SettingsDep,
    filename: Annotated[str | None, Query(max_length=200)] = None,
) -> SiteImportResult:
    """Import a site tree from CSV/XLSX (multipart field `file`, or a raw text/csv body
    with `?filename=`); all rows or none, every bad line reported in `errors`."""
    report = await uploads.import_upload(
        request,
        run=partial(imports.import_sites, db, conference_id=conference_id, actor=user,
                    max_rows=settings.max_import_rows),
        max_bytes=settings.max_import_bytes,
        filename=filename,
    )
    return SiteImportResult(
        created=report.created, rows=report.rows, encoding=report.encoding,
        warnings=report.warnings, by_kind=report.counts, seconds=report.seconds,
    )
