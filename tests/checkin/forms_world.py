"""A training form to answer, made with plain rows (authoring is another part's work)."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from sessions.form_bank import forget_bank
from sessions.form_models import (
    BankOption,
    BankQuestion,
    FormKind,
    FormStatus,
    QuestionBank,
    QuestionKind,
    TrainingForm,
)
from sessions.models import ConferenceSession


@dataclass
class FormWorld:
    """A form of four questions: single (B right), multi (A and C right), rating, text."""

    form_id: int
    session_id: int
    single: int
    single_options: list[int]
    multi: int
    multi_options: list[int]
    rating: int
    text: int

    def right(self) -> list[dict[str, object]]:
        """An answer with both choice questions right, a rating and a text."""
        return [
            {"question_id": self.single, "options": [self.single_options[1]]},
            {"question_id": self.multi, "options": [self.multi_options[0],
                                                    self.multi_options[2]]},
            {"question_id": self.rating, "rating": 4},
            {"question_id": self.text, "text": "Rất bổ ích"},
        ]

    def half(self) -> list[dict[str, object]]:
        """The single right, the multi wrong (one of two correct options)."""
        return [
            {"question_id": self.single, "options": [self.single_options[1]]},
            {"question_id": self.multi, "options": [self.multi_options[0]]},
        ]


def _question(db: Session, bank_id: int, position: int, kind: QuestionKind,
              correct: list[bool] | None = None) -> tuple[int, list[int]]:
    q = BankQuestion(bank_id=bank_id, position=position, kind=kind, text=f"Câu {position}")
    db.add(q)
    db.flush()
    assert q.id is not None
    options = []
    for i, right in enumerate(correct or [], start=1):
        o = BankOption(question_id=q.id, position=i, label=f"Phương án {i}", correct=right)
        db.add(o)
        db.flush()
        assert o.id is not None
        options.append(o.id)
    return q.id, options


def make_form(db: Session, *, conference_id: int, kind: FormKind = FormKind.pretest,
              status: FormStatus = FormStatus.open) -> FormWorld:
    """A session, a bank of four questions and a form asking them, committed."""
    session = ConferenceSession(conference_id=conference_id, title="Phiên tập huấn",
                                starts_at=datetime(2025, 9, 9, 1, tzinfo=UTC),
                                ends_at=datetime(2025, 9, 9, 4, tzinfo=UTC))
    bank = QuestionBank(conference_id=conference_id, title="Bộ câu hỏi AI")
    db.add(session)
    db.add(bank)
    db.flush()
    assert bank.id is not None and session.id is not None
    test = kind != FormKind.survey
    single, single_options = _question(db, bank.id, 1, QuestionKind.single,
                                       [False, test, False])
    multi, multi_options = _question(db, bank.id, 2, QuestionKind.multi, [test, False, test])
    rating, _ = _question(db, bank.id, 3, QuestionKind.rating)
    text, _ = _question(db, bank.id, 4, QuestionKind.text)
    form = TrainingForm(conference_id=conference_id, session_id=session.id, bank_id=bank.id,
                        kind=kind, title="Kiểm tra đầu vào", status=status)
    db.add(form)
    db.commit()
    forget_bank(db, bank_id=bank.id)
    assert form.id is not None
    return FormWorld(form.id, session.id, single, single_options, multi, multi_options,
                     rating, text)


def set_status(db: Session, form_id: int, status: FormStatus) -> None:
    """Open or close a form (what the stage does; no stage message here)."""
    form = db.get(TrainingForm, form_id)
    assert form is not None
    form.status = status
    db.add(form)
    db.commit()
