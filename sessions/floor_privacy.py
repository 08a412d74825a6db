"""The floor's personal data under the attendee's rights and the retention purge.

A question sent with a personal code (`floor_question.attendee_id`) is the attendee's:
it is in their export and, on erasure, its text is replaced and the link cleared. The
purge of a conference blanks what may name people on its floor: the speakers' names and
positions, the topics (free text a coordinator typed: "Ý kiến của đồng chí …" names
someone as often as not, and no rule tells the two apart), the decline reasons and the
questions' texts. What stays is the record of the sites: which site spoke, when and for
how long, how many questions came from where, so the minutes' totals do not move.
Nothing here commits: the callers (checkin.rights, checkin.retention) do, with the
audit entry of the erasure or the purge. Bulk writes, so the rows' own audit is theirs.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlmodel import Session, col, select

from app.audit import keys
from app.audit import service as audit_service
from sessions.floor_models import (
    QUESTION_STATUS_LABELS,
    FloorQuestion,
    FloorRequest,
    QuestionStatus,
)
from sessions.models import ConferenceSession

ERASED_QUESTION = "(Câu hỏi đã được xoá theo yêu cầu của người gửi)"
PURGED_QUESTION = "(Câu hỏi đã được xoá khi hết thời hạn lưu trữ)"
_QUIET: dict[str, Any] = {"synchronize_session": False}


@dataclass(frozen=True, slots=True)
class SentQuestion:
    """A question an attendee sent with their personal code, as their export lists it."""

    id: int
    session_id: int
    session_title: str
    text: str
    status: str
    status_label: str
    asked_at: datetime


def attendee_questions(db: Session, *, attendee_id: int) -> list[SentQuestion]:
    """The questions sent with an attendee's personal code, oldest first."""
    rows = db.exec(
        select(FloorQuestion, ConferenceSession.title)
        .join(ConferenceSession, col(ConferenceSession.id) == col(FloorQuestion.session_id))
        .where(FloorQuestion.attendee_id == attendee_id)
        .order_by(col(FloorQuestion.asked_at), col(FloorQuestion.id))
    ).all()
    return [
        SentQuestion(id=int(q.id or 0), session_id=q.session_id, session_title=title,
                     text=q.text, status=q.status,
                     status_label=QUESTION_STATUS_LABELS[QuestionStatus(q.status)],
                     asked_at=q.asked_at)
        for q, title in rows
    ]


def erase_attendee_questions(db: Session, *, attendee_ids: Sequence[int]) -> int:
    """Replace the text of the attendees' questions and clear the link to them (not
    committed); how many. The audit log's copies of the texts become unreadable."""
    ids = [int(i) for i in db.exec(select(FloorQuestion.id).where(
        col(FloorQuestion.attendee_id).in_(list(attendee_ids)))).all() if i is not None]
    if not ids:
        return 0
    db.execute(update(FloorQuestion).where(col(FloorQuestion.id).in_(ids))
               .values(text=ERASED_QUESTION, attendee_id=None).execution_options(**_QUIET))
    audit_service.forget(db, subjects=[keys.subject_of("floor_question", i) for i in ids])
    return len(ids)


def _named_requests(conference_id: int) -> Any:
    return and_(col(FloorRequest.conference_id) == conference_id,
                or_(col(FloorRequest.speaker_name) != "",
                    col(FloorRequest.speaker_position) != "", col(FloorRequest.topic) != "",
                    col(FloorRequest.decline_reason).is_not(None)))


def _texts(conference_id: int) -> Any:
    return and_(col(FloorQuestion.conference_id) == conference_id,
                or_(col(FloorQuestion.text) != PURGED_QUESTION,
                    col(FloorQuestion.attendee_id).is_not(None)))


def floor_to_purge(db: Session, *, conference_id: int) -> tuple[int, int]:
    """(requests with names or topics, questions with text) a purge would blank."""
    count = select(func.count())
    requests = db.exec(count.select_from(FloorRequest).where(
        _named_requests(conference_id))).one()
    questions = db.exec(count.select_from(FloorQuestion).where(
        _texts(conference_id))).one()
    return int(requests), int(questions)


def purge_floor(db: Session, *, conference_id: int) -> tuple[int, int]:
    """Blank the conference's speakers, topics, reasons and questions' texts (not
    committed); (requests, questions) blanked. Sites and times stay."""
    request_ids = [int(i) for i in db.exec(
        select(FloorRequest.id).where(_named_requests(conference_id))).all() if i is not None]
    question_ids = [int(i) for i in db.exec(
        select(FloorQuestion.id).where(_texts(conference_id))).all() if i is not None]
    if request_ids:
        db.execute(update(FloorRequest).where(col(FloorRequest.id).in_(request_ids))
                   .values(speaker_name="", speaker_position="", topic="",
                           decline_reason=None).execution_options(**_QUIET))
    if question_ids:
        db.execute(update(FloorQuestion).where(col(FloorQuestion.id).in_(question_ids))
                   .values(text=PURGED_QUESTION, attendee_id=None)
                   .execution_options(**_QUIET))
    audit_service.forget(db, subjects=[keys.subject_of("floor_request", i) for i in request_ids]
                         + [keys.subject_of("floor_question", i) for i in question_ids])
    return len(request_ids), len(question_ids)
