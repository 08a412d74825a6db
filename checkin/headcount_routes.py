"""JSON API of headcounts and attendance totals."""


from fastapi import APIRouter

from app.db import DbSession, ReadDbSession
from app.deps import CookieCsrf, CurrentUser, HubDep
from checkin import attendance as attendance_counts
from checkin import headcounts
from checkin.models import (
    AttendancePublic,
    Headcount,
    HeadcountCreate,
    HeadcountPublic,
)

router = APIRouter(prefix="/api/v1")


def _headcount(h: Headcount) -> HeadcountPublic:
    assert h.id is not None
    return HeadcountPublic(
        id=h.id, conference_id=h.conference_id, site_id=h.site_id,
        session_id=h.session_key or None, counts=dict(h.counts), total=h.total,
        reported_by=h.reported_by, reported_at=h.reported_at, superseded=h.superseded,
    )


@router.post(
    "/sites/{site_id}/headcounts",
    response_model=HeadcountPublic,
    status_code=201,
    tags=["headcounts"],
    dependencies=[CookieCsrf],
)
def report_headcount(
    site_id: int, data: HeadcountCreate, db: DbSession, user: CurrentUser, hub: HubDep
) -> HeadcountPublic:
    """Report how many are present (by category); replaces the site's earlier report."""
    report = headcounts.report_headcount(
        db,
        site_id=site_id,
        session_id=data.session_id,
        counts={str(k): v for k, v in data.counts.items()},
        actor=user,
        publish=hub.publish,
        conference_id=data.conference_id,
    )
    return _headcount(report)


@router.get(
    "/sites/{site_id}/headcounts", response_model=list[HeadcountPublic], tags=["headcounts"]
)
def list_headcounts(
    site_id: int, db: ReadDbSession, user: CurrentUser, session_id: int | None = None,
    conference_id: int | None = None,
) -> list[HeadcountPublic]:
    """Reports of a site in a conference (default: the session's, else the site's current),
    newest first; the first not superseded is the current one."""
    return [
        _headcount(h)
        for h in headcounts.list_headcounts(db, site_id=site_id, actor=user, session_id=session_id,
                                            conference_id=conference_id)
    ]


@router.get(
    "/conferences/{conference_id}/attendance", response_model=AttendancePublic, tags=["checkins"]
)
def attendance(
    conference_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    session_id: int | None = None,
    site_id: int | None = None,
) -> AttendancePublic:
    """Totals and per-site counts: checked in, headcount reported, expected, screens online."""
    return attendance_counts.attendance_summary(
        db, conference_id=conference_id, actor=user, session_id=session_id, site_id=site_id
    )
