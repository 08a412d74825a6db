"""JSON API of a conference's participants that check-in must guard (removing a site)."""

from fastapi import APIRouter

from app.db import DbSession
from app.deps import CookieCsrf, CurrentUser
from checkin import participations

router = APIRouter(prefix="/api/v1")


@router.delete(
    "/conferences/{conference_id}/sites/{site_id}",
    status_code=204,
    tags=["sites"],
    dependencies=[CookieCsrf],
    responses={
        403: {"description": "admin_only: the central office removes sites"},
        404: {"description": "conference_not_found, site_not_found, site_not_in_conference"},
        409: {"description": "site_has_attendance: it or a site below it has check-ins, "
                             "headcounts or attendees in this conference"},
    },
)
def remove_site(conference_id: int, site_id: int, db: DbSession, user: CurrentUser) -> None:
    """Take a site and the sites below it out of the conference; the registry keeps them."""
    participations.remove_site(db, conference_id=conference_id, site_id=site_id, actor=user)
