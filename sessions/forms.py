"""Use cases of writing training forms: a conference's question banks and the forms of a
session that ask them.

Central office only, reads included: a bank holds the correct answers. Every function is
keyword-only and takes the acting user. A bank is free to change until a form asking it
is opened; from then on answers name its questions and options, and it is locked
(`bank_in_use`). Whether a bank fits a form is checked when the form is made and again
when the bank of a draft form changes: a test (pre/post) asks only scored choice
questions, a survey marks nothing correct. Writes are ORM writes: the audit log records
them row by row (policies in form_models.py).
"""

from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from endpoints import service as endpoints_service
from sessions import errors, form_bank
from sessions.form_bank import BankView
from sessions.form_models import (
    CHOICE_KINDS,
    FORM_KIND_LABELS,
    FORM_STATUS_LABELS,
    MAX_OPTIONS,
    TEST_KINDS,
    BankCreate,
    BankOption,
    BankPublic,
    BankQuestion,
    BankSummary,
    FormCreate,
    FormKind,
    FormPublic,
    FormStatus,
    FormUpdate,
    OptionPublic,
    QuestionBank,
    QuestionIn,
    QuestionKind,
    QuestionPublic,
    TrainingForm,
    option_letter,
)
from sessions.loading import load_session, readable_session

# ------------------------------------------------------------------ rules


def check_questions(questions: Sequence[QuestionIn]) -> None:
    """`question_invalid`, naming the question, when options do not fit its kind: a
    choice question has 2 to 10 distinct options (a single choice at most one marked
    correct), a rating or text question none."""
    for position, q in enumerate(questions, start=1):
        where = f"Câu {position}: "
        if q.kind not in CHOICE_KINDS:
            if q.options:
                raise errors.QuestionInvalid(
                    where + "câu đánh giá hoặc trả lời ngắn không có phương án.",
                    position=position)
            continue
        if not 2 <= len(q.options) <= MAX_OPTIONS:
            raise errors.QuestionInvalid(
                where + f"câu chọn phương án cần từ 2 đến {MAX_OPTIONS} phương án.",
                position=position)
        labels = [o.label.casefold() for o in q.options]
        if len(set(labels)) != len(labels):
            raise errors.QuestionInvalid(where + "có hai phương án giống nhau.",
                                         position=position)
        if q.kind == QuestionKind.single and sum(o.correct for o in q.options) > 1:
            raise errors.QuestionInvalid(
                where + "câu chọn một chỉ có một đáp án đúng.", position=position)


def check_fits(bank: BankView, *, kind: FormKind) -> None:
    """`bank_empty`, `bank_not_a_test` or `bank_not_a_survey` (naming the question) when
    the bank cannot be asked by a form of this kind."""
    if not bank.questions:
        raise errors.BankEmpty()
    for q in bank.questions:
        where = f"Câu {q.position}: "
        if kind not in TEST_KINDS:
            if q.correct_ids:
                raise errors.BankNotASurvey(
                    where + "có phương án đánh dấu đúng; phiếu khảo sát không chấm điểm.",
                    position=q.position)
            continue
        why = None
        if q.kind not in CHOICE_KINDS:
            why = "bài kiểm tra chỉ gồm câu chọn một hoặc chọn nhiều."
        elif len(q.options) < 2:
            why = "cần ít nhất 2 phương án."
        elif not q.correct_ids:
            why = "chưa đánh dấu đáp án đúng."
        elif q.kind == QuestionKind.single and len(q.correct_ids) != 1:
            why = "câu chọn một cần đúng một đáp án đúng."
        if why:
            raise errors.BankNotATest(where + why, position=q.position)


# ------------------------------------------------------------------ views


def bank_public(bank: QuestionBank, view: BankView) -> BankPublic:
    """A bank with its questions and options (letters A, B…), correct answers included."""
    assert bank.id is not None
    return BankPublic(
        id=bank.id, conference_id=bank.conference_id, title=bank.title,
        questions=[QuestionPublic(
            id=q.id, position=q.position, kind=q.kind, text=q.text,
            options=[OptionPublic(id=o.id, position=o.position, letter=option_letter(o.position),
                                  label=o.label, correct=o.correct) for o in q.options],
        ) for q in view.questions],
    )


def form_public(form: TrainingForm) -> FormPublic:
    """A form as the API shows it, with its Vietnamese kind and status."""
    assert form.id is not None
    return FormPublic(
        id=form.id, conference_id=form.conference_id, session_id=form.session_id,
        bank_id=form.bank_id, kind=form.kind, kind_label=FORM_KIND_LABELS[form.kind],
        title=form.title, status=form.status, status_label=FORM_STATUS_LABELS[form.status],
        opened_at=form.opened_at, closed_at=form.closed_at,
        results_version=form.results_version,
    )


# ------------------------------------------------------------------ banks


def _load_bank(db: Session, bank_id: int, *, lock: bool = False) -> QuestionBank:
    query = select(QuestionBank).where(QuestionBank.id == bank_id)
    # Locked: a bank's edit, and a form made on it, take turns (PostgreSQL; SQLite has
    # one writer anyway), so no form is made on a bank while it changes.
    bank = db.exec(query.with_for_update() if lock else query).first()
    if bank is None:
        raise errors.BankNotFound()
    return bank


def _forms_of_bank(db: Session, bank_id: int) -> Sequence[TrainingForm]:
    # Locked: opening one of them waits for this edit, or this edit sees it opened.
    return db.exec(
        select(TrainingForm).where(TrainingForm.bank_id == bank_id)
        .order_by(col(TrainingForm.id)).with_for_update()
    ).all()


def _ever_opened(forms: Sequence[TrainingForm]) -> bool:
    return any(f.status != FormStatus.draft or f.opened_at is not None for f in forms)


def _write_questions(db: Session, bank_id: int, questions: Sequence[QuestionIn]) -> None:
    for position, q in enumerate(questions, start=1):
        row = BankQuestion(bank_id=bank_id, position=position, kind=q.kind, text=q.text)
        db.add(row)
        db.flush()
        assert row.id is not None
        for at, o in enumerate(q.options, start=1):
            db.add(BankOption(question_id=row.id, position=at, label=o.label,
                              correct=o.correct))
    db.flush()


def _drop_questions(db: Session, bank_id: int) -> None:
    questions = db.exec(select(BankQuestion).where(BankQuestion.bank_id == bank_id)).all()
    ids = [q.id for q in questions]
    if ids:
        for option in db.exec(select(BankOption).where(col(BankOption.question_id).in_(ids))):
            db.delete(option)
        db.flush()
    for q in questions:
        db.delete(q)
    db.flush()  # before the new rows take the same positions


def create_bank(
    db: Session, *, conference_id: int, data: BankCreate, actor: User
) -> QuestionBank:
    """A new bank of a conference with its questions in the order given."""
    accounts_service.require_admin(actor)
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    check_questions(data.questions)
    bank = QuestionBank(conference_id=conference_id, title=data.title)
    db.add(bank)
    db.flush()
    assert bank.id is not None
    _write_questions(db, bank.id, data.questions)
    db.commit()
    return bank


def replace_bank(db: Session, *, bank_id: int, data: BankCreate, actor: User) -> QuestionBank:
    """Replace a bank's title and all its questions; `bank_in_use` once a form asking it
    was opened, and the draft forms asking it must still fit it."""
    accounts_service.require_admin(actor)
    check_questions(data.questions)
    bank = _load_bank(db, bank_id, lock=True)
    forms = _forms_of_bank(db, bank_id)
    if _ever_opened(forms):
        db.rollback()
        raise errors.BankInUse()
    bank.title = data.title
    db.add(bank)
    _drop_questions(db, bank_id)
    _write_questions(db, bank_id, data.questions)
    view = form_bank.load_bank(db, bank_id=bank_id)
    try:
        for kind in dict.fromkeys(f.kind for f in forms):
            check_fits(view, kind=kind)
    except (errors.BankEmpty, errors.BankNotATest, errors.BankNotASurvey):
        db.rollback()
        raise
    db.commit()
    form_bank.forget_bank(db, bank_id=bank_id)
    return bank


def delete_bank(db: Session, *, bank_id: int, actor: User) -> None:
    """Delete a bank no form asks (`bank_in_use` otherwise: delete its draft forms first)."""
    accounts_service.require_admin(actor)
    bank = _load_bank(db, bank_id, lock=True)
    forms = _forms_of_bank(db, bank_id)
    if forms:
        db.rollback()
        raise errors.BankInUse(
            "Bộ câu hỏi đã được dùng cho phiếu đã mở." if _ever_opened(forms) else
            "Bộ câu hỏi đang được phiếu sử dụng: hãy xoá các phiếu đó trước.",
            forms=len(forms))
    _drop_questions(db, bank_id)
    db.delete(bank)
    db.commit()
    form_bank.forget_bank(db, bank_id=bank_id)


def get_bank(db: Session, *, bank_id: int, actor: User) -> BankPublic:
    """A bank with its questions and correct answers."""
    accounts_service.require_admin(actor)
    bank = _load_bank(db, bank_id)
    return bank_public(bank, form_bank.load_bank(db, bank_id=bank_id))


def bank_summary(db: Session, *, bank_id: int, actor: User) -> BankSummary:
    """One bank's line of the list (what its editor shows above the questions)."""
    accounts_service.require_admin(actor)
    bank = _load_bank(db, bank_id)
    found = _summaries(db, [bank])
    return found[0]


def list_banks(db: Session, *, conference_id: int, actor: User) -> list[BankSummary]:
    """The banks of a conference, newest first, with their sizes and use."""
    accounts_service.require_admin(actor)
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    banks = db.exec(
        select(QuestionBank).where(QuestionBank.conference_id == conference_id)
        .order_by(col(QuestionBank.id).desc())
    ).all()
    return _summaries(db, banks)


def _summaries(db: Session, banks: Sequence[QuestionBank]) -> list[BankSummary]:
    ids = [b.id for b in banks]
    if not ids:
        return []
    sizes = dict(db.exec(
        select(BankQuestion.bank_id, func.count())
        .where(col(BankQuestion.bank_id).in_(ids)).group_by(col(BankQuestion.bank_id))
    ).all())
    uses: dict[int, tuple[int, bool]] = {}
    for bank_id, status, opened_at in db.exec(
        select(TrainingForm.bank_id, TrainingForm.status, TrainingForm.opened_at)
        .where(col(TrainingForm.bank_id).in_(ids))
    ).all():
        count, locked = uses.get(bank_id, (0, False))
        uses[bank_id] = (count + 1,
                         locked or status != FormStatus.draft or opened_at is not None)
    out = []
    for b in banks:
        assert b.id is not None
        count, locked = uses.get(b.id, (0, False))
        out.append(BankSummary(id=b.id, conference_id=b.conference_id, title=b.title,
                               questions=sizes.get(b.id, 0), forms=count, locked=locked))
    return out


# ------------------------------------------------------------------ forms


def create_form(db: Session, *, session_id: int, data: FormCreate, actor: User) -> TrainingForm:
    """A draft form of a session asking a bank of the same conference that fits its kind."""
    accounts_service.require_admin(actor)
    session = load_session(db, session_id)
    bank = _load_bank(db, data.bank_id, lock=True)
    if bank.conference_id != session.conference_id:
        db.rollback()
        raise errors.BankNotInConference()
    try:
        check_fits(form_bank.load_bank(db, bank_id=data.bank_id), kind=data.kind)
    except (errors.BankEmpty, errors.BankNotATest, errors.BankNotASurvey):
        db.rollback()
        raise
    form = TrainingForm(conference_id=session.conference_id, session_id=session_id,
                        bank_id=data.bank_id, kind=data.kind, title=data.title)
    db.add(form)
    db.commit()
    return form


def list_forms(db: Session, *, session_id: int, actor: User) -> Sequence[TrainingForm]:
    """The forms of a session in the order they were made."""
    accounts_service.require_admin(actor)
    readable_session(db, session_id, actor)
    return db.exec(
        select(TrainingForm).where(TrainingForm.session_id == session_id)
        .order_by(col(TrainingForm.id))
    ).all()


def get_form(db: Session, *, form_id: int, actor: User) -> TrainingForm:
    """One form."""
    accounts_service.require_admin(actor)
    form = db.get(TrainingForm, form_id)
    if form is None:
        raise errors.FormNotFound()
    return form


def _draft_form(db: Session, form_id: int) -> TrainingForm:
    # Locked: a form being opened now is either seen open here or opened after the change.
    form = db.exec(
        select(TrainingForm).where(TrainingForm.id == form_id).with_for_update()
    ).first()
    if form is None:
        db.rollback()
        raise errors.FormNotFound()
    if form.status != FormStatus.draft or form.opened_at is not None:
        db.rollback()
        raise errors.FormNotDraft()
    return form


def rename_form(db: Session, *, form_id: int, data: FormUpdate, actor: User) -> TrainingForm:
    """A draft form's new title (`form_not_draft` once it was opened)."""
    accounts_service.require_admin(actor)
    form = _draft_form(db, form_id)
    form.title = data.title
    db.add(form)
    db.commit()
    return form


def delete_form(db: Session, *, form_id: int, actor: User) -> None:
    """Delete a draft form (`form_not_draft` once it was opened: it has answers)."""
    accounts_service.require_admin(actor)
    db.delete(_draft_form(db, form_id))
    db.commit()
