"""Tables and schemas of invites and the registrations made through them."""

from datetime import datetime

from pydantic import ConfigDict
from pydantic import Field as PydField
from sqlmodel import Field, SQLModel

from app.accounts.models import Password, Username, UserPublic
from app.audit.policy import audited
from app.db import UTCDateTime, utcnow
from app.text import Name, ShortText
from endpoints.models import Attendees, Link, Phone, SiteKind, SitePublic

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
    # The coordinator read and accepted the conference's privacy notice, in this version
    # (GET /api/v1/privacy/{conference_id}); refused without: notice_not_accepted, and
    # notice_changed when a newer version was published since.
    accept_notice: bool = False
    notice_version: int | None = PydField(default=None, ge=1)


class NoticeAcceptance(SQLModel, table=True):
    """A coordinator registering by invite accepted the conference's privacy notice:
    which version, and when."""

    __tablename__ = "notice_acceptance"

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    invite_id: int | None = Field(default=None, foreign_key="invite.id")
    notice_version: int
    accepted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RegistrationPublic(SQLModel):
    site: SitePublic
    user: UserPublic


# What the audit log keeps of these tables (app/audit/policy.py).
audited("invite", secret=("token_hash",))
audited("notice_acceptance")
