"""Tables of the audit log: the chained entries and the per-person keys of their personal values.

Personal values in an entry (a name, a phone) are encrypted with a key of their own
person (`audit_key`, one row per subject such as ``attendee:42``). Erasing a person or
purging a conference deletes the key: the entries stay, the chain still verifies, and
the values can no longer be read ("crypto-shredding"), so the log never has to change.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow

GENESIS = "0" * 64  # the previous hash of the first entry


class AuditEntry(SQLModel, table=True):
    """One thing done: never updated or deleted (triggers refuse it, migration 0013)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_conference_at", "conference_id", "at"),
        Index("ix_audit_log_actor_at", "actor_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_id: int | None = None
    actor_name: str | None = Field(default=None, max_length=100)
    role: str = Field(max_length=20)
    address: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=40)
    object_type: str = Field(max_length=40)
    object_id: str | None = Field(default=None, max_length=64)
    conference_id: int | None = None
    site_id: int | None = None
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})


class AuditKey(SQLModel, table=True):
    """The key a person's values are encrypted with in the log; deleted to forget them."""

    __tablename__ = "audit_key"

    subject: str = Field(primary_key=True, max_length=64)
    key: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
