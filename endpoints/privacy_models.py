"""API schemas of a conference's privacy notice and retention period (no tables: the
columns live on `conference`, the acceptances in `notice_acceptance`)."""

from datetime import date, datetime

from pydantic import ConfigDict
from pydantic import Field as PydField
from sqlmodel import SQLModel


class NoticePublic(SQLModel):
    """The notice as anyone may read it (GET /api/v1/privacy/{conference_id})."""

    conference_id: int
    title: str
    starts_on: date
    ends_on: date
    version: int
    updated_at: datetime
    controller: str
    retention_days: int
    # The last day identities are kept (the conference's last day + retention_days).
    keep_until: date
    # Plain text; paragraphs are separated by a blank line. Never HTML.
    text: str
    is_default: bool


class PrivacyUpdate(SQLModel):
    """A change of the notice and/or the retention period (central office).

    `text` absent: unchanged; empty or null: back to the default text. The length and
    the range of `retention_days` (1–3650) are checked by the use case, which answers
    `notice_too_long` / `retention_out_of_range`."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    # A generous cap only to bound the body; the use case refuses more than 20,000.
    text: str | None = PydField(default=None, max_length=100_000)
    retention_days: int | None = None
