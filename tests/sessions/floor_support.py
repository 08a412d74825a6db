"""A session with a floor to report on: two speeches (one ended, one running) and
questions approved, merged and hidden — names and texts like formulas where they may be."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from app.accounts.models import User
from sessions import floor, floor_questions, stage
from sessions.floor_models import FloorAsk, FloorRequest, QuestionModerate, QuestionStatus
from tests.conftest import Tree
from tests.sessions.support import Recorder, new_items, new_session, state_update

HOSTILE_NAME = '=HYPERLINK("http://x")'
HOSTILE_QUESTION = "@SUM(A1) có áp dụng cho cấp xã không?"
STARTED = datetime(2025, 9, 9, 1, 0, 0, tzinfo=UTC)  # 08:00 in Hà Nội


@dataclass
class Spoken:
    session_id: int
    ended_id: int
    speaking_id: int
    approved_id: int  # from ward A1, with one merged into it
    anonymous_id: int  # from a phone without a site


def on_stage(db: Session, tree: Tree, admin: User) -> int:
    """A session on the stage, on a discussion item."""
    sid = new_session(db, tree, admin)
    items = new_items(db, sid, admin, "Thảo luận")
    stage.set_state(db, session_id=sid, data=state_update(agenda_item_id=items[0]),
                    actor=admin, publish=Recorder())
    return sid


def _ask(db: Session, sid: int, site_id: int, name: str, actor: User) -> int:
    req, _, _ = floor.ask(db, session_id=sid, site_id=site_id, actor=actor, publish=Recorder(),
                       data=FloorAsk(topic="Chuyển đổi số cấp xã", speaker_name=name,
                                     speaker_position="Bí thư Đảng ủy"))
    assert req.id is not None
    return req.id


def _moderate(db: Session, qid: int, admin: User, action: QuestionStatus,
              into: int | None = None) -> None:
    floor_questions.moderate(db, question_id=qid, actor=admin, publish=Recorder(),
                             data=QuestionModerate(action=action, merge_into=into))


def _questions(db: Session, tree: Tree, sid: int, admin: User, coordinator: User) -> list[int]:
    ids = []
    for site_id, text in ((tree.ward_a1, HOSTILE_QUESTION), (tree.ward_a2, "Câu hỏi trùng"),
                          (tree.ward_a2, "Câu hỏi bị ẩn")):
        q = floor_questions.ask_for_site(db, session_id=sid, site_id=site_id, text=text,
                                         actor=coordinator, publish=Recorder())
        assert q.id is not None
        ids.append(q.id)
    phone = floor_questions.ask_on_stage(db, conference_id=tree.cid, publish=Recorder(),
                                         text="Xin hỏi về lộ trình")
    assert phone.id is not None
    _moderate(db, ids[0], admin, QuestionStatus.approved)
    _moderate(db, ids[1], admin, QuestionStatus.merged, ids[0])
    _moderate(db, ids[2], admin, QuestionStatus.hidden)
    _moderate(db, phone.id, admin, QuestionStatus.approved)
    return [ids[0], phone.id]


def spoken_session(db: Session, tree: Tree, admin: User, coordinator: User) -> Spoken:
    """Ward A1 spoke 03:25 (ended); ward A2 speaks now; two approved questions."""
    sid = on_stage(db, tree, admin)
    first = _ask(db, sid, tree.ward_a1, HOSTILE_NAME, coordinator)
    second = _ask(db, sid, tree.ward_a2, "Lê Văn Cường", coordinator)
    floor.give(db, request_id=first, limit_seconds=None, actor=admin, publish=Recorder())
    floor.give(db, request_id=second, limit_seconds=None, actor=admin, publish=Recorder())
    for rid, start, end in ((first, STARTED, STARTED.replace(minute=3, second=25)),
                            (second, STARTED.replace(minute=5), None)):
        req = db.get(FloorRequest, rid)
        assert req is not None
        req.started_at, req.ended_at = start, end
        db.add(req)
    db.commit()
    approved, anonymous = _questions(db, tree, sid, admin, coordinator)
    return Spoken(session_id=sid, ended_id=first, speaking_id=second, approved_id=approved,
                  anonymous_id=anonymous)
