"""Tables and API schemas of check-in: attendees, pass keys, attendance, failed scans, headcounts.

Exactly-once is in the schema: one attendance row per (attendee, session) and one per
(conference, client nonce); writers insert with ON CONFLICT DO NOTHING and never check
first. `session_key` is the session id, or 0 for the conference-level check-in, so the
unique constraint also covers "no session" (NULLs would be distinct). A session check-in
also writes the attendee's conference-level row if they have none (a person present in
any session is present at the conference), so the conference level counts every
attendee once, whichever way they came in.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict
from pydantic import Field as PydField
from sqlalchemy import JSON, Column, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.audit.policy import audited
from app.db import UTCDateTime, utcnow
from app.text import Name, ShortText
from endpoints.models import Phone

SHORT_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
SHORT_CODE_LENGTH = 8
CONFERENCE_LEVEL = 0  # session_key of the check-in at the conference (the door, or any session)
# Only this many characters of a name go into its sort key (ties beyond are rare).
SORT_KEY_CHARS = 60

Method = Literal["scan", "search", "self", "walk_in", "sync"]
METHODS: tuple[str, ...] = ("scan", "search", "self", "walk_in", "sync")

HEADCOUNT_CATEGORIES: dict[str, str] = {
    "dai_bieu": "Đại biểu",
    "khach_moi": "Khách mời",
    "phong_vien": "Phóng viên",
    "khac": "Khác",
}
HeadcountCategory = Literal["dai_bieu", "khach_moi", "phong_vien", "khac"]
Count = Annotated[int, PydField(ge=0, le=100_000)]


# ----------------------------------------------------------------- attendees


class Attendee(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("conference_id", "short_code", name="uq_attendee_conference_short_code"),
        # Name search walks this index in Vietnamese order when a word is common.
        Index("ix_attendee_conference_sort", "conference_id", "sort_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id")
    site_id: int = Field(foreign_key="site.id", index=True)
    full_name: str = Field(max_length=200)
    name_key: str = Field(max_length=200)
    # Hex digits of app.text.vi_sort_key: sorts the same under any collation.
    sort_key: str = Field(max_length=400)
    unit: str | None = Field(default=None, max_length=200)
    position: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    short_code: str = Field(max_length=SHORT_CODE_LENGTH)
    # Bumped when a pass is reissued: passes with an older version are refused.
    pass_version: int = 1
    revoked: bool = False
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Why the service holds this person (checkin.basis: BASES), who supplied it and when.
    basis: str | None = Field(default=None, max_length=20)
    supplied_by_id: int | None = Field(default=None)
    supplied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set when the identity was replaced by an anonymous id (erasure or retention purge):
    # the row stays, so attendance still counts in every total.
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AttendeeWord(SQLModel, table=True):
    """Each word of an attendee's search key, with the attendee's sort key: the attendees
    having one word are an index range already in Vietnamese order ("nguyen" → the first
    20 Nguyễn without sorting 60,000 of them)."""

    __tablename__ = "attendee_word"

    conference_id: int = Field(primary_key=True)
    word: str = Field(max_length=40, primary_key=True)
    sort_key: str = Field(max_length=400, primary_key=True)
    attendee_id: int = Field(foreign_key="attendee.id", primary_key=True)


class AttendeeCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    full_name: Name
    site_id: int
    unit: ShortText | None = None
    position: ShortText | None = None
    phone: Phone | None = None


class AttendeePublic(SQLModel):
    id: int
    conference_id: int
    code: str
    short_code: str
    full_name: str
    site_id: int
    unit: str | None
    position: str | None
    # Whole for the central office; masked ("09xx xxx 678") for a site coordinator.
    phone: str | None = None
    pass_version: int
    revoked: bool
    # Why the service holds them (checkin.basis: unit, consent, duty), who supplied them
    # (a user id) and when; None for attendees added before these were recorded.
    basis: str | None = None
    supplied_by_id: int | None = None
    supplied_at: datetime | None = None


# ---------------------------------------------------------------- pass keys


class PassKey(SQLModel, table=True):
    __tablename__ = "pass_key"

    kid: str = Field(primary_key=True, max_length=8)
    public_key: str = Field(max_length=64)  # raw 32 bytes, base64
    # Fernet token of the raw private key; the Fernet key is derived from the secret key.
    private_key: str = Field(max_length=400)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Revoked (e.g. leaked): passes it signed are refused (`pass_key_revoked`).
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PassKeyPublic(SQLModel):
    kid: str
    public_key: str
    algorithm: str = "Ed25519"
    created_at: datetime
    retired_at: datetime | None
    revoked_at: datetime | None = None


# --------------------------------------------------------------- attendance


class Attendance(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("attendee_id", "session_key", name="uq_attendance_attendee_session"),
        UniqueConstraint("conference_id", "nonce", name="uq_attendance_conference_nonce"),
        Index("ix_attendance_counts", "conference_id", "session_key", "site_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id")
    attendee_id: int = Field(foreign_key="attendee.id")
    session_key: int = CONFERENCE_LEVEL
    site_id: int = Field(foreign_key="site.id")
    checked_in_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    checked_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    method: str = Field(default="scan", sa_column=Column(String(10), nullable=False))
    device: str | None = Field(default=None, max_length=100)
    nonce: str | None = Field(default=None, max_length=64)
    foreign_site: bool = False
    actor_id: int | None = Field(default=None)
    # When a scan queued offline reached the server (checked_in_at is when it happened).
    synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ScanFailure(SQLModel, table=True):
    """A refused scan: who, where, why, and for one of our own passes its first 40
    characters (any other scanned text is never stored)."""

    __tablename__ = "scan_failure"
    __table_args__ = (Index("ix_scan_failure_conference_at", "conference_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int | None = None
    # No foreign keys: a scan that names a site or session that does not exist is kept too.
    site_id: int | None = None
    session_key: int = CONFERENCE_LEVEL
    code_prefix: str = Field(default="", max_length=40)
    reason: str = Field(max_length=40)
    method: str = Field(default="scan", sa_column=Column(String(10), nullable=False))
    device: str | None = Field(default=None, max_length=100)
    actor_id: int | None = None
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ScanFailureCount(SQLModel, table=True):
    """Anonymous refused scans (self check-in), counted in memory and written in batches:
    one row per conference, site, session, reason and minute of one flush."""

    __tablename__ = "scan_failure_count"
    __table_args__ = (Index("ix_scan_failure_count_conference", "conference_id", "session_key"),)

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int | None = None
    site_id: int | None = None
    session_key: int = CONFERENCE_LEVEL
    reason: str = Field(max_length=40)
    minute: datetime = Field(sa_type=UTCDateTime)
    count: int = 1


class CheckinRequest(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    # Long input is refused by the pass parser with `pass_malformed`, not here.
    code: Annotated[str, PydField(max_length=20_000)]
    site_id: int
    session_id: int | None = None
    nonce: Annotated[str, PydField(min_length=1, max_length=64)] | None = None
    device: Annotated[str, PydField(max_length=100)] | None = None
    method: Literal["scan", "search", "walk_in", "sync"] = "scan"


class SelfCheckinRequest(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    site_token: Annotated[str, PydField(max_length=200)]
    code: Annotated[str, PydField(max_length=20_000)]
    session_id: int | None = None
    nonce: Annotated[str, PydField(min_length=1, max_length=64)] | None = None


class CheckoutRequest(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    attendee_id: int
    session_id: int | None = None


class CheckedAttendee(SQLModel):
    id: int
    full_name: str
    unit: str | None
    site_id: int
    site_name: str


class CheckinPublic(SQLModel):
    status: Literal["checked_in", "already_checked_in"]
    attendee: CheckedAttendee
    checked_in_at: datetime
    site_id: int
    site_name: str
    session_id: int | None
    foreign_site: bool
    first: bool
    replayed: bool = False


class SelfCheckinPublic(SQLModel):
    """A self check-in's answer: the attendee's name and this site, nothing more about
    them. Whoever holds (or guessed) a code must not learn the unit, the home site, or
    where and when its owner checked in before. `follow_url` is the conference's
    follow-along link (the site screen shows it to the room anyway); None once expired."""

    status: Literal["checked_in", "already_checked_in"]
    full_name: str
    site_id: int
    site_name: str
    follow_url: str | None = None


# ---------------------------------------------------------------- headcounts


class Headcount(SQLModel, table=True):
    __table_args__ = (
        # At most one current report per site, conference and session, whatever the race.
        Index(
            "uq_headcount_current",
            "conference_id",
            "site_id",
            "session_key",
            unique=True,
            sqlite_where=text("superseded = 0"),
            postgresql_where=text("superseded = false"),
        ),
        Index("ix_headcount_conference", "conference_id", "session_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id")
    site_id: int = Field(foreign_key="site.id")
    session_key: int = CONFERENCE_LEVEL
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    total: int = 0
    reported_by: int | None = Field(default=None, foreign_key="user_account.id")
    reported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    superseded: bool = False


class HeadcountCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    # The conference the report is for (default: the session's, else the site's current).
    conference_id: int | None = None
    session_id: int | None = None
    counts: dict[HeadcountCategory, Count]


class HeadcountPublic(SQLModel):
    id: int
    conference_id: int
    site_id: int
    session_id: int | None
    counts: dict[str, int]
    total: int
    reported_by: int | None
    reported_at: datetime
    superseded: bool


# ---------------------------------------------------------------- attendance


class SiteAttendancePublic(SQLModel):
    site_id: int
    name: str
    kind: str
    parent_id: int | None
    readiness: str
    expected: int
    registered: int
    checked_in: int
    foreign: int
    headcount: int | None
    present: int
    online_screens: int


class AttendancePublic(SQLModel):
    conference_id: int
    session_id: int | None
    expected: int
    registered: int
    checked_in: int
    headcount: int
    present: int
    online_screens: int
    sites_online: int
    failed_scans: int
    sites: list[SiteAttendancePublic]


# What the audit log keeps of these tables (app/audit/policy.py). Check-ins and refused
# scans are summarised per batch (app/audit/spool.py), not logged row by row.
audited("attendee", personal=("full_name", "unit", "position", "phone", "short_code"),
        ignore=("name_key", "sort_key"))
audited("attendee_word", skip=True)
audited("attendance", skip=True)
audited("scan_failure", skip=True)
audited("scan_failure_count", skip=True)
audited("headcount")
audited("pass_key", secret=("private_key",), conference_attr=None, site_attr=None)
