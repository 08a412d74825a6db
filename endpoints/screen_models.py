"""Tables and schemas of site screens (projectors) and of site presence."""

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict
from pydantic import Field as PydField
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.audit.policy import audited
from app.db import UTCDateTime, utcnow
from app.text import Name

# ------------------------------------------------------------------- screens


class ScreenDevice(SQLModel, table=True):
    """A browser on a site's projector, enrolled by token or by a short pairing code."""

    __tablename__ = "screen_device"

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
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
    # Screens belong to their site, not to a conference; kept for older clients.
    conference_id: int | None = None
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
    online: bool = False
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SitePresenceEvent(SQLModel, table=True):
    """A site went online or offline, and when."""

    __tablename__ = "site_presence_event"
    __table_args__ = (Index("ix_site_presence_event_site_at", "site_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    # The conference live at the site at the time (None between conferences): presence
    # belongs to the site, and a conference reads it through its participations.
    conference_id: int | None = Field(default=None, foreign_key="conference.id", index=True)
    site_id: int = Field(foreign_key="site.id")
    online: bool
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PresenceEventPublic(SQLModel):
    site_id: int
    online: bool
    at: datetime


# What the audit log keeps of these tables (app/audit/policy.py). Heartbeats (last seen,
# presence) are machine bookkeeping written every few seconds: not logged.
audited("screen_device", secret=("token_hash", "pairing_code_hash"), ignore=("last_seen_at",),
        conference_attr=None)
audited("site_presence", skip=True)
audited("site_presence_event", skip=True)
