"""Schemas of the data subject's rights: what is held about one person, corrections,
requests and how the central office closes them."""

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, model_validator
from pydantic import Field as PydField
from sqlmodel import SQLModel

from app.text import Name, ShortText
from endpoints.models import Phone

KIND_LABELS = {"correct": "Yêu cầu chỉnh sửa", "erase": "Yêu cầu xoá dữ liệu"}
STATUS_LABELS = {"open": "Chờ xử lý", "done": "Đã xử lý", "refused": "Từ chối"}
METHOD_LABELS = {"scan": "Quét mã QR", "search": "Tìm theo tên", "self": "Tự điểm danh",
                 "walk_in": "Đăng ký tại chỗ", "sync": "Đồng bộ từ máy quét"}


class Identity(SQLModel):
    """Who the person is, as held: identity fields, their site, and why and from whom."""

    id: int
    conference_id: int
    conference_title: str
    full_name: str
    unit: str | None
    position: str | None
    # Whole for the person and the central office; masked for a site coordinator.
    phone: str | None
    short_code: str
    site_id: int
    site_name: str
    basis: str | None
    basis_label: str | None
    supplied_by: str | None
    supplied_at: datetime | None
    created_at: datetime
    revoked: bool
    deleted_at: datetime | None
    erased_at: datetime | None


class AttendanceEntry(SQLModel):
    """One check-in: the session (None: the conference itself), where and when, how."""

    session_id: int | None
    session_title: str
    site_id: int
    site_name: str
    checked_in_at: datetime
    checked_out_at: datetime | None
    method: str
    method_label: str


class Answer(SQLModel):
    """An answer the person gave with their personal code: a form (its title, and the
    score of a test) or one of its short texts (checkin.answer_privacy)."""

    question: str
    answer: str
    answered_at: datetime


class QuestionEntry(SQLModel):
    """A written question the person sent with their personal code."""

    session_id: int
    session_title: str
    text: str
    status: str
    status_label: str
    asked_at: datetime


class RequestPublic(SQLModel):
    id: int
    conference_id: int
    attendee_id: int
    kind: str
    message: str | None
    status: str
    created_at: datetime
    handled_by_id: int | None
    handled_at: datetime | None
    outcome: str | None


class PersonalData(SQLModel):
    """Everything held about one person (the export, and the person's own view)."""

    identity: Identity
    attendance: list[AttendanceEntry]
    answers: list[Answer]
    requests: list[RequestPublic]
    questions: list[QuestionEntry] = []
    notice_url: str


class AttendeeCorrection(SQLModel):
    """Fields to correct; a field sent as null is cleared (the name cannot be)."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    full_name: Name | None = None
    unit: ShortText | None = None
    position: ShortText | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _name_kept(self) -> "AttendeeCorrection":
        if "full_name" in self.model_fields_set and self.full_name is None:
            raise ValueError("Họ và tên không được để trống")
        return self


class QueueItem(RequestPublic):
    """A request in the central office's queue, with whom it concerns."""

    attendee_name: str
    site_id: int
    site_name: str
    conference_title: str


Reason = Annotated[str, PydField(min_length=1, max_length=500)]


class RefuseBody(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    reason: Reason



class OwnLink(SQLModel):
    """The attendee's personal link (to send them): their pass, and their data once they
    type the personal code printed on it."""

    url: str
    token: str
