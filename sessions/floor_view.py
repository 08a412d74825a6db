"""Reading the floor: the chair's queue, a site's own requests, the session's minutes.

Names are the conference's (a participation's snapshot), read in one query for the
whole queue: 4,000 open requests are one SELECT, not 4,000.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from endpoints import service as endpoints_service
from endpoints.models import Participation, Site
from sessions.floor_models import (
    FLOOR_STATUS_LABELS,
    QUESTION_STATUS_LABELS,
    FloorQuestion,
    FloorQueuePublic,
    FloorRequest,
    FloorRequestPublic,
    FloorStatus,
    QuestionPublic,
    QuestionStatus,
)
from sessions.loading import load_session, readable_session
from sessions.models import ConferenceSession, Stage

#: How many open requests (and questions) a chair's view carries: the head of the queue.
QUEUE_ROWS = 300
# What a chair's view lists: pending and approved questions, newest approved first.
LISTED_QUESTIONS = (QuestionStatus.pending, QuestionStatus.approved)


def _names(db: Session, conference_id: int, site_ids: Sequence[int]) -> dict[int, str]:
    return endpoints_service.names_in(db, conference_id=conference_id, site_ids=site_ids)


def names_of(db: Session, req: FloorRequest) -> dict[int, str]:
    """The conference's names of a request's site and hub."""
    ids = [req.site_id] + ([req.hub_id] if req.hub_id else [])
    return _names(db, req.conference_id, ids)


def question_names(db: Session, question: FloorQuestion) -> dict[int, str]:
    """The conference's name of a question's site (empty when it has none)."""
    if question.site_id is None:
        return {}
    return _names(db, question.conference_id, [question.site_id])


def request_public(req: FloorRequest, names: dict[int, str]) -> FloorRequestPublic:
    """The API form of a request, with the conference's names of its site and hub."""
    assert req.id is not None
    # Built without validation: every value comes from our own row.
    return FloorRequestPublic.model_construct(
        id=req.id, session_id=req.session_id, site_id=req.site_id,
        site_name=names.get(req.site_id, ""), site_kind=req.site_kind, hub_id=req.hub_id,
        hub_name=None if req.hub_id is None else names.get(req.hub_id),
        topic=req.topic, speaker_name=req.speaker_name, speaker_position=req.speaker_position,
        status=FloorStatus(req.status), status_label=FLOOR_STATUS_LABELS[FloorStatus(req.status)],
        asked_at=req.asked_at, started_at=req.started_at, ended_at=req.ended_at,
        limit_seconds=req.limit_seconds, decline_reason=req.decline_reason,
    )


def question_public(
    question: FloorQuestion, names: dict[int, str], shown: int | None = None
) -> QuestionPublic:
    """The API form of a question (the sender's site by the conference's name)."""
    assert question.id is not None
    return QuestionPublic(
        id=question.id, session_id=question.session_id,
        agenda_item_id=question.agenda_item_id, site_id=question.site_id,
        site_name=None if question.site_id is None else names.get(question.site_id),
        text=question.text, status=question.status,
        status_label=QUESTION_STATUS_LABELS[QuestionStatus(question.status)],
        weight=question.weight, merged_into_id=question.merged_into_id,
        asked_at=question.asked_at, on_screen=shown == question.id,
    )


_SITE_NAME, _HUB_NAME = aliased(Participation), aliased(Participation)
_SITE, _HUB = aliased(Site), aliased(Site)
_HEAD_COLUMNS = (
    *FloorRequest.__table__.c,  # type: ignore[attr-defined]
    func.coalesce(col(_SITE_NAME.name), col(_SITE.name)).label("site_name"),
    func.coalesce(col(_HUB_NAME.name), col(_HUB.name)).label("hub_name"),
)


def _head(db: Session, conference_id: int, conds: list[Any], limit: int
          ) -> list[FloorRequestPublic]:
    """The first open requests with their names, in one SELECT, as API rows (built
    without validation: every value comes from our own columns)."""
    rows = db.execute(
        sa_select(*_HEAD_COLUMNS)
        .join(_SITE, col(_SITE.id) == col(FloorRequest.site_id))
        .outerjoin(_SITE_NAME, and_(col(_SITE_NAME.site_id) == col(FloorRequest.site_id),
                                    col(_SITE_NAME.conference_id) == conference_id))
        .outerjoin(_HUB, col(_HUB.id) == col(FloorRequest.hub_id))
        .outerjoin(_HUB_NAME, and_(col(_HUB_NAME.site_id) == col(FloorRequest.hub_id),
                                   col(_HUB_NAME.conference_id) == conference_id))
        .where(*conds).order_by(col(FloorRequest.asked_at), col(FloorRequest.id)).limit(limit)
    ).all()
    return [
        FloorRequestPublic.model_construct(
            **{k: m[k] for k in _REQUEST_FIELDS},
            status=FloorStatus(m["status"]),
            status_label=FLOOR_STATUS_LABELS[FloorStatus(m["status"])],
            site_name=m["site_name"] or "",
        )
        for m in (row._mapping for row in rows)
    ]


_REQUEST_FIELDS = ("id", "session_id", "site_id", "site_kind", "hub_id", "hub_name", "topic",
                   "speaker_name", "speaker_position", "asked_at", "started_at", "ended_at",
                   "limit_seconds", "decline_reason")


def queue(
    db: Session, *, session_id: int, actor: User, hub_id: int | None = None,
    kind: str | None = None, limit: int = QUEUE_ROWS,
) -> FloorQueuePublic:
    """The chair's view: who speaks, the first `limit` open requests in the order asked
    (filtered by hub and site kind) and how many wait in all, pending and approved
    questions (the first `limit`)."""
    accounts_service.require_admin(actor)
    session = load_session(db, session_id)
    conds = [FloorRequest.session_id == session_id, FloorRequest.status == FloorStatus.open]
    if hub_id is not None:
        conds.append(FloorRequest.hub_id == hub_id)
    if kind:
        conds.append(FloorRequest.site_kind == kind)
    # A chair reads the head of the queue: 4,000 sites asking must not make every
    # refresh of every chair's view read, encode and send 4,000 rows.
    open_requests = _head(db, session.conference_id, conds, limit)
    waiting = db.exec(select(func.count()).select_from(FloorRequest).where(*conds)).one()
    stage = db.get(Stage, session.conference_id)
    on_stage = stage is not None and stage.session_id == session_id
    speaker = db.get(FloorRequest, stage.speaker_id) if on_stage and stage and stage.speaker_id \
        else None
    questions = db.exec(
        select(FloorQuestion)
        .where(FloorQuestion.session_id == session_id,
               col(FloorQuestion.status).in_(LISTED_QUESTIONS))
        .order_by(col(FloorQuestion.id)).limit(limit)
    ).all()
    site_ids = [q.site_id for q in questions if q.site_id is not None]
    if speaker is not None:
        site_ids += [speaker.site_id] + ([speaker.hub_id] if speaker.hub_id else [])
    names = _names(db, session.conference_id, site_ids)
    shown = stage.question_id if on_stage and stage else None
    return FloorQueuePublic(
        version=session.floor_version, session_id=session_id,
        speaker=None if speaker is None else request_public(speaker, names),
        requests=open_requests,
        waiting=int(waiting),
        questions=[question_public(q, names, shown) for q in questions],
        shown_question_id=shown,
    )


def site_requests(
    db: Session, *, session_id: int, site_id: int, actor: User
) -> list[FloorRequestPublic]:
    """A site's requests in a session, newest first (the coordinator's phone page)."""
    session = load_session(db, session_id)
    endpoints_service.get_site_in(db, conference_id=session.conference_id, site_id=site_id,
                                  actor=actor)
    rows = db.exec(
        select(FloorRequest).where(FloorRequest.session_id == session_id,
                                   FloorRequest.site_id == site_id)
        .order_by(col(FloorRequest.id).desc()).limit(50)
    ).all()
    ids = [r.site_id for r in rows] + [r.hub_id for r in rows if r.hub_id]
    names = _names(db, session.conference_id, ids)
    return [request_public(r, names) for r in rows]


@dataclass(frozen=True, slots=True)
class Speech:
    """One line of the minutes: who spoke, on what, from when to when."""

    site_id: int
    site_name: str
    hub_name: str | None
    speaker_name: str
    speaker_position: str
    topic: str
    started_at: datetime
    ended_at: datetime | None

    @property
    def seconds(self) -> int | None:
        """How long they spoke (None while still speaking)."""
        if self.ended_at is None:
            return None
        return max(0, round((self.ended_at - self.started_at).total_seconds()))


@dataclass(frozen=True, slots=True)
class Minutes:
    session: ConferenceSession
    speeches: list[Speech]
    questions: list[QuestionPublic]


def minutes(db: Session, *, session_id: int, actor: User) -> Minutes:
    """Who spoke in a session (in order) and the questions approved or merged into them."""
    session = readable_session(db, session_id, actor)
    spoken = db.exec(
        select(FloorRequest)
        .where(FloorRequest.session_id == session_id,
               col(FloorRequest.status).in_((FloorStatus.speaking, FloorStatus.done)),
               col(FloorRequest.started_at).is_not(None))
        .order_by(col(FloorRequest.started_at), col(FloorRequest.id))
    ).all()
    questions = db.exec(
        select(FloorQuestion)
        .where(FloorQuestion.session_id == session_id,
               FloorQuestion.status == QuestionStatus.approved)
        .order_by(col(FloorQuestion.id))
    ).all()
    ids = [r.site_id for r in spoken] + [r.hub_id for r in spoken if r.hub_id]
    ids += [q.site_id for q in questions if q.site_id is not None]
    names = _names(db, session.conference_id, ids)
    speeches = [
        Speech(site_id=r.site_id, site_name=names.get(r.site_id, ""),
               hub_name=None if r.hub_id is None else names.get(r.hub_id),
               speaker_name=r.speaker_name, speaker_position=r.speaker_position,
               topic=r.topic, started_at=r.started_at, ended_at=r.ended_at)
        for r in spoken if r.started_at is not None
    ]
    return Minutes(session=session, speeches=speeches,
                   questions=[question_public(q, names) for q in questions])
