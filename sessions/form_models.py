"""Tables and API schemas of training forms: question banks, their questions, the forms.

A question bank belongs to a conference; a form (pre-test, post-test or survey) belongs
to a session and asks the questions of one bank. A pre-test and a post-test share a bank
so that their scores are comparable (they may sit in different sessions: the opening and
the closing one). The presenter opens and closes a form like a slide (`Stage.form_id`);
answers and tallies are checkin's (`checkin.answer_models`), they name attendees.

Question kinds: `single` and `multi` choice (in a test, with the correct options
marked), `rating` 1–5 and `text` (surveys). In a survey, `single`/`multi` are plain
choices: no option is marked correct.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, ConfigDict
from pydantic import Field as PydField
from sqlalchemy import Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.audit.policy import audited
from app.db import UTCDateTime, utcnow
from app.text import cleaner

MAX_TITLE = 200
MAX_QUESTION_TEXT = 500
MAX_OPTION_LABEL = 300
MAX_OPTIONS = 10
MAX_QUESTIONS = 100
#: A rating question's scale: 1 (worst) to 5 (best).
RATING_MIN, RATING_MAX = 1, 5


class FormKind(StrEnum):
    pretest = "pretest"
    posttest = "posttest"
    survey = "survey"


FORM_KIND_LABELS: dict[FormKind, str] = {
    FormKind.pretest: "Kiểm tra đầu vào",
    FormKind.posttest: "Kiểm tra đầu ra",
    FormKind.survey: "Khảo sát",
}

#: Kinds that are scored (their questions have correct answers).
TEST_KINDS = frozenset({FormKind.pretest, FormKind.posttest})


class QuestionKind(StrEnum):
    single = "single"
    multi = "multi"
    rating = "rating"
    text = "text"


QUESTION_KIND_LABELS: dict[QuestionKind, str] = {
    QuestionKind.single: "Chọn một",
    QuestionKind.multi: "Chọn nhiều",
    QuestionKind.rating: "Đánh giá 1–5",
    QuestionKind.text: "Trả lời ngắn",
}

#: Kinds with options (the others have none).
CHOICE_KINDS = frozenset({QuestionKind.single, QuestionKind.multi})


class FormStatus(StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"


FORM_STATUS_LABELS: dict[FormStatus, str] = {
    FormStatus.draft: "chưa mở",
    FormStatus.open: "đang mở",
    FormStatus.closed: "đã đóng",
}


Title = Annotated[str, AfterValidator(cleaner(MAX_TITLE, "Tiêu đề"))]
QuestionText = Annotated[str, AfterValidator(cleaner(MAX_QUESTION_TEXT, "Câu hỏi"))]
OptionLabel = Annotated[str, AfterValidator(cleaner(MAX_OPTION_LABEL, "Phương án"))]


class QuestionBank(SQLModel, table=True):
    """A conference's set of questions, asked by one form or by a pre- and a post-test."""

    __tablename__ = "question_bank"

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id", index=True)
    title: str = Field(max_length=MAX_TITLE)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class BankQuestion(SQLModel, table=True):
    """One question of a bank, in the bank's order (`position` from 1)."""

    __tablename__ = "bank_question"
    __table_args__ = (UniqueConstraint("bank_id", "position", name="uq_bank_question_position"),)

    id: int | None = Field(default=None, primary_key=True)
    bank_id: int = Field(foreign_key="question_bank.id")
    position: int
    kind: QuestionKind = Field(sa_column=Column(String(10), nullable=False))
    text: str = Field(max_length=MAX_QUESTION_TEXT)


class BankOption(SQLModel, table=True):
    """An option of a choice question (A, B, C… in `position` order), maybe correct."""

    __tablename__ = "bank_option"
    __table_args__ = (UniqueConstraint("question_id", "position", name="uq_bank_option_position"),)

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="bank_question.id", index=True)
    position: int
    label: str = Field(max_length=MAX_OPTION_LABEL)
    correct: bool = False


class TrainingForm(SQLModel, table=True):
    """A pre-test, post-test or survey of a session, asking the questions of a bank.

    `status`: draft → open (answers taken) → closed (no more answers; may be reopened by
    the presenter). `results_json` is the conference-wide result frozen when the presenter
    shows it on the screens (`results_version` grows each time it is shown again)."""

    __tablename__ = "training_form"
    __table_args__ = (Index("ix_training_form_session", "session_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id", index=True)
    session_id: int = Field(foreign_key="conference_session.id")
    bank_id: int = Field(foreign_key="question_bank.id")
    kind: FormKind = Field(sa_column=Column(String(10), nullable=False))
    title: str = Field(max_length=MAX_TITLE)
    status: FormStatus = Field(
        default=FormStatus.draft, sa_column=Column(String(10), nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    results_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    results_version: int = 0


# ------------------------------------------------------------------ schemas


class _Strict(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class OptionIn(_Strict):
    label: OptionLabel
    correct: bool = False


class QuestionIn(_Strict):
    kind: QuestionKind
    text: QuestionText
    # A bound on the payload only: the rule (2 to MAX_OPTIONS) and its code,
    # `question_invalid`, are sessions.forms.check_questions'.
    options: list[OptionIn] = PydField(default_factory=list, max_length=5 * MAX_OPTIONS)


class BankCreate(_Strict):
    title: Title
    questions: list[QuestionIn] = PydField(default_factory=list, max_length=MAX_QUESTIONS)


class FormCreate(_Strict):
    kind: FormKind
    title: Title
    bank_id: int


class OptionPublic(SQLModel):
    id: int
    position: int
    letter: str
    label: str
    correct: bool


class QuestionPublic(SQLModel):
    id: int
    position: int
    kind: QuestionKind
    text: str
    options: list[OptionPublic]


class BankPublic(SQLModel):
    id: int
    conference_id: int
    title: str
    questions: list[QuestionPublic]


class FormPublic(SQLModel):
    id: int
    conference_id: int
    session_id: int
    bank_id: int
    kind: FormKind
    kind_label: str
    title: str
    status: FormStatus
    status_label: str
    opened_at: datetime | None
    closed_at: datetime | None
    results_version: int


class FormUpdate(_Strict):
    title: Title


class BankSummary(SQLModel):
    """A bank in its conference's list: how big, how many forms ask it, whether locked."""

    id: int
    conference_id: int
    title: str
    questions: int
    forms: int
    locked: bool  # a form asking it was opened: it can no longer change


def option_letter(position: int) -> str:
    """A, B, C… for positions 1, 2, 3…"""
    return chr(ord("A") + position - 1)


# Banks, questions and forms name nobody: logged in full, with no site.
audited("question_bank", site_attr=None)
audited("bank_question", site_attr=None, conference_attr=None)
audited("bank_option", site_attr=None, conference_attr=None)
audited("training_form", site_attr=None, ignore=("results_json",))
