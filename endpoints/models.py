"""Tables and API schemas of the connection-point registry.

The conference record lives here, not in `sessions/`, because every site hangs
off it and `endpoints` is the domain the others depend on; `sessions` owns the
programme (days, sessions, agenda, slides) of a conference.
"""

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, model_validator
from pydantic import Field as PydField
from sqlalchemy import Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.audit.policy import audited
from app.db import UTCDateTime, utcnow
from app.text import Name, ShortText, TextError, Title, check_phone, clean_text

# Room for the list-order path of a site eight levels deep (endpoints.tree_order).
SORT_PATH_CHARS = 1600


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

# Siblings are listed by kind in this order, then by Vietnamese name (endpoints.tree_order).
SITE_KIND_ORDER: tuple[SiteKind, ...] = (
    SiteKind.central, SiteKind.hub, SiteKind.ward, SiteKind.commune, SiteKind.special_zone,
    SiteKind.department, SiteKind.organization, SiteKind.other,
)


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
    # The privacy notice (None: the default text); its version grows with each change of
    # its text (at notice_updated_at; None: since created_at), and a coordinator's
    # acceptance names the version they read.
    privacy_notice: str | None = Field(default=None, sa_type=Text)
    notice_version: int = 1
    notice_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Identities are replaced by anonymous ids this many days after the last day.
    retention_days: int = 90
    purged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


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


class SiteStatus(StrEnum):
    active = "active"
    merged = "merged"
    retired = "retired"


SITE_STATUS_LABELS: dict[SiteStatus, str] = {
    SiteStatus.active: "đang hoạt động",
    SiteStatus.merged: "đã sáp nhập",
    SiteStatus.retired: "đã giải thể",
}


class SiteBase(SQLModel):
    name: str = Field(max_length=200)
    # Indexed: the central site and the hubs (parent pickers, `?kind=`) are a few dozen
    # of 31,000 rows, and walking the long list-order index to find them reads them all.
    kind: SiteKind = Field(sa_column=Column(String(20), nullable=False, index=True))
    parent_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    code: str | None = Field(default=None, max_length=50)
    room: str | None = Field(default=None, max_length=200)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_phone: str | None = Field(default=None, max_length=20)
    connection_link: str | None = Field(default=None, max_length=500)


class Site(SiteBase, table=True):
    """A connection point of the registry: it outlives conferences (see Participation)."""

    __table_args__ = (
        UniqueConstraint("code", name="uq_site_code"),
        Index("ix_site_path", "path"),
        Index("ix_site_sort_path", "sort_path"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name_key: str = Field(max_length=200, index=True)
    # Materialised path "/1/5/23/": subtree queries and cycle checks are one LIKE.
    path: str = Field(default="", max_length=1000)
    # The same path spelt in list order (kind, then Vietnamese name, at every level), in
    # hex digits so every collation sorts it alike: lists read it from an index.
    sort_path: str = Field(default="", max_length=SORT_PATH_CHARS)
    depth: int = 0
    status: SiteStatus = Field(
        default=SiteStatus.active, sa_column=Column(String(20), nullable=False)
    )
    merged_into_id: int | None = Field(default=None, foreign_key="site.id")
    # A site registered through an invite waits for the central office to approve it.
    approval: Approval = Field(
        default=Approval.approved, sa_column=Column(String(20), nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Participation(SQLModel, table=True):
    """A registry site invited to one conference, with what is per conference."""

    __table_args__ = (
        UniqueConstraint("conference_id", "site_id", name="uq_participation_conference_site"),
        Index("ix_participation_site", "site_id"),
        # Covering: a page of a conference's sites in list order is read from it alone.
        Index("ix_participation_conference_sort", "conference_id", "sort_path", "site_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id")
    site_id: int = Field(foreign_key="site.id")
    expected_attendees: int = 0
    readiness: Readiness = Field(
        default=Readiness.not_connected, sa_column=Column(String(20), nullable=False)
    )
    readiness_note: str | None = Field(default=None, max_length=500)
    approval: Approval = Field(
        default=Approval.approved, sa_column=Column(String(20), nullable=False)
    )
    # The site's name and code as this conference knew them: a rename after the
    # conference ended leaves its reports as they were.
    name: str = Field(max_length=200)
    code: str | None = Field(default=None, max_length=50)
    # The site's tree paths, copied: a conference's sites are read in list order through
    # (conference_id, sort_path) alone (endpoints.tree_order rewrites both copies).
    path: str = Field(default="", max_length=1000)
    sort_path: str = Field(default="", max_length=SORT_PATH_CHARS)
    invited_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SiteChange(StrEnum):
    created = "created"
    renamed = "renamed"
    recoded = "recoded"
    moved = "moved"
    merged = "merged"
    retired = "retired"
    restored = "restored"


SITE_CHANGE_LABELS: dict[SiteChange, str] = {
    SiteChange.created: "tạo mới",
    SiteChange.renamed: "đổi tên",
    SiteChange.recoded: "đổi mã",
    SiteChange.moved: "chuyển đơn vị cấp trên",
    SiteChange.merged: "sáp nhập",
    SiteChange.retired: "giải thể",
    SiteChange.restored: "khôi phục",
}


class SiteHistory(SQLModel, table=True):
    """One change of a registry site: what it was before and after, and by which decree."""

    __tablename__ = "site_history"
    __table_args__ = (Index("ix_site_history_site_at", "site_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id")
    change: SiteChange = Field(sa_column=Column(String(20), nullable=False))
    old_name: str | None = Field(default=None, max_length=200)
    new_name: str | None = Field(default=None, max_length=200)
    old_code: str | None = Field(default=None, max_length=50)
    new_code: str | None = Field(default=None, max_length=50)
    old_parent_id: int | None = None
    new_parent_id: int | None = None
    merged_into_id: int | None = None
    note: str | None = Field(default=None, max_length=500)
    effective_on: date | None = None
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


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


#: Fields of SiteUpdate that belong to the site's participation in a conference.
PARTICIPATION_FIELDS = frozenset({"expected_attendees", "readiness", "readiness_note"})


class SitePublic(SiteBase):
    """A site as one conference sees it (registry fields plus its participation)."""

    id: int
    conference_id: int | None
    depth: int
    expected_attendees: int
    readiness: Readiness | None
    readiness_note: str | None
    approval: Approval
    status: SiteStatus = SiteStatus.active
    created_at: datetime
    updated_at: datetime


class RegistrySitePublic(SiteBase):
    """A site of the registry, whatever conference it takes part in."""

    id: int
    path: str
    depth: int
    status: SiteStatus
    merged_into_id: int | None
    approval: Approval
    created_at: datetime
    updated_at: datetime


class SiteHistoryPublic(SQLModel):
    id: int
    site_id: int
    change: SiteChange
    old_name: str | None
    new_name: str | None
    old_code: str | None
    new_code: str | None
    old_parent_id: int | None
    new_parent_id: int | None
    merged_into_id: int | None
    note: str | None
    effective_on: date | None
    at: datetime


@dataclass
class SiteView:
    """A registry site seen through its participation in one conference: the shape every
    conference-scoped read and SitePublic use (the name is the one the conference knew)."""

    site: Site
    part: Participation | None

    def __getattr__(self, key: str) -> Any:
        if key in _FROM_PART:
            if self.part is not None:
                return getattr(self.part, key)
            if key in _WITHOUT_PART:
                return _WITHOUT_PART[key]
        return getattr(self.site, key)


_FROM_PART = frozenset(
    {"conference_id", "expected_attendees", "readiness", "readiness_note", "approval",
     "name", "code"}
)
_WITHOUT_PART: dict[str, Any] = {
    "conference_id": None, "expected_attendees": 0, "readiness": None, "readiness_note": None,
}


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
    # The conference live at the site when the screen connected; None between conferences.
    conference_id: int | None
    site_name: str


# What the audit log keeps of these tables (app/audit/policy.py).
audited("conference")
audited("site", personal=("contact_name", "contact_phone"), ignore=("name_key", "sort_path"))
audited("participation", ignore=("sort_path",))
audited("site_history", site_attr="site_id", conference_attr=None)
audited("connection_test")
audited("incident")
