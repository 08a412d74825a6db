"""JSON API of room tallies (the coordinator of the site, or the central office)."""

from typing import Annotated

from fastapi import APIRouter, Path

from app.db import DbSession, ReadDbSession
from app.deps import CookieCsrf, CurrentUser, HubDep
from checkin import tallies
from checkin.answer_models import TallyPublic, TallySubmit

router = APIRouter(prefix="/api/v1", tags=["forms"])
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
_ERRORS: dict[int | str, dict[str, str]] = {
    403: {"description": "site_out_of_scope"},
    404: {"description": "form_not_found, site_not_found, site_not_in_conference"},
    409: {"description": "form_not_open (a draft)"},
}


@router.put(
    "/forms/{form_id}/sites/{site_id}/tally", response_model=TallyPublic,
    dependencies=[CookieCsrf],
    responses={**_ERRORS, 422: {"description": "tally_invalid (with `field`)"}},
)
def put_tally(form_id: Id, site_id: Id, data: TallySubmit, db: DbSession, user: CurrentUser,
              hub: HubDep) -> TallyPublic:
    """A room's counts per option ({"<question id>": {"<option id>" or "r1".."r5": n}}):
    replaces the site's earlier tally, never adds."""
    return tallies.set_tally(db, form_id=form_id, site_id=site_id, data=data, actor=user,
                             publish=hub.publish)


@router.get("/forms/{form_id}/sites/{site_id}/tally", response_model=TallyPublic,
            responses=_ERRORS)
def get_tally(form_id: Id, site_id: Id, db: ReadDbSession, user: CurrentUser) -> TallyPublic:
    """A site's tally (empty, `entered_at` null, when none was typed) and its present count."""
    return tallies.get_tally(db, form_id=form_id, site_id=site_id, actor=user)
