"""Schemas of the retention purge: what a purge would change, what it changed."""

from datetime import date, datetime

from pydantic import ConfigDict
from sqlmodel import SQLModel


class RetentionPlan(SQLModel):
    """A conference's retention state and what a purge would change now (counts only)."""

    conference_id: int
    title: str
    ends_on: date
    retention_days: int
    # The last day identities are kept; the daily job purges from the day after.
    kept_until: date
    ended: bool
    due: bool
    purged_at: datetime | None
    # Attendees whose identity would be replaced by an anonymous id (not yet erased).
    attendees: int
    # Of them, those with a phone number.
    phones: int
    # Refused scans whose details (scanned text, device, staff account) would be cleared.
    failed_scans: int
    # Check-ins whose device label would be cleared.
    devices: int
    # Requests of attendees whose text (message, outcome) would be cleared.
    requests: int
    # Floor requests whose speaker, position, topic or decline reason would be blanked.
    floor_requests: int = 0
    # Written questions whose text would be replaced.
    questions: int = 0


class PurgeRequest(SQLModel):
    """`early`: purge an ended conference before its retention period is over."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    early: bool = False


class PurgeReport(SQLModel):
    """What one purge changed (the one audit entry of the purge has the same counts)."""

    conference_id: int
    purged_at: datetime
    early: bool
    attendees: int
    phones: int
    failed_scans: int
    devices: int
    requests: int
    floor_requests: int = 0
    questions: int = 0
