"""Written questions: sent by a site's coordinator or an attendee's phone, moderated by the
central office (approve, hide, merge duplicates), one of them put on every screen.

A question is for the session on stage and its current agenda item. Its text is
cleaned like every text field (NFC, no control characters, bounded); screens and pages
print it through autoescaping only, never as markup.
"""

from collections.abc import Callable

from sqlmodel import Session, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.audit import spool
from app.db import utcnow
from app.realtime import Publish
from endpoints import service as endpoints_service
from sessions import errors
from sessions.floor_models import FloorQuestion, QuestionModerate, QuestionStatus
from sessions.loading import load_session
from sessions.models import SessionStatus, Stage
from sessions.stage import StageView, announce, bump_floor, locked_stage, restage, tell_chairs


def _add(
    db: Session, *, session_id: int, conference_id: int, text: str, publish: Publish,
    site_id: int | None = None, user_id: int | None = None, attendee_id: int | None = None,
) -> FloorQuestion:
    stage = db.get(Stage, conference_id)
    item = stage.agenda_item_id if stage is not None and stage.session_id == session_id else None
    question = FloorQuestion(
        conference_id=conference_id, session_id=session_id, agenda_item_id=item,
        site_id=site_id, user_id=user_id, attendee_id=attendee_id, text=text,
    )
    db.add(question)
    version = bump_floor(db, session_id=session_id)
    db.commit()
    tell_chairs(publish, conference_id=conference_id, session_id=session_id, version=version)
    return question


def ask_for_site(
    db: Session, *, session_id: int, site_id: int, text: str, actor: User, publish: Publish,
    count: Callable[[], None] | None = None,
) -> FloorQuestion:
    """A coordinator sends a question for their site in a session not closed. `count` runs
    once the actor may act for the site, before anything is written (the rate limits)."""
    session = load_session(db, session_id)
    if session.status == SessionStatus.closed:
        raise errors.SessionClosed()
    endpoints_service.get_site_in(db, conference_id=session.conference_id, site_id=site_id,
                                  actor=actor)
    if count is not None:
        count()
    return _add(db, session_id=session_id, conference_id=session.conference_id, text=text,
                publish=publish, site_id=site_id, user_id=actor.id)


def ask_on_stage(
    db: Session, *, conference_id: int, text: str, publish: Publish,
    attendee_id: int | None = None, site_id: int | None = None,
) -> FloorQuestion:
    """An attendee's phone sends a question for the session on stage (the caller has
    checked the follow link and, when given, the personal code)."""
    stage = db.get(Stage, conference_id)
    if stage is None or stage.session_id is None:
        raise errors.NoSessionOnStage()
    return _add(db, session_id=stage.session_id, conference_id=conference_id, text=text,
                publish=publish, site_id=site_id, attendee_id=attendee_id)


def load_question(db: Session, question_id: int) -> FloorQuestion:
    """A question by id (404 question_not_found)."""
    question = db.get(FloorQuestion, question_id)
    if question is None:
        raise errors.QuestionNotFound()
    return question


def _merge(db: Session, question: FloorQuestion, into_id: int | None) -> None:
    target = None if into_id is None else db.get(FloorQuestion, into_id)
    if (target is None or target.id == question.id
            or target.session_id != question.session_id
            or target.status in (QuestionStatus.hidden, QuestionStatus.merged)):
        raise errors.QuestionMergeInvalid()
    target.weight += question.weight
    db.add(target)
    question.merged_into_id = target.id


def moderate(
    db: Session, *, question_id: int, data: QuestionModerate, actor: User, publish: Publish
) -> FloorQuestion:
    """Approve, hide or merge a question; a hidden or merged question leaves the screens."""
    accounts_service.require_admin(actor)
    question = load_question(db, question_id)
    if question.status == QuestionStatus.merged:
        raise errors.QuestionMergeInvalid("Câu hỏi đã được gộp vào câu hỏi khác.")
    if data.action == QuestionStatus.merged:
        _merge(db, question, data.merge_into)
    elif data.action == QuestionStatus.pending:
        raise errors.QuestionMergeInvalid("Thao tác phải là duyệt, ẩn hoặc gộp.")
    question.status = data.action
    question.moderated_at = utcnow()
    question.moderated_by = actor.id
    db.add(question)
    db.flush()
    view = None
    stage = locked_stage(db, question.conference_id)
    if (stage is not None and stage.question_id == question.id
            and question.status != QuestionStatus.approved):
        view = restage(db, conference_id=question.conference_id,
                       session_id=question.session_id, values={"question_id": None})
    version = bump_floor(db, session_id=question.session_id)
    db.commit()
    announce(publish, view)
    tell_chairs(publish, conference_id=question.conference_id,
                session_id=question.session_id, version=version)
    return question


def show(
    db: Session, *, session_id: int, question_id: int | None, actor: User, publish: Publish
) -> StageView:
    """Put an approved question on every screen (None: take it off)."""
    accounts_service.require_admin(actor)
    session = load_session(db, session_id)
    if question_id is not None:
        question = load_question(db, question_id)
        if question.session_id != session_id:
            raise errors.QuestionNotFound()
        if question.status != QuestionStatus.approved:
            raise errors.QuestionNotApproved()
    stage = locked_stage(db, session.conference_id)
    if stage is None or stage.session_id != session_id:
        raise errors.SessionNotOnStage()
    view = restage(db, conference_id=session.conference_id, session_id=session_id,
                   values={"question_id": question_id})
    assert view is not None
    version = bump_floor(db, session_id=session_id)
    db.commit()
    # The stage row is written by statements the ORM listener cannot see (like set_state).
    spool.spool_for(db.get_bind()).note(
        action="stage.question", object_type="stage", conference_id=session.conference_id,
        details=(("session_id", session_id), ("question_id", question_id)))
    announce(publish, view)
    tell_chairs(publish, conference_id=session.conference_id, session_id=session_id,
                version=version)
    return view


def site_questions(
    db: Session, *, session_id: int, site_id: int, actor: User
) -> list[FloorQuestion]:
    """The questions a site sent in a session, oldest first (the coordinator's view)."""
    session = load_session(db, session_id)
    endpoints_service.get_site_in(db, conference_id=session.conference_id, site_id=site_id,
                                  actor=actor)
    return list(db.exec(
        select(FloorQuestion).where(FloorQuestion.session_id == session_id,
                                    FloorQuestion.site_id == site_id)
        .order_by(FloorQuestion.id)  # type: ignore[arg-type]
    ).all())
