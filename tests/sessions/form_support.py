"""Banks and a session for the authoring tests of training forms."""

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from app.accounts.models import User
from app.db import utcnow
from sessions import service
from sessions.form_models import BankCreate, FormStatus, TrainingForm
from sessions.models import SessionCreate
from tests.conftest import Tree


def quiz_bank(title: str = "Kiểm tra chuyển đổi số") -> dict[str, Any]:
    """A bank a pre/post-test can ask: a single and a multiple choice, answers marked."""
    return {"title": title, "questions": [
        {"kind": "single", "text": "Chuyển đổi số bắt đầu từ đâu?", "options": [
            {"label": "Thiết bị"}, {"label": "Con người", "correct": True},
            {"label": "Phần mềm"}]},
        {"kind": "multi", "text": "Dịch vụ nào làm trực tuyến toàn trình?", "options": [
            {"label": "Khai sinh", "correct": True}, {"label": "Lý lịch tư pháp", "correct": True},
            {"label": "Công chứng"}]},
    ]}


def survey_bank(title: str = "Khảo sát sau tập huấn") -> dict[str, Any]:
    """A survey's bank: a rating, a plain choice and a short text."""
    return {"title": title, "questions": [
        {"kind": "rating", "text": "Nội dung buổi tập huấn"},
        {"kind": "single", "text": "Thời lượng", "options": [
            {"label": "Ngắn"}, {"label": "Vừa"}, {"label": "Dài"}]},
        {"kind": "text", "text": "Đề xuất của anh/chị"},
    ]}


def bank_data(raw: dict[str, Any]) -> BankCreate:
    return BankCreate.model_validate(raw)


def make_session(db: Session, tree: Tree, admin: User) -> int:
    """A session of the tree's conference."""
    made = service.create_session(db, conference_id=tree.cid, actor=admin, data=SessionCreate(
        title="Phiên khai mạc", starts_at=datetime(2025, 9, 9, 1, 0, tzinfo=UTC),
        ends_at=datetime(2025, 9, 9, 9, 0, tzinfo=UTC)))
    assert made.id is not None
    return made.id


def open_form(db: Session, form_id: int) -> None:
    """What the presenter's "open" does to the row (built elsewhere): open, with a time."""
    form = db.get(TrainingForm, form_id)
    assert form is not None
    form.status, form.opened_at = FormStatus.open, utcnow()
    db.add(form)
    db.commit()
