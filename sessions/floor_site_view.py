"""The coordinator's view of the floor: the session on stage of the site's current
conference, the site's latest request with its place in the queue, its questions.

Cheap on purpose: the phone page polls it every few seconds (a handful of indexed
reads, no names of other sites).
"""

from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlmodel import Session, SQLModel, col, select

from app.accounts.models import User
from endpoints import service as endpoints_service
from endpoints.models import SiteView
from sessions.floor_models import (
    FloorQuestion,
    FloorRequest,
    FloorRequestPublic,
    FloorStatus,
    QuestionPublic,
)
from sessions.floor_view import question_public, request_public
from sessions.models import ConferenceSession, SessionStatus, Stage


class SiteFloorPublic(SQLModel):
    """The phone page's state: no session on stage when `session_id` is None."""

    site_id: int
    conference_id: int | None
    session_id: int | None = None
    session_title: str | None = None
    request: FloorRequestPublic | None = None
    place: int | None = None  # the open request's place in the queue (1: next)
    status_text: str = ""  # what the phone says, in Vietnamese
    questions: list[QuestionPublic] = []


def status_text(request: FloorRequestPublic | None, place: int | None) -> str:
    """The request's status as the coordinator reads it."""
    if request is None:
        return "Chưa đăng ký phát biểu"
    return {
        FloorStatus.open: f"Đang chờ — thứ {place} trong hàng đợi",
        FloorStatus.speaking: "Điểm cầu của bạn đang phát biểu",
        FloorStatus.done: "Đã phát biểu",
        FloorStatus.declined: f"Không được chấp nhận: {request.decline_reason or ''}".rstrip(": "),
        FloorStatus.withdrawn: "Đã rút yêu cầu",
    }[FloorStatus(request.status)]


@dataclass(frozen=True, slots=True)
class SiteStage:
    """A site in scope, its current conference and the session on that stage (if any)."""

    site: SiteView | None
    conference_id: int | None
    session: ConferenceSession | None


def site_stage(db: Session, *, site_id: int, actor: User) -> SiteStage:
    """The site (in the actor's scope), its current conference and the session on stage
    there; a closed session on stage counts as none (nobody may ask in it)."""
    endpoints_service.get_site(db, site_id=site_id, actor=actor)
    cid = endpoints_service.current_conference_id(db, site_id=site_id)
    if cid is None:
        return SiteStage(None, None, None)
    site = endpoints_service.get_site_in(db, conference_id=cid, site_id=site_id, actor=actor)
    stage = db.get(Stage, cid)
    session = None
    if stage is not None and stage.session_id is not None:
        session = db.get(ConferenceSession, stage.session_id)
        if session is not None and session.status == SessionStatus.closed:
            session = None
    return SiteStage(site, cid, session)


def place_in_queue(db: Session, req: FloorRequest) -> int:
    """1 for the first open request of the session, in the order asked."""
    ahead = db.exec(
        select(func.count()).select_from(FloorRequest)
        .where(FloorRequest.session_id == req.session_id,
               FloorRequest.status == FloorStatus.open,
               or_(col(FloorRequest.asked_at) < req.asked_at,
                   (col(FloorRequest.asked_at) == req.asked_at)
                   & (col(FloorRequest.id) < req.id)))
    ).one()
    return int(ahead) + 1


def latest_request(db: Session, *, session_id: int, site_id: int) -> FloorRequest | None:
    """The site's newest request in a session (what its phone page shows)."""
    return db.exec(
        select(FloorRequest).where(FloorRequest.session_id == session_id,
                                   FloorRequest.site_id == site_id)
        .order_by(col(FloorRequest.id).desc()).limit(1)
    ).first()


def site_floor(db: Session, *, site_id: int, actor: User) -> SiteFloorPublic:
    """Everything the phone page shows: the session on stage, the request, the questions."""
    at = site_stage(db, site_id=site_id, actor=actor)
    if at.site is None or at.session is None or at.session.id is None:
        return SiteFloorPublic(site_id=site_id, conference_id=at.conference_id)
    sid, names = at.session.id, {site_id: at.site.name}
    req = latest_request(db, session_id=sid, site_id=site_id)
    request: FloorRequestPublic | None = None
    place = None
    if req is not None:
        request = request_public(req, names)
        if req.status == FloorStatus.open:
            place = place_in_queue(db, req)
    questions = db.exec(
        select(FloorQuestion).where(FloorQuestion.session_id == sid,
                                    FloorQuestion.site_id == site_id)
        .order_by(col(FloorQuestion.id).desc()).limit(20)
    ).all()
    return SiteFloorPublic(
        site_id=site_id, conference_id=at.conference_id, session_id=sid,
        session_title=at.session.title, request=request, place=place,
        status_text=status_text(request, place),
        questions=[question_public(q, names) for q in questions],
    )

