"""A form's questions as the answer path needs them, checked and scored in one place.

:func:`form_for_answers` reads the form and, once it has been opened (from then on its
bank may no longer change), keeps its questions in this process: 500 answers a second
cost no read of the bank. :func:`check_answer` is the one fact of what a valid answer is
and how a test answer is scored: a single choice is right when its one option is the
correct one, a multiple choice when the options picked are exactly the correct ones; a
question left out counts as wrong. Score = 100 × right / scored questions.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.db import PerPool
from app.text import TextError, clean_text
from sessions import errors
from sessions.form_models import (
    CHOICE_KINDS,
    RATING_MAX,
    RATING_MIN,
    TEST_KINDS,
    BankOption,
    BankQuestion,
    FormKind,
    FormStatus,
    QuestionKind,
    TrainingForm,
)

MAX_TEXT_ANSWER = 500


@dataclass(frozen=True, slots=True)
class OptionView:
    id: int
    position: int
    label: str
    correct: bool


@dataclass(frozen=True, slots=True)
class QuestionView:
    id: int
    position: int
    kind: QuestionKind
    text: str
    options: tuple[OptionView, ...]

    @property
    def correct_ids(self) -> frozenset[int]:
        return frozenset(o.id for o in self.options if o.correct)


@dataclass(frozen=True, slots=True)
class BankView:
    bank_id: int
    questions: tuple[QuestionView, ...]

    def question(self, question_id: int) -> QuestionView | None:
        for q in self.questions:
            if q.id == question_id:
                return q
        return None


@dataclass(frozen=True, slots=True)
class Picked:
    """One checked choice: an option, a rating or a text (exactly one is set)."""

    question_id: int
    option_id: int | None = None
    rating: int | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class Checked:
    """A valid answer: its rows, and for a test its score."""

    picked: tuple[Picked, ...]
    scored: int
    correct: int

    @property
    def score(self) -> float | None:
        return round(100.0 * self.correct / self.scored, 2) if self.scored else None


@dataclass(frozen=True, slots=True)
class AnswerItem:
    """What a phone sent for one question (the shape of checkin's ChoiceIn)."""

    question_id: int
    options: Sequence[int] = ()
    rating: int | None = None
    text: str | None = None


_banks: PerPool[dict[int, BankView]] = PerPool(dict)


def load_bank(db: Session, *, bank_id: int) -> BankView:
    """A bank's questions and options in order (two reads)."""
    questions = db.exec(
        select(BankQuestion).where(BankQuestion.bank_id == bank_id)
        .order_by(col(BankQuestion.position))
    ).all()
    ids = [q.id for q in questions]
    options = db.exec(
        select(BankOption).where(col(BankOption.question_id).in_(ids))
        .order_by(col(BankOption.question_id), col(BankOption.position))
    ).all() if ids else []
    by_question: dict[int, list[OptionView]] = {}
    for o in options:
        assert o.id is not None
        by_question.setdefault(o.question_id, []).append(
            OptionView(o.id, o.position, o.label, o.correct))
    return BankView(bank_id, tuple(
        QuestionView(q.id, q.position, q.kind, q.text, tuple(by_question.get(q.id, ())))
        for q in questions if q.id is not None))


def forget_bank(db: Session, *, bank_id: int) -> None:
    """Drop a bank from this process's memory (after an edit: only before any opening)."""
    _banks(db.get_bind()).pop(bank_id, None)


@dataclass(frozen=True, slots=True)
class FormRow:
    """A form as read for answering, counting and reporting (a plain row, not the ORM's)."""

    id: int
    conference_id: int
    session_id: int
    bank_id: int
    kind: FormKind
    title: str
    status: FormStatus


_t = TrainingForm.__table__  # type: ignore[attr-defined]
# One Core SELECT by primary key: the hot path reads it on every answer (an ORM get with
# populate_existing cost a fifth of the write gate's time at 150 answers a second).
_FORM = sa_select(_t.c.id, _t.c.conference_id, _t.c.session_id, _t.c.bank_id, _t.c.kind,
                  _t.c.title, _t.c.status).where(_t.c.id == bindparam("form_id"))


def form_for_answers(db: Session, *, form_id: int) -> tuple[FormRow, BankView]:
    """The form (read now: its status decides) and its bank (kept once it was opened)."""
    found = db.connection().execute(_FORM, {"form_id": form_id}).first()
    if found is None:
        raise errors.FormNotFound()
    form = FormRow(found.id, found.conference_id, found.session_id, found.bank_id,
                   FormKind(found.kind), found.title, FormStatus(found.status))
    memo = _banks(db.get_bind())
    bank = memo.get(form.bank_id)
    if bank is None:
        bank = load_bank(db, bank_id=form.bank_id)
        if form.status != FormStatus.draft:
            memo[form.bank_id] = bank
    return form, bank


def require_open(form: FormRow | TrainingForm) -> None:
    """`form_not_open` for a draft, `form_closed` once closed."""
    if form.status == FormStatus.draft:
        raise errors.FormNotOpen()
    if form.status == FormStatus.closed:
        raise errors.FormClosed()


def _invalid(question: QuestionView | None, why: str) -> errors.AnswerInvalid:
    where = f"Câu {question.position}: " if question else ""
    return errors.AnswerInvalid(where + why, question_id=question.id if question else None)


def _check_one(q: QuestionView, item: AnswerItem) -> list[Picked]:
    if q.kind in CHOICE_KINDS:
        chosen = list(dict.fromkeys(item.options))  # order kept, repeats dropped
        known = {o.id for o in q.options}
        if any(o not in known for o in chosen):
            raise _invalid(q, "phương án không có trong câu hỏi.")
        if q.kind == QuestionKind.single and len(chosen) > 1:
            raise _invalid(q, "chỉ được chọn một phương án.")
        if item.rating is not None or item.text:
            raise _invalid(q, "câu hỏi này chỉ nhận phương án.")
        return [Picked(q.id, option_id=o) for o in chosen]
    if item.options:
        raise _invalid(q, "câu hỏi này không có phương án.")
    if q.kind == QuestionKind.rating:
        if item.text:
            raise _invalid(q, "câu hỏi này nhận điểm từ 1 đến 5.")
        if item.rating is None:
            return []
        if not RATING_MIN <= item.rating <= RATING_MAX:
            raise _invalid(q, "điểm đánh giá phải từ 1 đến 5.")
        return [Picked(q.id, rating=item.rating)]
    if item.rating is not None:
        raise _invalid(q, "câu hỏi này nhận câu trả lời ngắn.")
    if not (item.text or "").strip():
        return []  # left blank: not answered
    try:
        text = clean_text(item.text or "", max_length=MAX_TEXT_ANSWER, field="Câu trả lời")
    except TextError as exc:  # control characters, too long: the phone's 422, never a 500
        raise _invalid(q, f"{exc}.") from exc
    return [Picked(q.id, text=text)]


def check_answer(bank: BankView, *, kind: FormKind, items: Iterable[AnswerItem]) -> Checked:
    """The answer's rows and score; `answer_invalid` (naming the question) when it does
    not fit: an unknown question or option, a question twice, two options for a single
    choice, a rating outside 1–5, a rating or text where options are asked."""
    seen: set[int] = set()
    picked: list[Picked] = []
    for item in items:
        q = bank.question(item.question_id)
        if q is None:
            raise _invalid(None, f"không có câu hỏi số {item.question_id} trong phiếu.")
        if q.id in seen:
            raise _invalid(q, "trả lời hai lần.")
        seen.add(q.id)
        picked.extend(_check_one(q, item))
    if not picked:
        raise _invalid(None, "chưa trả lời câu nào.")
    if kind not in TEST_KINDS:
        return Checked(tuple(picked), 0, 0)
    scored = [q for q in bank.questions if q.kind in CHOICE_KINDS and q.correct_ids]
    chosen: dict[int, set[int]] = {}
    for p in picked:
        if p.option_id is not None:
            chosen.setdefault(p.question_id, set()).add(p.option_id)
    right = sum(1 for q in scored if chosen.get(q.id, set()) == q.correct_ids)
    return Checked(tuple(picked), len(scored), right)
