"""Tables and API schemas of the floor: sites asking to speak, written questions.

The unit that asks is the site, not a person: a site has at most one open request per
session (a partial unique index, whatever the race), and a second ask changes it in
place, keeping its place in the queue. The chair gives the floor to one request at a
time; the stage names it (`Stage.speaker_id`) so every screen's snapshot carries it.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, ConfigDict
from pydantic import Field as PydField
from sqlalchemy import Column, Index, String, text
from sqlmodel import Field, SQLModel

from app.audit.policy import audited
from app.db import UTCDateTime, utcnow
from app.text import Name, cleaner

MAX_TOPIC = 300
MAX_QUESTION = 1000
MAX_REASON = 300
#: The longest time limit a chair may set (two hours).
MAX_LIMIT_SECONDS = 7200



Topic = Annotated[str, AfterValidator(cleaner(MAX_TOPIC, "Nội dung phát biểu"))]
QuestionText = Annotated[str, AfterValidator(cleaner(MAX_QUESTION, "Câu hỏi"))]
Reason = Annotated[str, AfterValidator(cleaner(MAX_REASON, "Lý do"))]


class FloorStatus(StrEnum):
    open = "open"
    speaking = "speaking"
    done = "done"
    declined = "declined"
    withdrawn = "withdrawn"


FLOOR_STATUS_LABELS: dict[FloorStatus, str] = {
    FloorStatus.open: "đang chờ",
    FloorStatus.speaking: "đang phát biểu",
    FloorStatus.done: "đã phát biểu",
    FloorStatus.declined: "không được chấp nhận",
    FloorStatus.withdrawn: "đã rút",
}


class QuestionStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    hidden = "hidden"
    merged = "merged"


QUESTION_STATUS_LABELS: dict[QuestionStatus, str] = {
    QuestionStatus.pending: "chờ duyệt",
    QuestionStatus.approved: "đã duyệt",
    QuestionStatus.hidden: "đã ẩn",
    QuestionStatus.merged: "đã gộp",
}


class FloorRequest(SQLModel, table=True):
    """A site's request for the floor in one session, and what became of it."""

    __tablename__ = "floor_request"
    __table_args__ = (
        # One open request per site and session, whatever the race.
        Index(
            "uq_floor_request_open",
            "session_id",
            "site_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        # The chair reads the head of the queue in the order asked: from the index alone.
        Index("ix_floor_request_session", "session_id", "status", "asked_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id", index=True)
    session_id: int = Field(foreign_key="conference_session.id")
    site_id: int = Field(foreign_key="site.id")
    # The outermost hub above the site when it asked, and its kind: the chair's filters.
    hub_id: int | None = Field(default=None, foreign_key="site.id")
    site_kind: str = Field(max_length=20)
    agenda_item_id: int | None = Field(default=None, foreign_key="agenda_item.id")
    topic: str = Field(default="", max_length=MAX_TOPIC)
    speaker_name: str = Field(default="", max_length=200)
    speaker_position: str = Field(default="", max_length=200)
    status: FloorStatus = Field(
        default=FloorStatus.open, sa_column=Column(String(20), nullable=False)
    )
    # `asked_at` is the queue order; a changed ask keeps it, `changed_at` moves.
    asked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    asked_by: int | None = Field(default=None, foreign_key="user_account.id")
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    limit_seconds: int | None = None
    decline_reason: str | None = Field(default=None, max_length=MAX_REASON)
    decided_by: int | None = Field(default=None, foreign_key="user_account.id")


class FloorQuestion(SQLModel, table=True):
    """A written question for the current agenda item, moderated by the central office."""

    __tablename__ = "floor_question"
    __table_args__ = (Index("ix_floor_question_session", "session_id", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id", index=True)
    session_id: int = Field(foreign_key="conference_session.id")
    agenda_item_id: int | None = Field(default=None, foreign_key="agenda_item.id")
    # Who sent it: a coordinator for a site, or an attendee (with their personal code),
    # or nobody known (a phone without a code).
    site_id: int | None = Field(default=None, foreign_key="site.id")
    user_id: int | None = Field(default=None, foreign_key="user_account.id")
    attendee_id: int | None = Field(default=None, foreign_key="attendee.id", index=True)
    text: str = Field(max_length=MAX_QUESTION)
    status: QuestionStatus = Field(
        default=QuestionStatus.pending, sa_column=Column(String(20), nullable=False)
    )
    merged_into_id: int | None = Field(default=None, foreign_key="floor_question.id")
    # How many questions this one stands for (itself plus those merged into it).
    weight: int = 1
    asked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    moderated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    moderated_by: int | None = Field(default=None, foreign_key="user_account.id")


# ------------------------------------------------------------------ schemas


class FloorAsk(SQLModel):
    """A site asks for the floor (or changes its open request)."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    topic: Topic
    speaker_name: Name
    speaker_position: Name | None = None


class FloorGive(SQLModel):
    """The chair gives the floor; `limit_seconds` starts a countdown on every screen."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    limit_seconds: int | None = PydField(default=None, ge=30, le=MAX_LIMIT_SECONDS)


class FloorDecline(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    reason: Reason


class FloorLimit(SQLModel):
    """A new time limit for the current speaker (`null`: none)."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    limit_seconds: int | None = PydField(default=None, ge=30, le=MAX_LIMIT_SECONDS)


class QuestionAsk(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    text: QuestionText


class QuestionModerate(SQLModel):
    """approve, hide, or merge into another question of the session."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    action: QuestionStatus
    merge_into: int | None = None


class FloorRequestPublic(SQLModel):
    id: int
    session_id: int
    site_id: int
    site_name: str
    site_kind: str
    hub_id: int | None
    hub_name: str | None
    topic: str
    speaker_name: str
    speaker_position: str
    status: FloorStatus
    status_label: str
    asked_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    limit_seconds: int | None
    decline_reason: str | None


class QuestionPublic(SQLModel):
    id: int
    session_id: int
    agenda_item_id: int | None
    site_id: int | None
    site_name: str | None
    text: str
    status: QuestionStatus
    status_label: str
    weight: int
    merged_into_id: int | None
    asked_at: datetime
    on_screen: bool = False


class FloorQueuePublic(SQLModel):
    """What the chair sees: the speaker, the head of the open requests in the order asked
    and how many wait in all (`waiting`), questions."""

    version: int
    session_id: int
    speaker: FloorRequestPublic | None
    requests: list[FloorRequestPublic]
    waiting: int
    questions: list[QuestionPublic]
    shown_question_id: int | None


# What the audit log keeps of these tables (app/audit/policy.py): the speaker's name and
# position and the text of a question are personal; the site's kind and hub are copies.
audited("floor_request", personal=("speaker_name", "speaker_position"),
        ignore=("hub_id", "site_kind"))
audited("floor_question", personal=("text",))
