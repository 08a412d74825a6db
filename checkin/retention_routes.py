"""JSON API of the retention purge (central office): preview, and purge now."""

from typing import Annotated

from fastapi import APIRouter, Body

from app.db import DbSession, ReadDbSession, local_today
from app.deps import AdminUser, CookieCsrf
from checkin import retention
from checkin.retention_models import PurgeReport, PurgeRequest, RetentionPlan

router = APIRouter(prefix="/api/v1", tags=["retention"])


@router.get(
    "/conferences/{conference_id}/retention",
    response_model=RetentionPlan,
    responses={403: {"description": "admin_only"},
               404: {"description": "conference_not_found"}},
)
def retention_plan(conference_id: int, db: ReadDbSession, user: AdminUser) -> RetentionPlan:
    """Until when the conference keeps identities, whether it is due, and what a purge
    would change now (counts only). Changes nothing."""
    return retention.purge_plan(db, conference_id=conference_id, today=local_today())


@router.post(
    "/conferences/{conference_id}/purge",
    response_model=PurgeReport,
    responses={
        403: {"description": "admin_only"},
        404: {"description": "conference_not_found"},
        409: {"description": "conference_not_ended, retention_not_over (without `early`), "
                             "conference_already_purged"},
    },
)
def purge_conference(
    conference_id: int,
    db: DbSession,
    user: AdminUser,
    # After the user: an anonymous call is told to log in (401), not about CSRF.
    _csrf: Annotated[None, CookieCsrf],
    body: Annotated[PurgeRequest | None, Body()] = None,
) -> PurgeReport:
    """Replace the identities of an ended conference by anonymous ids now, as the daily
    job does once its retention period is over; before that only with `early: true`.
    A running conference is refused (409 conference_not_ended) and nothing changes.
    No body: `{"early": false}`."""
    return retention.purge(db, conference_id=conference_id, today=local_today(),
                           early=body is not None and body.early)
