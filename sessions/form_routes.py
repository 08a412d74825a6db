"""JSON API of the presenter's form commands: open, close (reopen = open again), hide."""

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from app.db import DbSession, ReadDbSession
from app.deps import CookieCsrf, CurrentUser, HubDep
from sessions import form_stage
from sessions.deps import form_counts
from sessions.models import StagePublic
from sessions.routes import stage_public

router = APIRouter(prefix="/api/v1", tags=["forms"])

_ANSWERS: dict[int | str, dict[str, Any]] = {404: {"description": "form_not_found"},
            409: {"description": "session_not_on_stage, session_closed, form_not_open"}}


@router.post("/forms/{form_id}/open", response_model=StagePublic, dependencies=[CookieCsrf],
             responses=_ANSWERS)
def open_form(form_id: int, db: DbSession, user: CurrentUser, hub: HubDep) -> StagePublic:
    """Open a form (a closed one opens again) and show it on every screen; another open
    form of the conference is closed. The form's session must be on stage."""
    return stage_public(form_stage.open_form(db, form_id=form_id, actor=user,
                                             publish=hub.publish))


@router.post("/forms/{form_id}/close", response_model=StagePublic, dependencies=[CookieCsrf],
             responses=_ANSWERS)
def close_form(form_id: int, db: DbSession, user: CurrentUser, hub: HubDep) -> StagePublic:
    """Close a form: answers are refused from now on; the screens show it closed."""
    return stage_public(form_stage.close_form(db, form_id=form_id, actor=user,
                                              publish=hub.publish))


@router.post("/forms/{form_id}/hide", response_model=StagePublic, dependencies=[CookieCsrf],
             responses=_ANSWERS)
def hide_form(form_id: int, db: DbSession, user: CurrentUser, hub: HubDep) -> StagePublic:
    """Take the form (or its results) off the screens."""
    return stage_public(form_stage.hide_form(db, form_id=form_id, actor=user,
                                             publish=hub.publish))


class FormCount(BaseModel):
    form_id: int
    count: int  # phone answers plus the people of the rooms' tallies, every site


@router.get("/forms/{form_id}/count", response_model=FormCount)
def form_count(form_id: int, request: Request, db: ReadDbSession,
               user: CurrentUser) -> FormCount:
    """How many have answered (central office: the console asks about once a second).
    From this process's live counters when they count the form, else the database."""
    form = form_stage.readable_form(db, form_id=form_id, actor=user)
    counts = form_counts(request)
    if counts is None:
        return FormCount(form_id=form_id, count=0)
    feed = counts.running(form.conference_id)
    if feed is not None and feed.form_id == form_id:
        return FormCount(form_id=form_id, count=feed.total())
    phones, tallies = counts.load(db, form_id)
    return FormCount(form_id=form_id, count=sum(phones.values()) + sum(tallies.values()))
