"""The effectiveness report over the API: JSON (a level's rows, sorted and filtered), CSV
(streamed, one level) and XLSX (every level); downloads are audited."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from app.db import DbSession, ReadDbSession
from app.deps import CurrentUser
from app.disposition import attachment
from app.tabular import export
from checkin import effectiveness, effectiveness_files
from checkin.effectiveness_rows import Level, RowFilter, SortKey, select_rows

router = APIRouter(prefix="/api/v1", tags=["reports"])
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ERRORS: dict[int | str, dict[str, object]] = {
    403: {"description": "site_out_of_scope"},
    404: {"description": "conference_not_found, site_not_found, effect_pair_not_found"},
}
Id = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
Search = Annotated[str | None, Query(max_length=200)]


@router.get("/conferences/{conference_id}/effectiveness", responses=_ERRORS)
def effectiveness_json(
    conference_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    pre_id: Id = None,
    under_id: Id = None,
    level: Level = "site",
    q: Search = None,
    filter: RowFilter | None = None,
    sort: SortKey = "tree",
    desc: bool = False,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, object]:
    """Participation, pre/post means, change, gain g, paired change and satisfaction at a
    level (`site`, `hub`, `province`), with the totals and the questions most answered wrong."""
    report = effectiveness.effectiveness_report(
        db, conference_id=conference_id, actor=user, pre_id=pre_id, under_id=under_id)
    effectiveness.note_view(db, report, where="api")
    post_id = report.post.id if report.post else None
    rows = select_rows(report.level(level), post_id=post_id, q=q, filter=filter, sort=sort,
                       desc=desc)
    return effectiveness.report_body(report, rows, level=level, offset=offset, limit=limit)


@router.get(
    "/conferences/{conference_id}/effectiveness.csv", response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **_ERRORS},
)
def effectiveness_csv(
    conference_id: int,
    db: DbSession,
    user: CurrentUser,
    pre_id: Id = None,
    under_id: Id = None,
    level: Level = "site",
) -> StreamingResponse:
    """One level as UTF-8 CSV with a BOM (formula-safe); the download is audited."""
    report = effectiveness.effectiveness_report(
        db, conference_id=conference_id, actor=user, pre_id=pre_id, under_id=under_id)
    effectiveness.record_export(db, report, fmt="csv", level=level)
    return StreamingResponse(
        export.csv_chunks(effectiveness_files.csv_rows(report, level)),
        media_type="text/csv; charset=utf-8",
        headers=attachment(f"{effectiveness_files.file_stem(report, level)}.csv"),
    )


@router.get(
    "/conferences/{conference_id}/effectiveness.xlsx", response_class=Response,
    responses={200: {"content": {XLSX_TYPE: {}}}, **_ERRORS},
)
def effectiveness_xlsx(
    conference_id: int,
    db: DbSession,
    user: CurrentUser,
    pre_id: Id = None,
    under_id: Id = None,
) -> Response:
    """Every level and the questions most answered wrong as a workbook; audited."""
    report = effectiveness.effectiveness_report(
        db, conference_id=conference_id, actor=user, pre_id=pre_id, under_id=under_id)
    effectiveness.record_export(db, report, fmt="xlsx", level="site")
    return Response(effectiveness_files.xlsx_bytes(report), media_type=XLSX_TYPE,
                    headers=attachment(f"{effectiveness_files.file_stem(report)}.xlsx"))
