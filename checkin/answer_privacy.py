"""An attendee's answers to training forms as personal data: shown in their data
(export and own page), erased with them, their texts blanked by the retention purge.

Counts never name anyone: an erased attendee's answers stay in every total, with the
link to them cleared (`attendee_id` NULL) and their short texts deleted. The purge
erases every attendee (their texts go as above) and blanks the anonymous short texts
(an empty string: the number of texts given stays in the results).
"""

from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlmodel import Session, col

from checkin.answer_models import FormAnswer, FormChoice
from checkin.rights_models import Answer
from sessions import service as sessions_service


def attendee_answers(db: Session, *, attendee_id: int) -> list[Answer]:
    """What the attendee answered with their personal code: per form its title and (a
    test) the score, then each short text they wrote."""
    form_t = sessions_service.TrainingForm
    rows = db.execute(
        select(col(FormAnswer.id), col(FormAnswer.answered_at), col(FormAnswer.score),
               col(FormAnswer.correct), col(FormAnswer.scored), col(form_t.title))
        .join(form_t, col(form_t.id) == col(FormAnswer.form_id))
        .where(col(FormAnswer.attendee_id) == attendee_id)
        .order_by(col(FormAnswer.answered_at), col(FormAnswer.id))
    ).all()
    texts: dict[int, list[str]] = {}
    ids = [int(r[0]) for r in rows]
    if ids:
        for answer_id, text in db.execute(
            select(col(FormChoice.answer_id), col(FormChoice.text))
            .where(col(FormChoice.answer_id).in_(ids), col(FormChoice.text).is_not(None))
            .order_by(col(FormChoice.answer_id), col(FormChoice.question_id))
        ).all():
            if text:
                texts.setdefault(int(answer_id), []).append(str(text))
    out: list[Answer] = []
    for answer_id, at, score, right, scored, title in rows:
        said = (f"Điểm {score:g}/100 ({right}/{scored} câu đúng)" if score is not None
                else "Đã trả lời")
        out.append(Answer(question=str(title), answer=said, answered_at=at))
        out.extend(Answer(question=f"{title}: trả lời ngắn", answer=t, answered_at=at)
                   for t in texts.get(int(answer_id), []))
    return out


def erase_attendee_answers(db: Session, *, attendee_ids: Sequence[int]) -> int:
    """Unlink the attendees' answers and delete their short texts (not committed); how
    many answers were unlinked."""
    ids = list(attendee_ids)
    if not ids:
        return 0
    mine = select(col(FormAnswer.id)).where(col(FormAnswer.attendee_id).in_(ids))
    db.execute(delete(FormChoice).where(col(FormChoice.answer_id).in_(mine),
                                        col(FormChoice.text).is_not(None))
               .execution_options(synchronize_session=False))
    done = db.execute(update(FormAnswer).where(col(FormAnswer.attendee_id).in_(ids))
                      .values(attendee_id=None).execution_options(synchronize_session=False))
    return int(getattr(done, "rowcount", 0) or 0)


def _texts(conference_id: int) -> tuple[ColumnElement[bool], ...]:
    forms = select(col(sessions_service.TrainingForm.id)).where(
        col(sessions_service.TrainingForm.conference_id) == conference_id)
    return (col(FormChoice.form_id).in_(forms), col(FormChoice.text).is_not(None),
            col(FormChoice.text) != "")


def texts_to_purge(db: Session, *, conference_id: int) -> int:
    """Short texts the purge would blank: the anonymous ones (an attendee's go with
    their identity, :func:`erase_attendee_answers`)."""
    anonymous = select(col(FormAnswer.id)).where(col(FormAnswer.attendee_id).is_(None))
    return int(db.execute(select(func.count()).select_from(FormChoice).where(
        *_texts(conference_id), col(FormChoice.answer_id).in_(anonymous))).scalar_one())


def purge_texts(db: Session, *, conference_id: int) -> int:
    """Blank every short text of the conference's forms (not committed); how many."""
    done = db.execute(update(FormChoice).where(*_texts(conference_id))
                      .values(text="").execution_options(synchronize_session=False))
    return int(getattr(done, "rowcount", 0) or 0)
