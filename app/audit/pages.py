"""The central office's audit log page (`/audit`: filters, newest first, keyset pages)
and its CSV download (`/audit.csv`)."""

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from app.audit import browse
from app.audit.policy import declared
from app.audit.routes import AuditFilterDep, Before, export_csv, record_view
from app.db import DbSession, ReadDbSession
from app.deps import AdminUser
from app.templating import render_page

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
FIELDS = ("who", "role", "action", "object_type", "object_id", "conference_id", "site_id",
          "from", "to")
ROLE_LABELS = {
    "admin": "Ban tổ chức", "coordinator": "Cán bộ điểm cầu", "attendee": "Đại biểu",
    "anonymous": "Khách (chưa đăng nhập)", "system": "Hệ thống",
}
ACTION_LABELS = {
    "create": "Tạo", "update": "Sửa", "delete": "Xoá", "view": "Xem", "export": "Xuất",
}


def _raw(request: Request) -> dict[str, str]:
    """The filters as typed, to fill the form and the paging links again."""
    return {name: request.query_params.get(name, "")[:100] for name in FIELDS}


def _link(raw: dict[str, str], **extra: Any) -> str:
    return urlencode({**{k: v for k, v in raw.items() if v}, **extra})


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, db: ReadDbSession, writer: DbSession, user: AdminUser,
    filters: AuditFilterDep, before: Before = None,
    limit: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZE,
) -> Response:
    """Who did what, when, where: the log with personal values opened, filtered."""
    entries, next_before = browse.page(db.connection(), filters=filters, before=before,
                                       limit=limit)
    record_view(writer, entries=entries, filters=filters, where="page")
    raw = _raw(request)
    context = {
        "entries": entries, "query": raw, "before": before,
        "next_link": None if next_before is None else f"?{_link(raw, before=next_before)}",
        "first_link": f"?{_link(raw)}", "csv_link": f"/audit.csv?{_link(raw)}",
        "ROLE_LABELS": ROLE_LABELS, "ACTION_LABELS": ACTION_LABELS,
        "object_types": sorted(declared() | {"audit_log"}),
    }
    return render_page(request, user, "audit/log.html", context)


@router.get("/audit.csv", response_class=StreamingResponse)
def audit_page_csv(
    request: Request, writer: DbSession, user: AdminUser, filters: AuditFilterDep
) -> StreamingResponse:
    """The filtered log as CSV (the page's download button)."""
    return export_csv(request, writer, filters=filters, where="page")
