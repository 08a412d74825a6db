"""The floor's rules: one open request per site and session, the chair's decisions, the
speaker on the stage every screen follows (SQLite and PostgreSQL)."""

import json

import pytest
from sqlmodel import Session, select

from app.accounts.models import User
from app.errors import AppError
from endpoints import service as endpoints_service
from endpoints.models import SiteCreate, SiteKind
from sessions import events, floor, floor_questions, floor_view, service, stage
from sessions.floor_models import FloorAsk, FloorRequest, FloorStatus
from tests.conftest import Tree
from tests.sessions.floor_support import on_stage
from tests.sessions.support import Recorder, error_code


def _ask(topic: str = "Kinh nghiệm chuyển đổi số", name: str = "Trần Văn Bình") -> FloorAsk:
    return FloorAsk(topic=topic, speaker_name=name, speaker_position="Bí thư Đảng ủy")


def test_a_second_ask_changes_the_open_request_and_keeps_its_place(
    db: Session, tree: Tree, admin: User, coordinator_a: User
) -> None:
    sid = on_stage(db, tree, admin)
    pub = Recorder()
    first, created, _ = floor.ask(db, session_id=sid, site_id=tree.ward_a1, data=_ask(),
                               actor=coordinator_a, publish=pub)
    other, _, _ = floor.ask(db, session_id=sid, site_id=tree.ward_a2, data=_ask(),
                         actor=coordinator_a, publish=pub)
    again, created_again, _ = floor.ask(db, session_id=sid, site_id=tree.ward_a1,
                                     data=_ask(topic="Chủ đề mới"), actor=coordinator_a,
                                     publish=pub)
    assert created and not created_again and again.id == first.id
    rows = db.exec(select(FloorRequest).where(FloorRequest.session_id == sid)).all()
    assert len(rows) == 2
    queue = floor_view.queue(db, session_id=sid, actor=admin)
    assert [r.site_id for r in queue.requests] == [tree.ward_a1, tree.ward_a2]
    assert queue.requests[0].topic == "Chủ đề mới"
    assert queue.requests[0].hub_id == tree.hub_a and queue.requests[0].hub_name
    assert queue.version == 3
    assert [c for c, _ in pub.calls] == [events.floor_channel(tree.cid)] * 3
    assert other.id != first.id


def test_giving_the_floor_ends_the_previous_speaker_and_puts_it_on_the_stage(
    db: Session, tree: Tree, admin: User, coordinator_a: User
) -> None:
    sid = on_stage(db, tree, admin)
    a, _, _ = floor.ask(db, session_id=sid, site_id=tree.ward_a1, data=_ask(),
                     actor=coordinator_a, publish=Recorder())
    b, _, _ = floor.ask(db, session_id=sid, site_id=tree.ward_a2, data=_ask(name="Lê Văn Cường"),
                     actor=coordinator_a, publish=Recorder())
    pub = Recorder()
    assert a.id is not None and b.id is not None
    view = floor.give(db, request_id=a.id, limit_seconds=180, actor=admin, publish=pub)
    assert view.floor is not None and view.floor.site_id == tree.ward_a1
    assert view.floor.limit_seconds == 180
    stage_msgs = [m for c, m in pub.calls if c == events.stage_channel(tree.cid)]
    assert json.loads(stage_msgs[0])["floor"]["speaker_name"] == "Trần Văn Bình"
    view = floor.give(db, request_id=b.id, limit_seconds=None, actor=admin, publish=Recorder())
    assert view.floor is not None and view.floor.request_id == b.id
    db.expire_all()
    first = db.get(FloorRequest, a.id)
    assert first is not None and first.status == FloorStatus.done and first.ended_at
    view = floor.end(db, session_id=sid, actor=admin, publish=Recorder())
    assert view.floor is None and stage.get_stage(db, conference_id=tree.cid).floor is None
    with pytest.raises(AppError) as exc:
        floor.end(db, session_id=sid, actor=admin, publish=Recorder())
    assert error_code(exc) == (409, "floor_no_speaker")


def test_refusals_carry_codes(
    db: Session, tree: Tree, admin: User, coordinator_a: User
) -> None:
    sid = on_stage(db, tree, admin)
    req, _, _ = floor.ask(db, session_id=sid, site_id=tree.ward_a1, data=_ask(),
                       actor=coordinator_a, publish=Recorder())
    assert req.id is not None
    floor.withdraw(db, request_id=req.id, actor=coordinator_a, publish=Recorder())
    for call in (
        lambda: floor.withdraw(db, request_id=req.id or 0, actor=coordinator_a,
                               publish=Recorder()),
        lambda: floor.give(db, request_id=req.id or 0, limit_seconds=None, actor=admin,
                           publish=Recorder()),
    ):
        with pytest.raises(AppError) as exc:
            call()
        assert error_code(exc) == (409, "floor_request_withdrawn")
    with pytest.raises(AppError) as exc:  # hub B's ward is outside coordinator A's scope
        floor.ask(db, session_id=sid, site_id=tree.ward_b1, data=_ask(), actor=coordinator_a,
                  publish=Recorder())
    assert exc.value.status_code in (403, 404)
    service.close_session(db, session_id=sid, actor=admin, publish=Recorder())
    with pytest.raises(AppError) as exc:
        floor.ask(db, session_id=sid, site_id=tree.ward_a1, data=_ask(), actor=coordinator_a,
                  publish=Recorder())
    assert error_code(exc) == (409, "session_closed")


def test_the_queue_carries_its_head_and_how_many_wait(
    db: Session, tree: Tree, admin: User, coordinator_a: User
) -> None:
    sid = on_stage(db, tree, admin)
    for site in (tree.ward_a1, tree.ward_a2, tree.hub_a):
        floor.ask(db, session_id=sid, site_id=site, data=_ask(), actor=coordinator_a,
                  publish=Recorder())
    head = floor_view.queue(db, session_id=sid, actor=admin, limit=2)
    assert [r.site_id for r in head.requests] == [tree.ward_a1, tree.ward_a2]
    assert head.waiting == 3
    only_hub_kind = floor_view.queue(db, session_id=sid, actor=admin, kind="hub")
    assert [r.site_id for r in only_hub_kind.requests] == [tree.hub_a]
    assert only_hub_kind.waiting == 1


def test_a_site_outside_the_conference_may_neither_ask_nor_send_questions(
    db: Session, tree: Tree, admin: User, coordinator_a: User
) -> None:
    sid = on_stage(db, tree, admin)
    # In the registry under hub A (the coordinator's scope), never invited to this conference.
    outside = endpoints_service.create_registry_site(
        db, data=SiteCreate(name="Xã Thạnh An", kind=SiteKind.commune, parent_id=tree.hub_a,
                            code="HCM-TA"), actor=admin)
    assert outside.id is not None
    for call in (
        lambda: floor.ask(db, session_id=sid, site_id=outside.id or 0, data=_ask(),
                          actor=coordinator_a, publish=Recorder()),
        lambda: floor_questions.ask_for_site(db, session_id=sid, site_id=outside.id or 0,
                                             text="Khi nào có tài liệu?", actor=coordinator_a,
                                             publish=Recorder()),
    ):
        with pytest.raises(AppError) as exc:
            call()
        assert error_code(exc) == (404, "site_not_in_conference")
    db.rollback()
    assert db.exec(select(FloorRequest).where(FloorRequest.site_id == outside.id)).all() == []
