"""Use cases of the programme: sessions, agenda, follow links."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlmodel import Session

from app.accounts.models import User
from app.errors import AppError
from sessions import service
from sessions.models import (
    AgendaItemCreate,
    ConferenceSession,
    SessionCreate,
    SessionStatus,
    SessionUpdate,
)
from tests.conftest import Tree
from tests.sessions.support import Recorder, error_code, new_items, new_session


@pytest.fixture
def publish() -> Recorder:
    return Recorder()


# ---------------------------------------------------------------- sessions


def test_create_session_reads_naive_times_as_vietnam_time() -> None:
    data = SessionCreate.model_validate(
        {"title": "Phiên sáng", "starts_at": "2025-09-09T06:30", "ends_at": "2025-09-09T08:00"}
    )
    # 06:30 in Ho Chi Minh City is 23:30 UTC the day before.
    assert data.starts_at == datetime(2025, 9, 8, 23, 30, tzinfo=UTC)


def test_create_session_with_end_before_start_is_refused() -> None:
    with pytest.raises(ValidationError):
        SessionCreate.model_validate(
            {"title": "Phiên", "starts_at": "2025-09-09T08:00Z", "ends_at": "2025-09-09T07:00Z"}
        )


def test_create_session_stores_utc_and_lists_in_time_order(
    db: Session, tree: Tree, admin: User
) -> None:
    later = service.create_session(
        db,
        conference_id=tree.cid,
        data=SessionCreate.model_validate(
            {"title": "Phiên chiều", "starts_at": "2025-09-09T14:00+07:00",
             "ends_at": "2025-09-09T17:00+07:00"}
        ),
        actor=admin,
    )
    new_session(db, tree, admin)
    listed = service.list_sessions(db, conference_id=tree.cid, actor=admin)
    assert [s.title for s in listed] == ["Phiên khai mạc", "Phiên chiều"]
    db.expire_all()
    stored = db.get(ConferenceSession, later.id)
    assert stored is not None
    assert stored.starts_at == datetime(2025, 9, 9, 7, 0, tzinfo=UTC)
    assert stored.status == SessionStatus.scheduled


def test_create_session_by_coordinator_is_refused(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    with pytest.raises(AppError) as exc:
        new_session(db, tree, coordinator_a)
    assert error_code(exc) == (403, "admin_only")


def test_coordinator_reads_sessions_of_own_conference(
    db: Session, tree: Tree, admin: User, coordinator_a: User
) -> None:
    sid = new_session(db, tree, admin)
    listed = service.list_sessions(db, conference_id=tree.cid, actor=coordinator_a)
    assert [s.id for s in listed] == [sid]
    assert service.get_session(db, session_id=sid, actor=coordinator_a).id == sid


def test_get_unknown_session_is_404(db: Session, admin: User, tree: Tree) -> None:
    with pytest.raises(AppError) as exc:
        service.get_session(db, session_id=999, actor=admin)
    assert error_code(exc) == (404, "session_not_found")


def test_update_session_with_times_reversed_is_refused(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = new_session(db, tree, admin)
    with pytest.raises(AppError) as exc:
        service.update_session(
            db, session_id=sid,
            data=SessionUpdate(ends_at=datetime(2025, 9, 9, 0, 0, tzinfo=UTC)),
            actor=admin, publish=publish,
        )
    assert error_code(exc) == (422, "session_times_invalid")
    assert publish.calls == []


# ------------------------------------------------------------------ agenda


def test_agenda_items_append_in_order(db: Session, tree: Tree, admin: User) -> None:
    sid = new_session(db, tree, admin)
    ids = new_items(db, sid, admin, "Khai mạc", "Báo cáo", "Thảo luận")
    entries = service.list_agenda(db, session_id=sid, actor=admin)
    assert [e.item.id for e in entries] == ids
    assert [e.item.position for e in entries] == [0, 1, 2]


def test_reorder_agenda_puts_items_in_given_order(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = new_session(db, tree, admin)
    a, b, c = new_items(db, sid, admin, "A", "B", "C")
    service.reorder_agenda(db, session_id=sid, ids=[c, a, b], actor=admin, publish=publish)
    db.expire_all()
    entries = service.list_agenda(db, session_id=sid, actor=admin)
    assert [e.item.title for e in entries] == ["C", "A", "B"]
    assert publish.calls == []  # the session is not on stage: nothing to tell the screens


@pytest.mark.parametrize("shape", ["missing", "extra", "duplicate"])
def test_reorder_agenda_with_wrong_ids_is_refused(
    db: Session, tree: Tree, admin: User, publish: Recorder, shape: str
) -> None:
    sid = new_session(db, tree, admin)
    a, b = new_items(db, sid, admin, "A", "B")
    other = new_items(db, new_session(db, tree, admin, "Khác"), admin, "X")[0]
    ids = {"missing": [a], "extra": [a, b, other], "duplicate": [a, a]}[shape]
    with pytest.raises(AppError) as exc:
        service.reorder_agenda(db, session_id=sid, ids=ids, actor=admin, publish=publish)
    assert error_code(exc) == (422, "agenda_order_mismatch")


def test_move_agenda_item_up_swaps_with_neighbour(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = new_session(db, tree, admin)
    a, b, c = new_items(db, sid, admin, "A", "B", "C")
    moved = service.move_agenda_item(
        db, agenda_item_id=c, direction="up", actor=admin, publish=publish
    )
    assert [i.id for i in moved] == [a, c, b]
    first = service.move_agenda_item(
        db, agenda_item_id=a, direction="up", actor=admin, publish=publish
    )
    assert [i.id for i in first] == [a, c, b]  # already first: unchanged


def test_agenda_item_of_coordinator_is_refused(
    db: Session, tree: Tree, admin: User, coordinator_a: User, publish: Recorder
) -> None:
    sid = new_session(db, tree, admin)
    with pytest.raises(AppError) as exc:
        service.create_agenda_item(
            db, session_id=sid, data=AgendaItemCreate(title="X"), actor=coordinator_a,
            publish=publish,
        )
    assert error_code(exc) == (403, "admin_only")


# ------------------------------------------------------------------- stage




# ------------------------------------------------------------------ events
