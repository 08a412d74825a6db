"""Tables and API schemas of the programme: sessions, agenda items, slide decks, the stage.

Times are stored in UTC. A time given without an offset (an HTML `datetime-local`
field, or an API client that omits it) is read as Asia/Ho_Chi_Minh, the zone every
organiser thinks in; answers always carry the offset (`+00:00`).
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, ConfigDict, model_validator
from pydantic import Field as PydField
from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from app.audit.policy import audited
from app.db import UTCDateTime, utcnow
from app.text import Name, Title, clean_text

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_NOTICE = 500


class SessionStatus(StrEnum):
    scheduled = "scheduled"
    live = "live"
    closed = "closed"


SESSION_STATUS_LABELS: dict[SessionStatus, str] = {
    SessionStatus.scheduled: "chưa bắt đầu",
    SessionStatus.live: "đang diễn ra",
    SessionStatus.closed: "đã kết thúc",
}


class AgendaKind(StrEnum):
    opening = "opening"
    talk = "talk"
    practice = "practice"
    discussion = "discussion"
    summary = "summary"
    break_ = "break"


AGENDA_KIND_LABELS: dict[AgendaKind, str] = {
    AgendaKind.opening: "khai mạc",
    AgendaKind.talk: "báo cáo chuyên đề",
    AgendaKind.practice: "thực hành",
    AgendaKind.discussion: "thảo luận",
    AgendaKind.summary: "tổng kết",
    AgendaKind.break_: "giải lao",
}


def as_utc(value: datetime) -> datetime:
    """An aware UTC time; a naive one is taken as Asia/Ho_Chi_Minh local time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TZ)
    return value.astimezone(UTC)


def _notice(value: str) -> str:
    return clean_text(value, max_length=MAX_NOTICE, field="Thông báo")


Moment = Annotated[datetime, AfterValidator(as_utc)]
Notice = Annotated[str, AfterValidator(_notice)]
SlideNumber = Annotated[int, PydField(ge=-1_000_000, le=1_000_000)]


# ------------------------------------------------------------------ sessions


class ConferenceSession(SQLModel, table=True):
    __tablename__ = "conference_session"

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id", index=True)
    title: str = Field(max_length=300)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    status: SessionStatus = Field(
        default=SessionStatus.scheduled, sa_column=Column(String(20), nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Grows with every change of the session's floor queue: the chair's view names it.
    floor_version: int = 0


class SessionCreate(SQLModel):
    """A session; naive times are Asia/Ho_Chi_Minh, `ends_at` must be after `starts_at`."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    title: Title
    starts_at: Moment
    ends_at: Moment

    @model_validator(mode="after")
    def _times_in_order(self) -> "SessionCreate":
        if self.ends_at <= self.starts_at:
            raise ValueError("Giờ kết thúc phải sau giờ bắt đầu")
        return self


class SessionUpdate(SQLModel):
    """Fields to change; naive times are Asia/Ho_Chi_Minh."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    title: Title | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None


class SessionPublic(SQLModel):
    id: int
    conference_id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    status: SessionStatus
    created_at: datetime


# -------------------------------------------------------------------- agenda


class AgendaItem(SQLModel, table=True):
    __tablename__ = "agenda_item"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="conference_session.id", index=True)
    position: int = 0
    kind: AgendaKind = Field(sa_column=Column(String(20), nullable=False))
    title: str = Field(max_length=300)
    speaker: str | None = Field(default=None, max_length=200)
    planned_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    planned_end: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AgendaItemCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    title: Title
    kind: AgendaKind = AgendaKind.talk
    speaker: Name | None = None
    planned_start: Moment | None = None
    planned_end: Moment | None = None

    @model_validator(mode="after")
    def _times_in_order(self) -> "AgendaItemCreate":
        if self.planned_start and self.planned_end and self.planned_end <= self.planned_start:
            raise ValueError("Giờ kết thúc phải sau giờ bắt đầu")
        return self


class AgendaItemUpdate(SQLModel):
    """Fields to change; send `null` to clear the speaker or a planned time."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    title: Title | None = None
    kind: AgendaKind | None = None
    speaker: Name | None = None
    planned_start: Moment | None = None
    planned_end: Moment | None = None


class AgendaOrder(SQLModel):
    """Every agenda item id of the session, in the new order."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    ids: list[int] = PydField(max_length=1000)


class DeckPublic(SQLModel):
    id: int
    filename: str
    page_count: int
    width: int
    height: int
    sha256: str
    thumbnail_url: str
    created_at: datetime


class AgendaItemPublic(SQLModel):
    id: int
    session_id: int
    position: int
    kind: AgendaKind
    kind_label: str
    title: str
    speaker: str | None
    planned_start: datetime | None
    planned_end: datetime | None
    deck: DeckPublic | None = None


# --------------------------------------------------------------------- decks


class SlideDeck(SQLModel, table=True):
    __tablename__ = "slide_deck"

    id: int | None = Field(default=None, primary_key=True)
    agenda_item_id: int = Field(foreign_key="agenda_item.id", sa_column_kwargs={"unique": True})
    filename: str = Field(max_length=255)
    page_count: int
    sha256: str = Field(max_length=64)
    # Capability: the images are served at /decks/{id}/{key}/{page}.png without a login.
    key: str = Field(max_length=32)
    width: int
    height: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --------------------------------------------------------------------- stage


class Stage(SQLModel, table=True):
    """What every screen of a conference shows now; `version` only ever grows."""

    __tablename__ = "stage"

    conference_id: int = Field(foreign_key="conference.id", primary_key=True)
    version: int = 0
    session_id: int | None = Field(default=None, foreign_key="conference_session.id")
    agenda_item_id: int | None = Field(default=None, foreign_key="agenda_item.id")
    slide: int | None = None
    notice: str | None = Field(default=None, max_length=MAX_NOTICE)
    # The site that has the floor and the question put on every screen (the floor's).
    speaker_id: int | None = Field(default=None, foreign_key="floor_request.id")
    question_id: int | None = Field(default=None, foreign_key="floor_question.id")
    # The training form every screen shows: its answer link while open, or its results
    # once the presenter shows them (`form_results`).
    form_id: int | None = Field(default=None, foreign_key="training_form.id")
    form_results: bool = False
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class FollowLinkGeneration(SQLModel, table=True):
    """The current generation of a conference's follow-along link. Links carry the
    generation they were made in; rotating (central office) voids every earlier link.
    No row: generation 0 (links made before the first rotation)."""

    __tablename__ = "follow_link"

    conference_id: int = Field(primary_key=True)
    generation: int = 0
    rotated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StateUpdate(SQLModel):
    """A presenter command. A field left out keeps its value; `notice: null` clears it.

    Choosing another agenda item starts at its first slide unless `slide` is given.
    """

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    agenda_item_id: int | None = None
    slide: SlideNumber | None = None
    notice: Notice | None = None

    @model_validator(mode="before")
    @classmethod
    def _blank_notice_clears(cls, data: object) -> object:
        # A cleared text box sends "": that means "no notice", not an error.
        notice = data.get("notice") if isinstance(data, dict) else None
        if isinstance(data, dict) and isinstance(notice, str) and not notice.strip():
            data = {**data, "notice": None}
        return data


class StageSessionPublic(SQLModel):
    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    status: SessionStatus


class StageItemPublic(SQLModel):
    id: int
    title: str
    kind: AgendaKind
    kind_label: str
    speaker: str | None
    position: int


class StageSlidePublic(SQLModel):
    number: int
    count: int
    url: str


class StageFloorPublic(SQLModel):
    request_id: int
    site_id: int
    site_name: str
    speaker_name: str
    speaker_position: str
    topic: str
    started_at: datetime
    limit_seconds: int | None


class StageQuestionPublic(SQLModel):
    id: int
    text: str
    site_name: str | None
    weight: int


class StageFormPublic(SQLModel):
    id: int
    kind: str
    kind_label: str
    title: str
    status: str
    results: bool
    results_version: int


class StagePublic(SQLModel):
    """The stage as screens receive it (the websocket message without `type`)."""

    version: int
    conference_id: int
    conference_title: str
    session: StageSessionPublic | None
    item: StageItemPublic | None
    next: list[StageItemPublic]
    slide: StageSlidePublic | None
    notice: str | None
    changed_at: datetime
    floor: StageFloorPublic | None = None
    question: StageQuestionPublic | None = None
    form: StageFormPublic | None = None


class FollowLink(SQLModel):
    token: str
    url: str
    # When the link stops working (end of the conference's last day plus the grace).
    expires_at: datetime | None = None


# What the audit log keeps of these tables (app/audit/policy.py).
audited("conference_session", site_attr=None)
audited("agenda_item", site_attr=None)
audited("slide_deck", secret=("key",), site_attr=None, conference_attr=None)
audited("stage", site_attr=None)
audited("follow_link", site_attr=None)
