"""JSON API of a conference's participants: inviting registry sites."""

from typing import Annotated

from fastapi import APIRouter

from app.db import DbSession
from app.deps import AdminUser, CookieCsrf
from endpoints import participations
from endpoints.participation_models import InviteReport, InviteSelection

router = APIRouter(prefix="/api/v1")


@router.post(
    "/conferences/{conference_id}/participants",
    response_model=InviteReport,
    tags=["participants"],
    responses={
        403: {"description": "admin_only"},
        404: {"description": "conference_not_found, site_not_found (with `site_ids`)"},
        409: {"description": "site_inactive, site_already_invited (with `site_ids`)"},
        422: {"description": "validation_error: not exactly one selection"},
    },
)
def invite_sites(
    conference_id: int,
    selection: InviteSelection,
    db: DbSession,
    user: AdminUser,
    # After the user: an anonymous call is told to log in (401), not about CSRF.
    _csrf: Annotated[None, CookieCsrf],
) -> InviteReport:
    """Invite registry sites, with the sites above them (central office): `all`, a
    branch (`under_id`), a `kind` (optionally under `under_id`) or up to 5,000 `site_ids`.
    A hand-picked list is refused whole if a site is unknown, merged, retired, pending
    or already invited; a bulk selection skips and counts the sites already in."""
    return participations.invite_sites(
        db, conference_id=conference_id, actor=user, selection=selection
    )
