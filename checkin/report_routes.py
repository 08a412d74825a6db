"""Report downloads: attendance as CSV (streamed) and XLSX, per site or per hub."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from app.db import ReadDbSession
from app.deps import CurrentUser
from app.disposition import attachment
from checkin import reports

router = APIRouter(prefix="/api/v1", tags=["reports"])
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ERRORS: dict[int | str, dict[str, object]] = {
    403: {"description": "site_out_of_scope"},
    404: {"description": "conference_not_found, site_not_found, session_not_found"},
}
SessionId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
UnderId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
Level = Annotated[Literal["site", "hub"], Query()]


@router.get(
    "/conferences/{conference_id}/reports/attendance.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **_ERRORS},
)
def attendance_csv(
    conference_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    session_id: SessionId = None,
    under_id: UnderId = None,
    level: Level = "site",
) -> StreamingResponse:
    """Attendance per site (`level=site`) or per hub (`level=hub`): UTF-8 CSV with a BOM."""
    report = reports.attendance_report(
        db, conference_id=conference_id, actor=user, session_id=session_id, under_id=under_id,
        with_sessions=False,
    )
    rows = reports.site_csv_rows(report) if level == "site" else reports.group_csv_rows(report)
    suffix = "" if level == "site" else "-theo-tinh"
    return StreamingResponse(
        reports.csv_chunks(rows),
        media_type="text/csv; charset=utf-8",
        headers=attachment(f"{reports.file_stem(report)}{suffix}.csv"),
    )


@router.get(
    "/conferences/{conference_id}/reports/attendance.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX_TYPE: {}}}, **_ERRORS},
)
def attendance_xlsx(
    conference_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    session_id: SessionId = None,
    under_id: UnderId = None,
) -> Response:
    """Attendance as an Excel workbook: sheets per site, per hub and per session."""
    report = reports.attendance_report(
        db, conference_id=conference_id, actor=user, session_id=session_id, under_id=under_id
    )
    return Response(
        reports.xlsx_bytes(report),
        media_type=XLSX_TYPE,
        headers=attachment(f"{reports.file_stem(report)}.xlsx"),
    )
