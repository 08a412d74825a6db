"""HTML pages of the central office's view: the live dashboard and the printable report."""

import json
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import ReadDbSession
from app.deps import CurrentUser
from app.templating import LOCAL_TZ, render
from checkin import dashboard, reports
from endpoints import service as endpoints_service
from endpoints.models import MISSING_REASON_LABELS, READINESS_LABELS, SITE_KIND_LABELS
from sessions import service as sessions_service

router = APIRouter(include_in_schema=False)

# Beyond this many sites the printable page lists hubs only (31,000 rows do not print);
# a hub's own report (under_id) lists its sites.
MAX_PRINTED_SITES = 5_000
PAGE_SIZE = 100


def _page(
    request: Request, user: User, name: str, context: Mapping[str, Any], *, status: int = 200
) -> HTMLResponse:
    request.state.user = user
    return render(request, name, dict(context), status=status)


def _id(raw: str) -> int | None:
    # "", "0" and junk all mean "not chosen" (a bad query string is never a 500).
    value = raw.strip()
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


def _chosen_session(db: Session, user: User, conference_id: int, raw: str) -> int | None:
    """The session a page counts: the one asked for ("0": the whole conference), else the
    live one, else the whole conference."""
    if raw.strip():
        return _id(raw)
    live = sessions_service.live_session(db, conference_id=conference_id, actor=user)
    return live.id if live is not None else None


def _conference_context(db: Session, user: User, conference_id: int) -> dict[str, Any]:
    conference = endpoints_service.get_conference(db, conference_id=conference_id, actor=user)
    sessions = list(sessions_service.list_sessions(db, conference_id=conference_id, actor=user))
    return {
        "conference": conference,
        "sessions": sessions,
        "is_admin": accounts_service.is_admin(user),
    }


@router.get("/conferences/{conference_id}/report", response_class=HTMLResponse)
def report_page(
    request: Request,
    conference_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    session_id: Annotated[str, Query(max_length=20)] = "",
    under_id: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The printable Vietnamese attendance report (A4), per hub with subtotals; without
    `session_id`, of the live session if one is (0: the whole conference)."""
    context = _conference_context(db, user, conference_id)
    report = reports.attendance_report(
        db, conference_id=conference_id, actor=user,
        session_id=_chosen_session(db, user, conference_id, session_id), under_id=_id(under_id),
    )
    query = "&".join(
        f"{k}={v}" for k, v in (("session_id", report.session_id), ("under_id", report.under_id))
        if v is not None
    )
    return _page(request, user, "checkin/report.html", {
        **context,
        "tab": "report",
        "report": report,
        "generated_local": report.generated_at.astimezone(LOCAL_TZ),
        "detailed": len(report.rows) <= MAX_PRINTED_SITES,
        "max_printed": MAX_PRINTED_SITES,
        "query": f"?{query}" if query else "",
        "format_rate": reports.format_rate,
    })


@router.get("/conferences/{conference_id}/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    conference_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    session_id: Annotated[str, Query(max_length=20)] = "",
    under_id: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The live dashboard (a coordinator's is limited to their subtree); its script reads
    the rows over HTTP and follows /ws/dashboard. Without `session_id` it shows the live
    session if one is (0: the whole conference, every session counted)."""
    context = _conference_context(db, user, conference_id)
    scope = dashboard.resolve_scope(
        db, conference_id=conference_id, actor=user,
        session_id=_chosen_session(db, user, conference_id, session_id), under_id=_id(under_id),
    )
    root = (
        endpoints_service.get_site_in(db, conference_id=conference_id, site_id=scope.root,
                                      actor=user)
        if scope.root is not None else None
    )
    config = {
        "conference_id": conference_id,
        "session_id": scope.session_id,
        "under_id": _id(under_id),
        "root_id": scope.root,
        "page_size": PAGE_SIZE,
        "readiness": {str(k): v for k, v in READINESS_LABELS.items()},
        "kinds": {str(k): v for k, v in SITE_KIND_LABELS.items()},
        "reasons": MISSING_REASON_LABELS,
    }
    return _page(request, user, "checkin/dashboard.html", {
        **context,
        "tab": "dashboard",
        "scope": scope,
        "root": root,
        # "</" cannot end the <script> element that carries the JSON.
        "config_json": json.dumps(config, ensure_ascii=False).replace("</", "<\\/"),
    })
