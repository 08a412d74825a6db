"""Use cases of the floor: a site asks to speak, the chair gives, declines or ends.

Every change commits before it publishes. A change of the queue bumps the session's
`floor_version` and tells the chairs' views (`events.floor_channel`); a change of who
speaks, or of the time limit, bumps the stage too, so every screen's snapshot carries
the speaker and a screen that reconnects shows it at once.
"""

from collections.abc import Callable
from typing import NamedTuple

from sqlmodel import Session, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.audit import spool
from app.db import utcnow
from app.realtime import Publish
from endpoints import errors as endpoints_errors
from endpoints import service as endpoints_service
from sessions import errors, floor_statements
from sessions.floor_models import (
    FloorAsk,
    FloorRequest,
    FloorStatus,
)
from sessions.loading import load_session
from sessions.models import ConferenceSession, SessionStatus, Stage
from sessions.stage import (
    StageView,
    announce,
    bump_floor,
    finish_speaker,
    locked_stage,
    restage,
    tell_chairs,
)


def _open_session(db: Session, session_id: int) -> ConferenceSession:
    session = load_session(db, session_id)
    if session.status == SessionStatus.closed:
        raise errors.SessionClosed()
    return session


class Asked(NamedTuple):
    """An ask's outcome: the request, whether it is new, the names of its site and hub."""

    request: FloorRequest
    created: bool
    names: dict[int, str]


def _judge(ctx: floor_statements.AskContext | None, actor: User) -> floor_statements.AskContext:
    # The order of the service's refusals elsewhere: session, closed, site, scope, taking part.
    if ctx is None:
        raise errors.SessionNotFound()
    if ctx.session_status == SessionStatus.closed:
        raise errors.SessionClosed()
    if not ctx.site_found:
        raise endpoints_errors.SiteNotFound()
    if not endpoints_service.path_in_scope(actor, path=ctx.site_path, root_path=ctx.root_path):
        raise endpoints_errors.SiteOutOfScope()
    if not ctx.participating:
        raise endpoints_errors.SiteNotInConference()
    return ctx


def ask(
    db: Session, *, session_id: int, site_id: int, data: FloorAsk, actor: User,
    publish: Publish, count: Callable[[], None] | None = None,
) -> Asked:
    """A site asks for the floor; a second ask changes its open request (same place in
    the queue). `count` runs once the actor may act for the site, before anything is
    written (the routes' rate limits). Read in one SELECT and written in one upsert:
    4,000 sites ask within seconds."""
    root = None if accounts_service.is_admin(actor) else actor.site_id
    ctx = _judge(floor_statements.ask_context(db, session_id=session_id, site_id=site_id,
                                              root_id=root), actor)
    if count is not None:
        count()
    cid, now = ctx.conference_id, utcnow()
    hub_id, hub_name = floor_statements.hub_of_path(db, path=ctx.site_path, conference_id=cid)
    row = floor_statements.upsert_request(db, {
        "conference_id": cid, "session_id": session_id, "site_id": site_id,
        "hub_id": hub_id, "site_kind": ctx.site_kind,
        "agenda_item_id": ctx.stage_item_id if ctx.stage_session_id == session_id else None,
        "topic": data.topic, "speaker_name": data.speaker_name,
        "speaker_position": data.speaker_position or "", "status": FloorStatus.open,
        "asked_at": now, "changed_at": now, "asked_by": actor.id,
    })
    version = bump_floor(db, session_id=session_id)
    db.commit()
    # Asks come in storms: counted for the audit log's summary like check-ins, not one
    # chained entry each (see docs/ARCHITECTURE.md, "The floor").
    spool.spool_for(db.get_bind()).note(
        action="floor.ask", object_type="floor_request", conference_id=cid, site_id=site_id,
        details=(("session_id", session_id),))
    tell_chairs(publish, conference_id=cid, session_id=session_id, version=version)
    req = FloorRequest.model_validate(dict(row._mapping))
    names = {site_id: ctx.site_name} | ({hub_id: hub_name} if hub_id and hub_name else {})
    # A new row was written with both times equal; a change moved `changed_at` only.
    return Asked(req, req.changed_at == req.asked_at, names)


def load_request(db: Session, request_id: int) -> FloorRequest:
    """A floor request by id (404 floor_request_not_found)."""
    req = db.get(FloorRequest, request_id)
    if req is None:
        raise errors.FloorRequestNotFound()
    return req


def _locked_request(db: Session, request_id: int) -> FloorRequest:
    req = db.exec(
        select(FloorRequest).where(FloorRequest.id == request_id).with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if req is None:
        raise errors.FloorRequestNotFound()
    return req


def _must_be_open(req: FloorRequest) -> None:
    if req.status == FloorStatus.withdrawn:
        raise errors.FloorRequestWithdrawn()
    if req.status != FloorStatus.open:
        raise errors.FloorRequestNotOpen()


def withdraw(
    db: Session, *, request_id: int, actor: User, publish: Publish,
    count: Callable[[int], None] | None = None,
) -> FloorRequest:
    """The site takes back its open request. `count(site_id)` runs once the actor may act
    for the request's site, before anything is written (the routes' rate limits)."""
    req = load_request(db, request_id)
    endpoints_service.get_site(db, site_id=req.site_id, actor=actor)
    if count is not None:
        count(req.site_id)
    req = _locked_request(db, request_id)
    _must_be_open(req)
    req.status = FloorStatus.withdrawn
    return _close_request(db, req, publish)


def _close_request(db: Session, req: FloorRequest, publish: Publish) -> FloorRequest:
    """Write a request the site or the chair has just closed, then tell the chairs."""
    req.changed_at = utcnow()
    db.add(req)
    version = bump_floor(db, session_id=req.session_id)
    db.commit()
    tell_chairs(publish, conference_id=req.conference_id, session_id=req.session_id,
                version=version)
    return req


def decline(
    db: Session, *, request_id: int, reason: str, actor: User, publish: Publish
) -> FloorRequest:
    """The chair declines an open request with a short reason the site sees."""
    accounts_service.require_admin(actor)
    req = _locked_request(db, request_id)
    _must_be_open(req)
    _open_session(db, req.session_id)
    req.status = FloorStatus.declined
    req.decline_reason = reason
    req.decided_by = actor.id
    return _close_request(db, req, publish)


def _stage_on(db: Session, conference_id: int, session_id: int) -> Stage:
    stage = locked_stage(db, conference_id)
    if stage is None or stage.session_id != session_id:
        raise errors.SessionNotOnStage()
    return stage


def _commit_stage(
    db: Session, *, req: FloorRequest, values: dict[str, object], publish: Publish
) -> StageView:
    view = restage(db, conference_id=req.conference_id, session_id=req.session_id,
                   values=values)
    assert view is not None  # _stage_on checked the stage shows the session
    version = bump_floor(db, session_id=req.session_id)
    db.commit()
    announce(publish, view)
    tell_chairs(publish, conference_id=req.conference_id, session_id=req.session_id,
                version=version)
    return view


def give(
    db: Session, *, request_id: int, limit_seconds: int | None, actor: User,
    publish: Publish,
) -> StageView:
    """Give the floor to an open request; whoever spoke before is ended."""
    accounts_service.require_admin(actor)
    req = load_request(db, request_id)
    _open_session(db, req.session_id)
    stage = _stage_on(db, req.conference_id, req.session_id)
    req = _locked_request(db, request_id)
    _must_be_open(req)
    finish_speaker(db, stage)
    req.status = FloorStatus.speaking
    req.started_at = utcnow()
    req.limit_seconds = limit_seconds
    req.decided_by = actor.id
    req.changed_at = req.started_at
    db.add(req)
    db.flush()
    return _commit_stage(db, req=req, values={"speaker_id": req.id}, publish=publish)


def _speaker(db: Session, session_id: int) -> tuple[Stage, FloorRequest]:
    session = load_session(db, session_id)
    stage = _stage_on(db, session.conference_id, session_id)
    if stage.speaker_id is None:
        raise errors.FloorNoSpeaker()
    return stage, _locked_request(db, stage.speaker_id)


def end(db: Session, *, session_id: int, actor: User, publish: Publish) -> StageView:
    """End the current speaker: the screens clear the banner."""
    accounts_service.require_admin(actor)
    stage, req = _speaker(db, session_id)
    finish_speaker(db, stage)
    db.flush()
    return _commit_stage(db, req=req, values={"speaker_id": None}, publish=publish)


def set_limit(
    db: Session, *, session_id: int, limit_seconds: int | None, actor: User, publish: Publish
) -> StageView:
    """A new time limit for the current speaker, counted from when they started."""
    accounts_service.require_admin(actor)
    _, req = _speaker(db, session_id)
    req.limit_seconds = limit_seconds
    req.changed_at = utcnow()
    db.add(req)
    db.flush()
    return _commit_stage(db, req=req, values={}, publish=publish)
