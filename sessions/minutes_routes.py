"""Downloads of a session's minutes: who spoke and the approved questions, CSV and XLSX."""

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse

from app.db import DbSession
from app.deps import CurrentUser
from app.disposition import attachment
from app.tabular import export
from sessions import minutes

router = APIRouter(prefix="/api/v1", tags=["floor"])
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ERRORS: dict[int | str, dict[str, object]] = {404: {"description": "session_not_found"}}


@router.get(
    "/sessions/{session_id}/minutes.csv", response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **_ERRORS},
)
def minutes_csv(session_id: int, db: DbSession, user: CurrentUser) -> StreamingResponse:
    """The minutes as UTF-8 CSV with a BOM (formula-safe); the download is audited."""
    report = minutes.minutes_report(db, session_id=session_id, actor=user)
    minutes.record_export(db, report, fmt="csv")
    return StreamingResponse(
        export.csv_chunks(minutes.csv_rows(report)), media_type="text/csv; charset=utf-8",
        headers=attachment(f"{minutes.file_stem(report)}.csv"),
    )


@router.get(
    "/sessions/{session_id}/minutes.xlsx", response_class=Response,
    responses={200: {"content": {XLSX_TYPE: {}}}, **_ERRORS},
)
def minutes_xlsx(session_id: int, db: DbSession, user: CurrentUser) -> Response:
    """The minutes as an Excel workbook (speeches, questions); the download is audited."""
    report = minutes.minutes_report(db, session_id=session_id, actor=user)
    minutes.record_export(db, report, fmt="xlsx")
    return Response(minutes.xlsx_bytes(report), media_type=XLSX_TYPE,
                    headers=attachment(f"{minutes.file_stem(report)}.xlsx"))
