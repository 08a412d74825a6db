"""JSON API of the live dashboard: snapshot, pages of rows, the "missing at T-15" list."""

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from app.db import ReadDbSession
from app.deps import CurrentUser
from checkin import dashboard
from checkin.board import Board, Filter
from checkin.dashboards import Dashboards
from endpoints import service as endpoints_service
from endpoints.models import MissingList
from sessions import service as sessions_service

router = APIRouter(prefix="/api/v1")
T_MINUS = timedelta(minutes=15)


def _live_board(request: Request, conference_id: int, session_id: int | None) -> Board | None:
    dashboards: Dashboards | None = getattr(request.app.state, "dashboards", None)
    if dashboards is None:
        return None
    key = session_id if session_id is not None else 0
    coalescer = dashboards.running(conference_id, key)
    return coalescer.board if coalescer is not None else None


@router.get("/conferences/{conference_id}/dashboard", tags=["dashboard"])
def dashboard_snapshot(
    conference_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    session_id: int | None = None,
    under_id: int | None = None,
) -> dict[str, Any]:
    """The dashboard snapshot of the user's scope (same body as /ws/dashboard's, version 0)."""
    return dashboard.dashboard_snapshot(
        db, conference_id=conference_id, actor=user, session_id=session_id, under_id=under_id
    ).body


@router.get("/conferences/{conference_id}/dashboard/sites", tags=["dashboard"])
def dashboard_sites(
    request: Request,
    conference_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    session_id: int | None = None,
    under_id: int | None = None,
    filter: Filter | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """A page of site rows (tree order), filtered and searched without diacritics."""
    page = dashboard.dashboard_sites(
        db, conference_id=conference_id, actor=user, session_id=session_id, under_id=under_id,
        filter=filter, q=q, offset=offset, limit=limit,
        board=_live_board(request, conference_id, session_id),
    )
    return {"total": page.total, "offset": page.offset, "limit": page.limit, "rows": page.rows}


@router.get(
    "/conferences/{conference_id}/missing", response_model=MissingList, tags=["roll-call"]
)
def missing(
    conference_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    at: datetime | None = None,
    session_id: int | None = None,
) -> MissingList:
    """Sites offline, without a screen or not ready at `at` (default: now; with a session
    and no `at`, 15 minutes before it starts once that moment has passed)."""
    if session_id is not None:
        session = sessions_service.get_session(db, session_id=session_id, actor=user)
        if at is None:
            at = session.starts_at - T_MINUS
    return endpoints_service.missing_sites(
        db, conference_id=conference_id, actor=user, at=at, session_id=session_id
    )
