"""Accounts: the central office and site coordinators, and their login schemas.

They live in the ground (not in a domain) so the request dependencies that find the
current user can use them without importing a domain.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field as PydField
from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from app.audit.policy import audited
from app.db import UTCDateTime, utcnow


class Role(StrEnum):
    admin = "admin"
    coordinator = "coordinator"


class AccountStatus(StrEnum):
    active = "active"
    pending = "pending"
    rejected = "rejected"
    disabled = "disabled"


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, sa_column_kwargs={"unique": True})
    password_hash: str = Field(max_length=200)
    full_name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    role: Role = Field(sa_column=Column(String(20), nullable=False))
    site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    status: AccountStatus = Field(
        default=AccountStatus.active, sa_column=Column(String(20), nullable=False)
    )
    # Bumped on logout or password change: every token issued before dies.
    token_version: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PasswordReset(SQLModel, table=True):
    """A one-time reset link issued by the central office; only its hash is stored."""

    __tablename__ = "password_reset"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    expires_at: datetime = Field(sa_type=UTCDateTime)
    # Set when redeemed, or when a newer link for the same account replaced it.
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UserPublic(SQLModel):
    id: int
    username: str
    full_name: str
    role: Role
    site_id: int | None
    status: AccountStatus


Username = Annotated[str, PydField(pattern=r"^[A-Za-z0-9_.@-]{3,100}$")]
Password = Annotated[str, PydField(min_length=8, max_length=200)]


# What the audit log keeps of these tables (app/audit/policy.py).
audited("user_account", personal=("full_name", "phone"), secret=("password_hash",),
        conference_attr=None)
audited("password_reset", secret=("token_hash",), conference_attr=None, site_attr=None)
