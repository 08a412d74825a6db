"""Answers that queued together (group commit), written with a handful of statements for
the whole batch instead of a handful per answer.

Same rules and outcomes as `checkin.answers.submit`, in one transaction: each form read
once, the personal codes looked up in one SELECT, the answers in one multi-row `INSERT …
ON CONFLICT DO NOTHING RETURNING` (the unique keys still decide who was first, inside the
batch as across workers), their choices in one executemany, one COMMIT. An answer whose
row did not come back clashed: it is read like a lone answer's clash (`answers._earlier`:
a retry of the same nonce, or `form_already_answered`). Every refusal is decided before
anything is written, so it is that answer's own outcome; an unexpected failure rolls the
batch back and each answer is tried alone, so it stays with the answer that caused it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session

from app.audit.context import Actor, acting, current_actor
from app.config import Settings
from app.db import utcnow
from app.errors import AppError
from app.group_commit import Outcome
from app.realtime import Publish
from checkin import answers, roster
from checkin import errors as checkin_errors
from checkin.answer_models import AnswerSubmit
from checkin.follow_questions import CodeOwner
from checkin.models import Attendee
from sessions import service as sessions_service
from sessions.service import Checked, FormRow

_a = Attendee.__table__  # type: ignore[attr-defined]
_BY_CODES = sa_select(_a.c.id, _a.c.site_id, _a.c.short_code).where(
    _a.c.conference_id == bindparam("conference_id"),
    _a.c.short_code.in_(bindparam("shorts", expanding=True)),
    _a.c.erased_at.is_(None), _a.c.deleted_at.is_(None))
_t = answers.ANSWER_TABLE
# The inserted rows name themselves: (form, nonce, attendee, device) says whose they are.
_RETURNING = {name: insert.returning(_t.c.id, _t.c.form_id, _t.c.nonce, _t.c.attendee_id,
                                     _t.c.device)
              for name, insert in answers.INSERTS.items()}


@dataclass(frozen=True, slots=True)
class _Checked:
    """One answer past every check, ready to write."""

    form: FormRow
    data: AnswerSubmit
    checked: Checked
    who: answers.Who
    row: dict[str, Any]


def _owners(db: Session, conference_id: int, codes: set[str]) -> dict[str, CodeOwner]:
    """The attendees of these personal codes (normalised), in one SELECT."""
    if not codes:
        return {}
    found = db.connection().execute(
        _BY_CODES, {"conference_id": conference_id, "shorts": sorted(codes)}).all()
    return {r.short_code: CodeOwner(r.id, r.site_id) for r in found}


def _check(
    db: Session, items: Sequence[tuple[int, AnswerSubmit]], settings: Settings,
) -> list[_Checked | AppError]:
    """Every answer's checks, in order: the form (read once), the answer against its bank,
    the personal code (one lookup per conference), the site."""
    forms: dict[int, tuple[FormRow, sessions_service.BankView]] = {}
    shorts: dict[int, set[str]] = {}
    firsts: list[tuple[FormRow, AnswerSubmit, Checked] | AppError] = []
    for form_id, data in items:
        try:
            found = forms.get(form_id)
            if found is None:
                found = forms[form_id] = sessions_service.form_for_answers(db, form_id=form_id)
            sessions_service.require_open(found[0])
            checked = sessions_service.check_answer(found[1], kind=found[0].kind, items=[
                sessions_service.AnswerItem(question_id=c.question_id, options=c.options,
                                            rating=c.rating, text=c.text)
                for c in data.answers])
            short = roster.normalize_short_code(data.code) if data.code else None
            if short is not None:
                shorts.setdefault(found[0].conference_id, set()).add(short)
            firsts.append((found[0], data, checked))
        except AppError as exc:
            firsts.append(exc)
    owners = {cid: _owners(db, cid, codes) for cid, codes in shorts.items()}
    return [f if isinstance(f, AppError) else _ready(db, f, settings, owners)
            for f in firsts]


def _ready(db: Session, first: tuple[FormRow, AnswerSubmit, Checked], settings: Settings,
           owners: dict[int, dict[str, CodeOwner]]) -> _Checked | AppError:
    form, data, checked = first

    def owner(code: str) -> CodeOwner:
        short = roster.normalize_short_code(code)
        found = owners.get(form.conference_id, {}).get(short or "")
        if found is None:
            raise checkin_errors.PersonalCodeWrong()
        return found
    try:
        who = answers.who(db, conference_id=form.conference_id, data=data, settings=settings,
                          owner=owner)
    except AppError as exc:
        return exc
    row = {
        "conference_id": form.conference_id, "form_id": form.id, "site_id": who.site_id,
        "attendee_id": who.attendee_id, "device": who.device, "nonce": data.nonce,
        "answered_at": utcnow(), "scored": checked.scored, "correct": checked.correct,
        "score": checked.score,
    }
    return _Checked(form, data, checked, who, row)


def _write(db: Session, ready: list[_Checked | AppError]) -> list[answers.Stored | AppError]:
    """One INSERT for every checked answer, one executemany of the new ones' choices."""
    rows = [r.row for r in ready if isinstance(r, _Checked)]
    conn = db.connection()
    new: dict[tuple[int, str, int | None, str | None], int] = {}
    if rows:
        for found in conn.execute(_RETURNING[db.get_bind().dialect.name], rows):
            new[(found.form_id, found.nonce, found.attendee_id, found.device)] = found.id
    outcomes: list[answers.Stored | AppError] = []
    choices: list[dict[str, Any]] = []
    for r in ready:
        if isinstance(r, AppError):
            outcomes.append(r)
            continue
        # The first of identical answers is the one the INSERT stored, if it stored it.
        new_id = new.pop((r.form.id, r.data.nonce, r.who.attendee_id, r.who.device), None)
        if new_id is None:
            try:
                earlier = answers.earlier(db, form_id=r.form.id, who=r.who,
                                          nonce=r.data.nonce)
            except AppError as exc:
                outcomes.append(exc)
                continue
            outcomes.append(answers.Stored(earlier, r.form.conference_id))
            continue
        choices.extend(answers.choice_rows(new_id, r.form.id, r.who.site_id, r.checked))
        outcomes.append(answers.Stored(
            answers.Answered(answers.public({**r.row, "id": new_id}), created=True),
            r.form.conference_id))
    if choices:
        conn.execute(answers.CHOICES, choices)
    return outcomes


def submit_many(
    db: Session, *, items: Sequence[tuple[int, AnswerSubmit]], settings: Settings,
    publish: Publish | None, actors: Sequence[Actor] | None = None,
) -> list[Outcome[answers.Answered]]:
    """`answers.submit` for answers that queued together: one transaction, one outcome
    per answer in order (its `Answered`, or the error it alone raised). `actors`: each
    answer's request's actor, whose address the audit log counts it under."""
    each = list(actors) if actors is not None else [current_actor()] * len(items)
    try:
        outcomes = _write(db, _check(db, items, settings))
        db.commit()
    except Exception:
        db.rollback()
        alone: list[Outcome[answers.Answered]] = []
        for (form_id, data), actor in zip(items, each, strict=True):
            with acting(actor):
                alone.append(answers.alone(db, form_id=form_id, data=data,
                                           settings=settings, publish=publish))
        return alone
    done: list[Outcome[answers.Answered]] = []
    for outcome, actor in zip(outcomes, each, strict=True):
        if isinstance(outcome, AppError):
            done.append(outcome)
            continue
        with acting(actor):
            done.append(answers.committed(db, outcome, publish))
    return done
