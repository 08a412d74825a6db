"""Schemas of the retention purge: what a purge would change, what it changed."""

from datetime import date, datetime

from pydantic import ConfigDict
from sqlmodel import SQLModel


class PurgeCounts(SQLModel):
    """What a purge changes (would change, in a plan), counted."""

    # Attendees whose identity is replaced by an anonymous id (not yet erased).
    attendees: int
    # Of them, those with a phone number.
    phones: int
    # Refused scans whose details (scanned text, device, staff account) are cleared.
    failed_scans: int
    # Check-ins whose device label is cleared.
    devices: int
    # Requests of attendees whose text (message, outcome) is cleared.
    requests: int
    # Floor requests whose speaker, position, topic or decline reason are blanked.
    floor_requests: int = 0
    # Written questions whose text is replaced.
    questions: int = 0
    # Short texts of answers to training forms, blanked.
    answer_texts: int = 0


class RetentionPlan(PurgeCounts):
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


class PurgeRequest(SQLModel):
    """`early`: purge an ended conference before its retention period is over."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    early: bool = False


class PurgeReport(PurgeCounts):
    """What one purge changed (the one audit entry of the purge has the same counts)."""

    conference_id: int
    purged_at: datetime
    early: bool
