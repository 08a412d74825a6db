"""JSON API of the offline desk: the roster a scanner page keeps for working offline
(the sync itself: offline_routes.py)."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.db import DbSession
from app.deps import CurrentUser
from checkin import offline_roster

router = APIRouter(prefix="/api/v1")


@router.get(
    "/sites/{site_id}/offline-roster",
    response_model=offline_roster.OfflineRoster,
    tags=["attendees"],
    responses={404: {"description": "site_not_found, site_not_in_conference"},
               403: {"description": "site_out_of_scope"}},
)
def get_offline_roster(
    site_id: int,
    db: DbSession,
    user: CurrentUser,
    response: Response,
    conference_id: Annotated[int | None, Query(ge=1, lt=2**31)] = None,
    session_id: Annotated[int | None, Query(ge=1, lt=2**31)] = None,
) -> offline_roster.OfflineRoster:
    """The attendees of a site and the sites below it (id, name, unit, home site, short
    code, pass version), for a check-in desk that must keep working without network; with
    the conference's last day, after which the desk deletes it. Recorded as an export."""
    found = offline_roster.offline_roster(db, site_id=site_id, actor=user,
                                          conference_id=conference_id, session_id=session_id)
    # Personal data: never kept by a shared cache or the browser's HTTP cache.
    response.headers["Cache-Control"] = "private, no-store"
    return found
