"""The audit log for the central office over JSON (`GET /api/v1/audit`, paged) and CSV
(`GET /api/v1/audit.csv`), and the filter and export pieces the page shares.

Reading the log opens personal values, so a read that opened any is itself recorded
(action "view", object "audit_log") and every export is (action "export").
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from app.audit import browse
from app.audit.errors import BadAuditFilter
from app.audit.service import record
from app.db import DbSession, ReadDbSession
from app.deps import AdminUser, connection_read_engine
from app.disposition import attachment
from app.tabular.export import csv_chunks

router = APIRouter(prefix="/api/v1", tags=["audit"])
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")  # a time typed without an offset is Vietnam's
_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "admin_only"}, 422: {"description": "audit_filter_invalid"},
}
Text = Annotated[str, Query(max_length=100)]


def _number(name: str, value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 2**31:
        raise BadAuditFilter(f"Bộ lọc nhật ký không hợp lệ: “{name}” phải là một số.")
    return int(value)


def _moment(name: str, value: str, *, end: bool) -> datetime | None:
    """A bound of the time filter: a date (the whole day), a local time or an ISO time."""
    value = value.strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time.max if end else time.min)
        else:
            moment = datetime.fromisoformat(value)
            if end and moment.second == 0 and moment.microsecond == 0 and len(value) <= 16:
                moment += timedelta(seconds=59, microseconds=999_999)  # "to 15:30" keeps 15:30
        local = moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)
        return local.astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # year 1 at +07:00 is before year 1 in UTC
        raise BadAuditFilter(
            f"Bộ lọc nhật ký không hợp lệ: “{name}” cần dạng 2026-12-31 hoặc 2026-12-31T08:00."
        ) from exc


def audit_filter(
    who: Text = "", role: Text = "", action: Text = "", object_type: Text = "",
    object_id: Text = "", conference_id: Text = "", site_id: Text = "",
    since: Annotated[str, Query(alias="from", max_length=40)] = "",
    until: Annotated[str, Query(alias="to", max_length=40)] = "",
) -> browse.AuditFilter:
    """The filters of a query string (an empty field is no filter)."""
    if role and role not in browse.ROLES:
        raise BadAuditFilter("Bộ lọc nhật ký không hợp lệ: vai trò không có trong danh sách.")
    return browse.AuditFilter(
        who=who.strip() or None, role=role or None, action=action.strip() or None,
        object_type=object_type.strip() or None, object_id=object_id.strip() or None,
        conference_id=_number("hội nghị", conference_id), site_id=_number("điểm cầu", site_id),
        since=_moment("từ", since, end=False), until=_moment("đến", until, end=True),
    )


AuditFilterDep = Annotated[browse.AuditFilter, Depends(audit_filter)]
Before = Annotated[int | None, Query(ge=1, le=2**63 - 1)]


def record_view(db: Session, *, entries: list[browse.OpenEntry], filters: browse.AuditFilter,
                where: str) -> None:
    """Record that personal values were shown, when any were."""
    opened = [e.id for e in entries if e.opened]
    if not opened:
        return
    record(db, action="view", object_type="audit_log", detail={
        "where": where, "filters": filters.described(), "entries": len(entries),
        "opened": len(opened), "from_id": entries[-1].id, "to_id": entries[0].id,
    })
    db.commit()


def export_csv(request: Request, db: Session, *, filters: browse.AuditFilter,
               where: str) -> StreamingResponse:
    """Every matching entry as UTF-8 CSV with a BOM, formula-safe; the export is recorded
    (committed before the first byte goes out)."""
    record(db, action="export", object_type="audit_log",
           detail={"where": where, "filters": filters.described(), "format": "csv"})
    db.commit()
    engine = connection_read_engine(request)

    def chunks() -> Iterator[bytes]:
        with engine.connect() as conn:
            yield from csv_chunks(browse.csv_rows(browse.every(conn, filters=filters)))

    stamp = datetime.now(LOCAL_TZ).strftime("%Y%m%d-%H%M")
    return StreamingResponse(chunks(), media_type="text/csv; charset=utf-8",
                             headers=attachment(f"nhat-ky-kiem-toan-{stamp}.csv"))


@router.get("/audit", responses=_ERRORS)
def audit_entries(
    db: ReadDbSession, writer: DbSession, user: AdminUser, filters: AuditFilterDep,
    before: Before = None, limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Entries newest first with personal values opened; `next_before` pages on."""
    entries, next_before = browse.page(db.connection(), filters=filters, before=before,
                                       limit=limit)
    record_view(writer, entries=entries, filters=filters, where="api")
    return {"entries": [e.as_json() for e in entries], "next_before": next_before}


@router.get("/audit.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}, **_ERRORS})
def audit_csv(
    request: Request, writer: DbSession, user: AdminUser, filters: AuditFilterDep
) -> StreamingResponse:
    """Every matching entry as CSV (UTF-8 with a BOM, text cells formula-safe)."""
    return export_csv(request, writer, filters=filters, where="api")
