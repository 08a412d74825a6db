"""Use cases of the floor: a site asks to speak, the chair gives, declines or ends.

Every change commits before it publishes. A change of the queue bumps the session's
`floor_version` and tells the chairs' views (`events.floor_channel`); a change of who
speaks, or of the time limit, bumps the stage too, so every screen's snapshot carries
the speaker and a screen that reconnects shows it at once.
"""

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import utcnow
from app.realtime import Publish
from endpoints import service as endpoints_service
from endpoints.models import Site, SiteKind
from sessions import errors
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


def hub_of(db: Session, site: Site) -> int | None:
    """The outermost hub (province or city) at or above a site, if any."""
    ids = [int(p) for p in site.path.strip("/").split("/") if p]
    if not ids:
        return None
    found = db.exec(
        select(Site.id).where(col(Site.id).in_(ids), Site.kind == SiteKind.hub)
        .order_by(col(Site.depth))
    ).first()
    return found


def _open_session(db: Session, session_id: int) -> ConferenceSession:
    session = load_session(db, session_id)
    if session.status == SessionStatus.closed:
        raise errors.SessionClosed()
    return session


def _lock_site(db: Session, site_id: int) -> None:
    # Two asks of one site wait for each other (SQLite: BEGIN IMMEDIATE does it).
    if db.get_bind().dialect.name == "postgresql":
        db.exec(select(Site.id).where(Site.id == site_id).with_for_update()).first()


def ask(
    db: Session, *, session_id: int, site_id: int, data: FloorAsk, actor: User,
    publish: Publish,
) -> tuple[FloorRequest, bool]:
    """A site asks for the floor; a second ask changes its open request (same place in
    the queue). The request and whether it is new."""
    session = _open_session(db, session_id)
    cid = session.conference_id
    view = endpoints_service.get_site_in(db, conference_id=cid, site_id=site_id, actor=actor)
    _lock_site(db, site_id)
    stage = db.get(Stage, cid)
    current = db.exec(
        select(FloorRequest).where(FloorRequest.session_id == session_id,
                                   FloorRequest.site_id == site_id,
                                   FloorRequest.status == FloorStatus.open)
    ).first()
    created = current is None
    now = utcnow()
    if current is None:
        current = FloorRequest(
            conference_id=cid, session_id=session_id, site_id=site_id,
            hub_id=hub_of(db, view.site), site_kind=view.site.kind, asked_at=now,
        )
    current.topic = data.topic
    current.speaker_name = data.speaker_name
    current.speaker_position = data.speaker_position or ""
    current.changed_at = now
    current.asked_by = actor.id
    if stage is not None and stage.session_id == session_id:
        current.agenda_item_id = stage.agenda_item_id
    db.add(current)
    try:
        # The partial unique index speaks at the flush, not at the commit (bump_floor's
        # query would autoflush it outside this try: a 500). With the site's row locked
        # it never does; this is the net under that.
        db.flush()
    except IntegrityError as exc:  # a concurrent first ask of the same site won
        db.rollback()
        raise errors.FloorRequestNotOpen("Điểm cầu vừa gửi yêu cầu khác; hãy thử lại.") from exc
    version = bump_floor(db, session_id=session_id)
    db.commit()
    tell_chairs(publish, conference_id=cid, session_id=session_id, version=version)
    return current, created


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


def withdraw(db: Session, *, request_id: int, actor: User, publish: Publish) -> FloorRequest:
    """The site takes back its open request."""
    req = load_request(db, request_id)
    endpoints_service.get_site(db, site_id=req.site_id, actor=actor)
    req = _locked_request(db, request_id)
    _must_be_open(req)
    req.status = FloorStatus.withdrawn
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
    req.changed_at = utcnow()
    db.add(req)
    version = bump_floor(db, session_id=req.session_id)
    db.commit()
    tell_chairs(publish, conference_id=req.conference_id, session_id=req.session_id,
                version=version)
    return req


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
