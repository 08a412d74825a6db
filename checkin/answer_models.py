"""Tables and API schemas of the answers to training forms: phone answers and room tallies.

An answer is one person's whole form, sent once from the follow page: with the
attendee's personal code it is theirs (`attendee_id`, one per form: a unique key, like
check-in), without it it counts for its site anonymously, once per phone (`device`, a
random key the phone keeps). `nonce` (one per form) lets a phone retry a lost answer and
get the same result back. `form_choice` holds what was picked, one row per option (or a
rating, or a short text), with the form and site copied so results are one indexed scan.

A tally is a room without phones: the coordinator types how many chose each option. One
row per form and site; a corrected tally replaces the earlier one, never adds.
"""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField
from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.audit.policy import audited
from app.db import UTCDateTime, utcnow

MAX_TEXT_ANSWER = 500
MAX_NONCE = 64
MAX_DEVICE = 64


class FormAnswer(SQLModel, table=True):
    """One whole answer to a form, from one phone, once."""

    __tablename__ = "form_answer"
    __table_args__ = (
        # Exactly once: per attendee (NULLs are distinct: anonymous answers pass), per
        # anonymous phone, and per client nonce (a retry finds the first answer).
        UniqueConstraint("form_id", "attendee_id", name="uq_form_answer_attendee"),
        UniqueConstraint("form_id", "device", name="uq_form_answer_device"),
        UniqueConstraint("form_id", "nonce", name="uq_form_answer_nonce"),
        Index("ix_form_answer_site", "form_id", "site_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id")
    form_id: int = Field(foreign_key="training_form.id")
    site_id: int = Field(foreign_key="site.id")
    attendee_id: int | None = Field(default=None, foreign_key="attendee.id", index=True)
    device: str | None = Field(default=None, max_length=MAX_DEVICE)
    nonce: str = Field(max_length=MAX_NONCE)
    answered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Tests only: questions scored, of them right, and the score in percent.
    scored: int = 0
    correct: int = 0
    score: float | None = None


class FormChoice(SQLModel, table=True):
    """What one answer picked for one question: an option, a rating, or a short text."""

    __tablename__ = "form_choice"
    __table_args__ = (
        Index("ix_form_choice_form", "form_id", "question_id", "option_id"),
        Index("ix_form_choice_answer", "answer_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    answer_id: int = Field(foreign_key="form_answer.id")
    form_id: int = Field(foreign_key="training_form.id")
    site_id: int = Field(foreign_key="site.id")
    question_id: int = Field(foreign_key="bank_question.id")
    option_id: int | None = Field(default=None, foreign_key="bank_option.id")
    rating: int | None = None
    text: str | None = Field(default=None, max_length=MAX_TEXT_ANSWER)


class FormTally(SQLModel, table=True):
    """A room's counts for a form, typed by its coordinator (one row per form and site).

    `counts`: {"<question id>": {"<option id>" or "r<1-5>": count}}; `respondents`: how
    many people the tally stands for (the most counted on any question; for a single
    choice, the sum of its options)."""

    __tablename__ = "form_tally"
    __table_args__ = (UniqueConstraint("form_id", "site_id", name="uq_form_tally_site"),)

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id")
    form_id: int = Field(foreign_key="training_form.id")
    site_id: int = Field(foreign_key="site.id")
    respondents: int = 0
    counts: dict[str, dict[str, int]] = Field(default_factory=dict, sa_column=Column(JSON))
    entered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    entered_by: int | None = Field(default=None, foreign_key="user_account.id")


# ------------------------------------------------------------------ schemas


# The answer path's schemas are plain pydantic models: SQLModel's own __new__/__init__
# cost a few percent of the server's time at 500 answers a second.
class ChoiceIn(BaseModel):
    """The answer to one question: `options` (ids) for a choice, `rating` 1–5, or `text`."""

    model_config = ConfigDict(extra="forbid")

    question_id: int
    options: list[int] = PydField(default_factory=list, max_length=10)
    rating: int | None = PydField(default=None, ge=1, le=5)
    text: Annotated[str | None, PydField(max_length=2000)] = None


class AnswerSubmit(BaseModel):
    """A phone's whole answer. `nonce`: fresh per form on the phone, reused on retry;
    `device`: the phone's own random key (anonymous answers: once per phone);
    `code`: the attendee's personal code, if they gave it; `site`: the site's answer code."""

    model_config = ConfigDict(extra="forbid")

    nonce: str = PydField(min_length=8, max_length=MAX_NONCE, pattern=r"^[A-Za-z0-9_-]+$")
    device: str | None = PydField(default=None, min_length=8, max_length=MAX_DEVICE,
                                  pattern=r"^[A-Za-z0-9_-]+$")
    code: str | None = PydField(default=None, max_length=20)
    # The site's signed answer code (`/a/<code>`, checkin.answer_links): where it counts.
    site: str | None = PydField(default=None, max_length=24)
    answers: list[ChoiceIn] = PydField(max_length=100)


class AnswerPublic(BaseModel):
    id: int
    form_id: int
    site_id: int
    answered_at: datetime
    signed: bool  # with a personal code
    scored: int
    correct: int
    score: float | None


class TallySubmit(SQLModel):
    """A room's counts: {"<question id>": {"<option id>" or "r1".."r5": count}}."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    counts: dict[str, dict[str, int]]


class TallyPublic(SQLModel):
    form_id: int
    site_id: int
    respondents: int
    counts: dict[str, dict[str, int]]
    entered_at: datetime | None  # None: no tally typed yet
    present: int


# Answers come in storms: summarised per flush like check-ins (`form.answer`), not one
# entry per row. The tally is a coordinator's deliberate act: logged row by row.
audited("form_answer", skip=True)
audited("form_choice", skip=True)
audited("form_tally")
