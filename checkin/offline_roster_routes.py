"""JSON API of the offline desk: the roster a scanner page keeps for working offline
(the sync itself: offline_routes.py)."""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from app.db import DbSession
from app.deps import CurrentUser
from checkin import offline_roster

router = APIRouter(prefix="/api/v1")


class OfflineAttendeePublic(BaseModel):
    """What a desk keeps of one attendee: enough to find them by name and to know them."""

    id: int
    full_name: str
    unit: str | None
    site_id: int
    short_code: str
    pass_version: int
    revoked: bool
    # When they were checked in for `session_id` (or the conference) at download time.
    checked_in_at: datetime | None


class OfflineRosterPublic(BaseModel):
    """A site's offline roster, to be deleted after `delete_after` (the conference ended)."""

    conference_id: int
    site_id: int
    session_id: int | None
    ends_on: date
    delete_after: datetime
    generated_at: datetime
    truncated: bool
    sites: dict[int, str]
    attendees: list[OfflineAttendeePublic]


@router.get(
    "/sites/{site_id}/offline-roster",
    response_model=OfflineRosterPublic,
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
) -> OfflineRosterPublic:
    """The attendees of a site and the sites below it (id, name, unit, home site, short
    code, pass version), for a check-in desk that must keep working without network; with
    the conference's last day, after which the desk deletes it. Recorded as an export."""
    found = offline_roster.offline_roster(db, site_id=site_id, actor=user,
                                          conference_id=conference_id, session_id=session_id)
    # Personal data: never kept by a shared cache or the browser's HTTP cache.
    response.headers["Cache-Control"] = "private, no-store"
    return OfflineRosterPublic(
        conference_id=found.conference_id, site_id=found.site_id,
        session_id=found.session_id, ends_on=found.ends_on,
        delete_after=found.delete_after, generated_at=found.generated_at,
        truncated=found.truncated, sites=found.site_names,
        attendees=[OfflineAttendeePublic(**vars(a)) for a in found.attendees],
    )
