"""A room's tally: how many chose each option, typed by the site's coordinator.

For a room without phones. The coordinator of the site (or of a site above it) or the
central office types the counts once the form is open, or after it closed; a corrected
tally replaces the earlier one, it never adds. Counts are checked against the form's
questions: an unknown question or option, a negative count, or more people on any
question than are present at the site (the dashboard's own figure,
`attendance.site_present`) is `tally_invalid` naming the field at fault.
"""

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.db import utcnow
from app.realtime import Publish
from checkin import attendance, errors
from checkin import sites as checkin_sites
from checkin.answer_models import FormTally, TallyPublic, TallySubmit
from checkin.form_results import tally_question_respondents, tally_respondents
from endpoints.models import Site
from sessions import errors as sessions_errors
from sessions import events
from sessions import service as sessions_service
from sessions.models import Stage

MAX_COUNT = 100_000
RATING_KEYS = tuple(f"r{i}" for i in range(sessions_service.RATING_MIN,
                                           sessions_service.RATING_MAX + 1))


def _allowed(q: sessions_service.QuestionView) -> tuple[str, ...]:
    if q.kind in sessions_service.CHOICE_KINDS:
        return tuple(str(o.id) for o in q.options)
    if q.kind == sessions_service.QuestionKind.rating:
        return RATING_KEYS
    return ()


def _checked_question(q: sessions_service.QuestionView, field: str,
                      typed: dict[str, int], present: int) -> dict[str, int]:
    allowed = _allowed(q)
    if not allowed:
        raise errors.TallyInvalid(f"Câu {q.position}: câu trả lời ngắn không kiểm đếm được.",
                                  field=field)
    row: dict[str, int] = {}
    for key, n in typed.items():
        if key not in allowed:
            raise errors.TallyInvalid(f"Câu {q.position}: không có phương án “{key[:20]}”.",
                                      field=f"{field}.{key[:20]}")
        if not 0 <= n <= MAX_COUNT:
            raise errors.TallyInvalid(f"Câu {q.position}: số người phải từ 0 trở lên.",
                                      field=f"{field}.{key}")
        row[key] = n
    people = tally_question_respondents(q, row)
    if people > present:
        raise errors.TallyInvalid(
            f"Câu {q.position}: {people} người trả lời, nhiều hơn {present} người có mặt "
            "ở điểm cầu.", field=field)
    return row


def check_counts(bank: sessions_service.BankView, counts: dict[str, dict[str, int]],
                 *, present: int) -> dict[str, dict[str, int]]:
    """The counts as stored, or `tally_invalid` naming the field (`counts.<q>[.<key>]`)."""
    clean: dict[str, dict[str, int]] = {}
    for qkey, typed in counts.items():
        field = f"counts.{qkey[:20]}"
        q = bank.question(int(qkey)) if qkey.isdigit() and len(qkey) < 12 else None
        if q is None:
            raise errors.TallyInvalid("Không có câu hỏi này trong phiếu.", field=field)
        clean[str(q.id)] = _checked_question(q, field, typed, present)
    return clean


def _open_form(db: Session, form_id: int) -> tuple[sessions_service.FormRow,
                                                   sessions_service.BankView]:
    form, bank = sessions_service.form_for_answers(db, form_id=form_id)
    if form.status == sessions_service.FormStatus.draft:
        raise sessions_errors.FormNotOpen()
    return form, bank


def _public(form_id: int, site_id: int, row: FormTally | None, present: int) -> TallyPublic:
    return TallyPublic(form_id=form_id, site_id=site_id,
                       respondents=row.respondents if row else 0,
                       counts=dict(row.counts) if row else {},
                       entered_at=row.entered_at if row else None, present=present)


def get_tally(db: Session, *, form_id: int, site_id: int, actor: User) -> TallyPublic:
    """A site's tally (empty when none was typed) and its present count."""
    form, _ = _open_form(db, form_id)
    checkin_sites.site_in(db, site_id=site_id, actor=actor, conference_id=form.conference_id)
    row = db.exec(select(FormTally).where(FormTally.form_id == form_id,
                                          FormTally.site_id == site_id)).first()
    present = attendance.site_present(db, conference_id=form.conference_id, site_id=site_id)
    return _public(form_id, site_id, row, present)


def _store(db: Session, *, form: sessions_service.FormRow, site_id: int,
           counts: dict[str, dict[str, int]], respondents: int, actor: User) -> FormTally:
    """Replace the site's tally (one row per form and site); audited row by row."""
    assert form.id is not None
    if db.get_bind().dialect.name == "postgresql":
        # Two coordinators typing at once wait for each other (SQLite: BEGIN IMMEDIATE).
        db.exec(select(Site).where(Site.id == site_id).with_for_update())
    row = db.exec(select(FormTally).where(FormTally.form_id == form.id,
                                          FormTally.site_id == site_id)).first()
    if row is None:
        row = FormTally(conference_id=form.conference_id, form_id=form.id, site_id=site_id)
    row.counts, row.respondents = counts, respondents
    row.entered_at, row.entered_by = utcnow(), actor.id
    db.add(row)
    db.commit()
    return row


def set_tally(db: Session, *, form_id: int, site_id: int, data: TallySubmit, actor: User,
              publish: Publish | None) -> TallyPublic:
    """Type (or correct) a room's counts: replaces the earlier tally. Raises
    form_not_found, form_not_open (a draft), site_*, tally_invalid (with `field`)."""
    form, bank = _open_form(db, form_id)
    checkin_sites.site_in(db, site_id=site_id, actor=actor, conference_id=form.conference_id)
    present = attendance.site_present(db, conference_id=form.conference_id, site_id=site_id)
    counts = check_counts(bank, data.counts, present=present)
    respondents = tally_respondents(bank, counts)
    try:
        row = _store(db, form=form, site_id=site_id, counts=counts, respondents=respondents,
                     actor=actor)
    except IntegrityError:
        db.rollback()  # another tally of the site was inserted first: replace it
        row = _store(db, form=form, site_id=site_id, counts=counts, respondents=respondents,
                     actor=actor)
    if publish is not None:
        publish(events.form_channel(form.conference_id),
                events.encode_form_tallied(form_id=form_id, site_id=site_id,
                                           respondents=respondents))
    return _public(form_id, site_id, row, present)


def latest_form(db: Session, *, conference_id: int) -> int | None:
    """The form a room would tally now: the one on the stage when it is open or closed,
    else the conference's latest one opened; None when no form was ever opened."""
    stage = db.get(Stage, conference_id)
    if stage is not None and stage.form_id is not None:
        form = db.get(sessions_service.TrainingForm, stage.form_id)
        if form is not None and form.status != sessions_service.FormStatus.draft:
            return stage.form_id
    form_t = sessions_service.TrainingForm
    return db.exec(
        select(form_t.id).where(form_t.conference_id == conference_id,
                                form_t.status != sessions_service.FormStatus.draft)
        .order_by(col(form_t.id).desc())
    ).first()
