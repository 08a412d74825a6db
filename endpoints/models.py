"""Tables and API schemas of the connection-point registry.

The conference record lives here, not in `sessions/`, because every site hangs
off it and `endpoints` is the domain the others depend on; `sessions` owns the
programme (days, sessions, agenda, slides) of a conference.
"""

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, model_validator
from pydantic import Field as PydField
from sqlalchemy import Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.accounts.models import Password, Username, UserPublic
from app.db import UTCDateTime, utcnow
from app.text import Name, ShortText, TextError, Title, check_phone, clean_text


class SiteKind(StrEnum):
    central = "central"
    hub = "hub"
    ward = "ward"
    commune = "commune"
    special_zone = "special_zone"
    department = "department"
    organization = "organization"
    other = "other"


SITE_KIND_LABELS: dict[SiteKind, str] = {
    SiteKind.central: "Điểm cầu trung tâm",
    SiteKind.hub: "Điểm cầu cấp tỉnh/thành",
    SiteKind.ward: "Phường",
    SiteKind.commune: "Xã",
    SiteKind.special_zone: "Đặc khu",
    SiteKind.department: "Sở, ban, ngành",
    SiteKind.organization: "Tổ chức chính trị - xã hội",
    SiteKind.other: "Khác",
}


class Readiness(StrEnum):
    not_connected = "not_connected"
    tested = "tested"
    ready = "ready"
    incident = "incident"
    not_participating = "not_participating"


READINESS_LABELS: dict[Readiness, str] = {
    Readiness.not_connected: "chưa kết nối",
    Readiness.tested: "đã kiểm tra",
    Readiness.ready: "sẵn sàng",
    Readiness.incident: "sự cố",
    Readiness.not_participating: "không tham gia",
}


#: Readiness values that count as ready for the roll-call.
READY = frozenset({Readiness.tested, Readiness.ready})
MISSING_REASON_LABELS: dict[str, str] = {
    "no_screen": "chưa có màn hình",
    "offline": "mất kết nối",
    "not_connected": "chưa kết nối",
    "incident": "sự cố",
}


class Approval(StrEnum):
    approved = "approved"
    pending = "pending"
    rejected = "rejected"


APPROVAL_LABELS: dict[Approval, str] = {
    Approval.approved: "đã duyệt",
    Approval.pending: "chờ duyệt",
    Approval.rejected: "từ chối",
}


def _link(value: str) -> str:
    value = clean_text(value, max_length=500, field="Đường dẫn kết nối")
    if ":" in value.split("/")[0] and not value.lower().startswith(("http://", "https://")):
        raise TextError("Đường dẫn kết nối phải bắt đầu bằng http:// hoặc https://")
    return value


Phone = Annotated[str, AfterValidator(check_phone)]
Link = Annotated[str, AfterValidator(_link)]
SiteCode = Annotated[str, PydField(pattern=r"^[A-Za-z0-9_.-]{1,50}$")]
Attendees = Annotated[int, PydField(ge=0, le=100_000)]


# ---------------------------------------------------------------- conference


class ConferenceBase(SQLModel):
    title: str = Field(max_length=300)
    starts_on: date
    ends_on: date


class Conference(ConferenceBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConferenceCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    title: Title
    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def _dates_in_order(self) -> "ConferenceCreate":
        if self.ends_on < self.starts_on:
            raise ValueError("Ngày kết thúc phải sau hoặc bằng ngày bắt đầu")
        return self


class ConferencePublic(ConferenceBase):
    id: int
    created_at: datetime


# ---------------------------------------------------------------------- site


class SiteBase(SQLModel):
    name: str = Field(max_length=200)
    kind: SiteKind = Field(sa_column=Column(String(20), nullable=False))
    parent_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    code: str | None = Field(default=None, max_length=50)
    room: str | None = Field(default=None, max_length=200)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_phone: str | None = Field(default=None, max_length=20)
    expected_attendees: int = 0
    connection_link: str | None = Field(default=None, max_length=500)


class Site(SiteBase, table=True):
    __table_args__ = (
        UniqueConstraint("conference_id", "code", name="uq_site_conference_code"),
        Index("ix_site_conference_path", "conference_id", "path"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id", index=True)
    name_key: str = Field(max_length=200, index=True)
    # Materialised path "/1/5/23/": subtree queries and cycle checks are one LIKE.
    path: str = Field(default="", max_length=1000)
    depth: int = 0
    readiness: Readiness = Field(
        default=Readiness.not_connected, sa_column=Column(String(20), nullable=False)
    )
    readiness_note: str | None = Field(default=None, max_length=500)
    approval: Approval = Field(
        default=Approval.approved, sa_column=Column(String(20), nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SiteCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    name: Name
    kind: SiteKind
    parent_id: int | None = None
    code: SiteCode | None = None
    room: ShortText | None = None
    contact_name: Name | None = None
    contact_phone: Phone | None = None
    expected_attendees: Attendees = 0
    connection_link: Link | None = None


class SiteUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    name: Name | None = None
    kind: SiteKind | None = None
    parent_id: int | None = None
    code: SiteCode | None = None
    room: ShortText | None = None
    contact_name: Name | None = None
    contact_phone: Phone | None = None
    expected_attendees: Attendees | None = None
    connection_link: Link | None = None
    readiness: Readiness | None = None
    readiness_note: ShortText | None = None


class SitePublic(SiteBase):
    id: int
    conference_id: int
    depth: int
    readiness: Readiness
    readiness_note: str | None
    approval: Approval
    created_at: datetime
    updated_at: datetime


# ------------------------------------------------------------------- invites


class Invite(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id", index=True)
    # Only a hash is stored: a leaked database does not leak usable invite links.
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    parent_site_id: int | None = Field(default=None, foreign_key="site.id")
    suggested_kind: str | None = Field(default=None, max_length=20)
    note: str | None = Field(default=None, max_length=500)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked: bool = False
    site_id: int | None = Field(default=None, foreign_key="site.id")
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InviteCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    parent_site_id: int | None = None
    suggested_kind: SiteKind | None = None
    note: ShortText | None = None
    days_valid: int | None = PydField(default=None, ge=1, le=90)


class InvitePublic(SQLModel):
    id: int
    conference_id: int
    parent_site_id: int | None
    suggested_kind: str | None
    note: str | None
    expires_at: datetime
    used_at: datetime | None
    revoked: bool
    site_id: int | None


class InviteCreated(InvitePublic):
    token: str
    url: str


class Registration(SQLModel):
    """What a coordinator submits through an invite: their site and their account."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    site_name: Name
    kind: SiteKind
    room: ShortText | None = None
    expected_attendees: Attendees = 0
    connection_link: Link | None = None
    full_name: Name
    phone: Phone
    username: Username
    password: Password


class RegistrationPublic(SQLModel):
    site: SitePublic
    user: UserPublic


# ------------------------------------------------------------------- screens


class ScreenDevice(SQLModel, table=True):
    """A browser on a site's projector, enrolled by token or by a short pairing code."""

    __tablename__ = "screen_device"

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    conference_id: int = Field(foreign_key="conference.id", index=True)
    name: str = Field(max_length=200)
    # Hashes only: a copied database does not let anyone pose as a screen.
    token_hash: str | None = Field(default=None, max_length=64, sa_column_kwargs={"unique": True})
    pairing_code_hash: str | None = Field(
        default=None, max_length=64, sa_column_kwargs={"unique": True}
    )
    pairing_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    enrolled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked: bool = False
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ScreenCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    name: Name | None = None


class ScreenPublic(SQLModel):
    id: int
    site_id: int
    conference_id: int
    name: str
    enrolled_at: datetime | None
    last_seen_at: datetime | None
    revoked: bool


class ScreenToken(SQLModel):
    """Shown once: the secret a screen presents on /ws/screen."""

    token: str
    screen_id: int
    site_id: int
    url: str


class PairingCode(SQLModel):
    code: str
    screen_id: int
    expires_at: datetime


class PairRequest(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    code: Annotated[str, PydField(min_length=4, max_length=20)]


class ScreensOnline(SQLModel):
    online: int
    sites_online: int


# ------------------------------------------------------ presence and roll-call


class SitePresence(SQLModel, table=True):
    """Current online state of a site (one row per site that was ever seen)."""

    __tablename__ = "site_presence"

    site_id: int = Field(foreign_key="site.id", primary_key=True)
    conference_id: int = Field(foreign_key="conference.id", index=True)
    online: bool = False
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SitePresenceEvent(SQLModel, table=True):
    """A site went online or offline, and when."""

    __tablename__ = "site_presence_event"
    __table_args__ = (Index("ix_site_presence_event_site_at", "site_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id", index=True)
    site_id: int = Field(foreign_key="site.id")
    online: bool
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PresenceEventPublic(SQLModel):
    site_id: int
    online: bool
    at: datetime


class ConnectionTest(SQLModel, table=True):
    """A coordinator's connection-test checklist (picture, sound, link); history is kept."""

    __tablename__ = "connection_test"
    __table_args__ = (Index("ix_connection_test_site_at", "site_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id", index=True)
    site_id: int = Field(foreign_key="site.id")
    picture: bool
    sound: bool
    link: bool
    note: str | None = Field(default=None, max_length=500)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConnectionTestCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    picture: bool
    sound: bool
    link: bool
    note: ShortText | None = None


class ConnectionTestPublic(SQLModel):
    id: int
    site_id: int
    picture: bool
    sound: bool
    link: bool
    note: str | None
    at: datetime
    readiness: Readiness


class Incident(SQLModel, table=True):
    """A problem reported at a site (sự cố); open until resolved."""

    __table_args__ = (Index("ix_incident_conference_opened", "conference_id", "opened_at"),)

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id")
    site_id: int = Field(foreign_key="site.id", index=True)
    reason: str = Field(max_length=500)
    # What the site's readiness was before: restored when its last open incident is resolved.
    previous_readiness: str | None = Field(default=None, max_length=20)
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    opened_by: int | None = Field(default=None, foreign_key="user_account.id")
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by: int | None = Field(default=None, foreign_key="user_account.id")


class IncidentCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    reason: ShortText


class IncidentPublic(SQLModel):
    id: int
    conference_id: int
    site_id: int
    site_name: str
    reason: str
    opened_at: datetime
    resolved_at: datetime | None


class MissingSite(SQLModel):
    """A site not ready at T-15, with why."""

    site_id: int
    name: str
    kind: str
    parent_id: int | None
    path: str
    readiness: Readiness
    online: bool
    screens: int
    reasons: list[str]


class MissingList(SQLModel):
    conference_id: int
    session_id: int | None
    at: datetime
    sites: list[MissingSite]


@dataclass(frozen=True)
class ScreenContext:
    """What a connected screen is allowed to follow."""

    screen_id: int
    site_id: int
    conference_id: int
    site_name: str
