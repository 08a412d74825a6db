"""Tables and API schemas of offline sync: what a site queued while cut off, sent later.

A queued scan is stored like any other check-in (its attendance row's unique keys make
it exactly once), with the time it happened and the time it arrived (`synced_at`).
Headcounts, readiness and incidents have no unique key of their own: a receipt per
(site, nonce), written in the same transaction, makes each of them exactly once.
"""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict
from pydantic import Field as PydField
from sqlalchemy import Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.audit.policy import audited
from app.db import UTCDateTime, utcnow
from checkin.models import CheckedAttendee, Count, HeadcountCategory

#: Items in one sync request: a queue longer than this goes in several requests.
MAX_SYNC_ITEMS = 500

Nonce = Annotated[str, PydField(min_length=1, max_length=64)]


class OfflineSync(SQLModel, table=True):
    """One sync request that carried work: what a site sent back when its link returned."""

    __tablename__ = "offline_sync"
    __table_args__ = (Index("ix_offline_sync_conference_site", "conference_id", "site_id"),)

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id")
    site_id: int = Field(foreign_key="site.id")
    synced_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    checkins: int = 0  # new check-ins (accepted scans, replays not counted again)
    headcounts: int = 0  # headcounts, readiness and incidents applied
    refused: int = 0
    oldest_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    device: str | None = Field(default=None, max_length=100)


class OfflineReceipt(SQLModel, table=True):
    """A queued headcount, readiness or incident that was applied: a replay is not."""

    __tablename__ = "offline_receipt"
    __table_args__ = (UniqueConstraint("site_id", "nonce", name="uq_offline_receipt_site_nonce"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id")
    nonce: str = Field(max_length=64)
    kind: str = Field(sa_column=Column(String(10), nullable=False))
    at: datetime = Field(sa_type=UTCDateTime)
    applied_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class _Item(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    nonce: Nonce
    # When it happened at the site, with its offset (a time without one is refused).
    at: AwareDatetime


class ScanItem(_Item):
    kind: Literal["scan"]
    code: Annotated[str, PydField(max_length=20_000)]
    session_id: int | None = None
    method: Literal["scan", "search"] = "scan"


class HeadcountItem(_Item):
    kind: Literal["headcount"]
    session_id: int | None = None
    counts: dict[HeadcountCategory, Count]


class ReadyItem(_Item):
    kind: Literal["ready"]


class IncidentItem(_Item):
    kind: Literal["incident"]
    reason: Annotated[str, PydField(min_length=1, max_length=500)]


SyncItem = Annotated[ScanItem | HeadcountItem | ReadyItem | IncidentItem,
                     PydField(discriminator="kind")]


class SyncRequest(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    device: Annotated[str, PydField(max_length=100)] | None = None
    items: Annotated[list[SyncItem], PydField(min_length=1, max_length=MAX_SYNC_ITEMS)]


Outcome = Literal["accepted", "already", "refused"]
Status = Literal["checked_in", "already_checked_in", "applied"]


class SyncResultPublic(SQLModel):
    nonce: str
    kind: str
    outcome: Outcome
    status: Status | None = None
    code: str | None = None
    detail: str | None = None
    # The time recorded: the scan's own, or the earlier check-in's for "already".
    at: datetime | None = None
    attendee: CheckedAttendee | None = None


class SyncPublic(SQLModel):
    results: list[SyncResultPublic]
    accepted: int
    already: int
    refused: int
    synced_at: datetime


# What the audit log keeps (app/audit/policy.py): each sync request's figures are logged;
# a receipt only makes a headcount or incident once (that write is logged itself).
audited("offline_sync")
audited("offline_receipt", skip=True, conference_attr=None)
