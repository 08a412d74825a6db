"""Tables of the data subject's rights: requests an attendee makes about their own data."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, String
from sqlmodel import Field, SQLModel

from app.audit.policy import audited
from app.db import UTCDateTime, utcnow


class RequestKind(StrEnum):
    correct = "correct"  # yêu cầu chỉnh sửa
    erase = "erase"  # yêu cầu xoá


class RequestStatus(StrEnum):
    open = "open"  # chờ xử lý
    done = "done"  # đã xử lý
    refused = "refused"  # từ chối (with a reason)


class DataRequest(SQLModel, table=True):
    """An attendee asked, from their pass page, for a correction or an erasure; the
    central office's queue lists the open ones."""

    __tablename__ = "data_request"
    __table_args__ = (Index("ix_data_request_status", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id", index=True)
    attendee_id: int = Field(foreign_key="attendee.id", index=True)
    kind: RequestKind = Field(sa_column=Column(String(10), nullable=False))
    # The attendee's own words (what to correct); cleared when they are erased.
    message: str | None = Field(default=None, max_length=1000)
    status: RequestStatus = Field(
        default=RequestStatus.open, sa_column=Column(String(10), nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    handled_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=500)


# What the audit log keeps of this table (app/audit/policy.py): the message is the
# attendee's, sealed with the request's key.
audited("data_request", personal=("message",), site_attr=None)
