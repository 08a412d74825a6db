"""A phone's answer to a training form: checked, scored and stored exactly once.

The hot path (500 answers a second at the end of a session) is a handful of statements:
the form row (read on every answer: closing it stops answers at once on every worker;
its bank is kept in memory once opened, `sessions.form_bank`), the attendee when a
personal code is given, the site's participation, one `INSERT … ON CONFLICT DO NOTHING
RETURNING` of the answer, one executemany of its choices, the COMMIT. No read-then-write:
the unique keys (form, attendee), (form, device) and (form, nonce) decide who was first,
however many phones send at once. Only a clash reads the earlier row: the same nonce is a
retry (the stored answer again, 200), anything else `form_already_answered` (409).
No audit row per answer: a counter in the audit spool (`form.answer`), like scans.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, union_all
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from app.audit import spool
from app.config import Settings
from app.db import PerPool, utcnow
from app.group_commit import Outcome
from app.realtime import Publish
from checkin import errors
from checkin.answer_links import site_from_answer_code
from checkin.answer_models import AnswerPublic, AnswerSubmit, FormAnswer, FormChoice
from checkin.follow_questions import CodeOwner, attendee_by_code
from endpoints import errors as endpoints_errors
from endpoints.models import Participation
from sessions import errors as sessions_errors
from sessions import events
from sessions import service as sessions_service

ANSWER_AUDIT = "form.answer"
#: How long this process trusts that a site takes part (an uninvited site's answers are
#: refused at most this long after it was uninvited).
PARTICIPATION_SECONDS = 30.0
_taking_part: PerPool[dict[tuple[int, int], float]] = PerPool(dict)

ANSWER_TABLE = FormAnswer.__table__  # type: ignore[attr-defined]
_choice_t = FormChoice.__table__  # type: ignore[attr-defined]
_part_t = Participation.__table__  # type: ignore[attr-defined]

# No conflict target: a clash on any of the three unique keys means "not first".
INSERTS = {
    "sqlite": sqlite_insert(ANSWER_TABLE).on_conflict_do_nothing().returning(ANSWER_TABLE.c.id),
    "postgresql": pg_insert(ANSWER_TABLE).on_conflict_do_nothing().returning(ANSWER_TABLE.c.id),
}
CHOICES = insert(_choice_t)
_TAKES_PART = sa_select(_part_t.c.id).where(
    _part_t.c.conference_id == bindparam("conference_id"),
    _part_t.c.site_id == bindparam("site_id"),
).limit(1)

def _earlier_by(key: str) -> Any:
    """The form's answers with this nonce, or with this attendee (or device): two point
    lookups on the unique keys. (One query with `nonce = ? OR attendee_id = ? …` made
    SQLite read every answer of the form: no index starts with `nonce`; at 150,000
    answers each clash cost ~0.1 s, bench/forms.py.)"""
    t = ANSWER_TABLE
    return union_all(
        sa_select(t).where(t.c.form_id == bindparam("form_id"),
                           t.c.nonce == bindparam("nonce")),
        sa_select(t).where(t.c.form_id == bindparam("form_id"),
                           t.c[key] == bindparam(key)),
    )


_EARLIER = {"attendee_id": _earlier_by("attendee_id"), "device": _earlier_by("device")}


@dataclass(frozen=True)
class Answered:
    """The outcome: the answer (new or stored) and whether this call stored it."""

    answer: AnswerPublic
    created: bool


@dataclass(frozen=True)
class Who:
    attendee_id: int | None
    device: str | None
    site_id: int


def public(row: Any) -> AnswerPublic:
    return AnswerPublic(
        id=row["id"], form_id=row["form_id"], site_id=row["site_id"],
        answered_at=row["answered_at"], signed=row["attendee_id"] is not None,
        scored=row["scored"], correct=row["correct"], score=row["score"],
    )


def who(
    db: Session, *, conference_id: int, data: AnswerSubmit, settings: Settings,
    owner: Callable[[str], CodeOwner] | None = None,
) -> Who:
    """The attendee (personal code), the device (anonymous) and the site it counts for.
    `owner`: the personal code's attendee when already looked up (a batch), else read."""
    attendee_id: int | None = None
    home: int | None = None
    if data.code and data.code.strip():
        attendee = (owner(data.code) if owner is not None else
                    attendee_by_code(db, conference_id=conference_id, code=data.code))
        attendee_id, home = attendee.id, attendee.site_id
    elif data.device is None:
        raise sessions_errors.AnswerInvalid(
            "Thiếu mã thiết bị: trả lời không kèm mã cá nhân cần mã của điện thoại.")
    site_id = site_from_answer_code(data.site, settings) if data.site else None
    if data.site and site_id is None:
        raise errors.AnswerSiteUnknown("Mã điểm cầu không đúng: hãy quét lại mã QR.")
    site_id = site_id if site_id is not None else home
    if site_id is None:
        raise errors.AnswerSiteUnknown()
    _require_taking_part(db, conference_id, site_id)
    # Signed answers are once per attendee: a shared phone may answer for several people.
    return Who(attendee_id, None if attendee_id is not None else data.device, site_id)


def _require_taking_part(db: Session, conference_id: int, site_id: int) -> None:
    """`site_not_in_conference` unless the site is invited; a yes is remembered for
    PARTICIPATION_SECONDS in this process (a site answers hundreds of times a minute)."""
    seen = _taking_part(db.get_bind())
    now = time.monotonic()
    if seen.get((conference_id, site_id), -1.0) > now:
        return
    taking_part = db.connection().execute(
        _TAKES_PART, {"conference_id": conference_id, "site_id": site_id}).first()
    if taking_part is None:
        raise endpoints_errors.SiteNotInConference()
    if len(seen) > 100_000:
        seen.clear()
    seen[(conference_id, site_id)] = now + PARTICIPATION_SECONDS


def earlier(db: Session, *, form_id: int, who: Who, nonce: str) -> Answered:
    """The answer when the insert did nothing: a retry of this one, or a second answer."""
    key = "attendee_id" if who.attendee_id is not None else "device"
    rows = db.connection().execute(_EARLIER[key], {
        "form_id": form_id, "nonce": nonce, key: getattr(who, key),
    }).mappings().all()
    for row in rows:
        if row["nonce"] == nonce:
            if row["attendee_id"] == who.attendee_id and row["device"] == who.device:
                return Answered(public(row), created=False)
            raise errors.NonceReused("Mã lượt trả lời (nonce) đã được dùng cho phiếu khác.")
    raise errors.FormAlreadyAnswered()


@dataclass(frozen=True)
class Stored:
    """An answer written (or found) in the open transaction, not yet committed."""

    answered: Answered
    conference_id: int


def _store(db: Session, *, form_id: int, data: AnswerSubmit, settings: Settings) -> Stored:
    """Check and write one answer in the open transaction (no commit). Every refusal is
    raised before anything is written."""
    form, bank = sessions_service.form_for_answers(db, form_id=form_id)
    sessions_service.require_open(form)
    checked = sessions_service.check_answer(bank, kind=form.kind, items=[
        sessions_service.AnswerItem(question_id=c.question_id, options=c.options,
                                    rating=c.rating, text=c.text)
        for c in data.answers])
    found = who(db, conference_id=form.conference_id, data=data, settings=settings)
    now: datetime = utcnow()
    row = {
        "conference_id": form.conference_id, "form_id": form_id, "site_id": found.site_id,
        "attendee_id": found.attendee_id, "device": found.device, "nonce": data.nonce,
        "answered_at": now, "scored": checked.scored, "correct": checked.correct,
        "score": checked.score,
    }
    conn = db.connection()
    new_id = conn.execute(INSERTS[db.get_bind().dialect.name], row).scalar()
    if new_id is None:
        return Stored(earlier(db, form_id=form_id, who=found, nonce=data.nonce),
                      form.conference_id)
    conn.execute(CHOICES, choice_rows(new_id, form_id, found.site_id, checked))
    return Stored(Answered(public({**row, "id": new_id}), created=True), form.conference_id)


def choice_rows(answer_id: int, form_id: int, site_id: int,
                checked: sessions_service.Checked) -> list[dict[str, Any]]:
    """The choice rows of a checked answer (one per option, rating or text)."""
    return [{"answer_id": answer_id, "form_id": form_id, "site_id": site_id,
             "question_id": p.question_id, "option_id": p.option_id, "rating": p.rating,
             "text": p.text} for p in checked.picked]


def committed(db: Session, stored: Stored, publish: Publish | None) -> Answered:
    """After the COMMIT: the audit counter and, for a new answer, the live count."""
    answer = stored.answered.answer
    _count(db, stored.conference_id, answer.site_id,
           "answered" if stored.answered.created else "replayed")
    if stored.answered.created and publish is not None:
        publish(events.form_channel(stored.conference_id),
                events.encode_form_answered(form_id=answer.form_id, site_id=answer.site_id))
    return stored.answered


def submit(
    db: Session, *, form_id: int, data: AnswerSubmit, settings: Settings,
    publish: Publish | None,
) -> Answered:
    """Store a phone's answer to an open form, once; a retry with the same nonce gets the
    stored answer back (`created` False). Raises form_not_found, form_not_open,
    form_closed, answer_invalid, personal_code_wrong, answer_site_unknown,
    site_not_in_conference, form_already_answered, nonce_reused."""
    stored = _store(db, form_id=form_id, data=data, settings=settings)
    db.commit()
    return committed(db, stored, publish)


def alone(
    db: Session, *, form_id: int, data: AnswerSubmit, settings: Settings,
    publish: Publish | None,
) -> Outcome[Answered]:
    """`submit` in its own transaction, its failure (whatever it is) as its outcome."""
    try:
        return submit(db, form_id=form_id, data=data, settings=settings, publish=publish)
    except Exception as exc:
        db.rollback()
        return exc


def _count(db: Session, conference_id: int, site_id: int, outcome: str) -> None:
    """A counter bump for the audit log's batch summary (no I/O)."""
    spool.spool_for(db.get_bind()).note(
        action=ANSWER_AUDIT, object_type="form_answer", conference_id=conference_id,
        site_id=site_id, outcome=outcome)
