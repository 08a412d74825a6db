"""Use cases of the programme: sessions, agenda, stage versions and publish-after-commit."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from app.accounts.models import User
from app.config import Settings
from app.errors import AppError
from sessions import events, service
from sessions import stage as stage_service
from sessions.models import (
    AgendaItem,
    AgendaItemCreate,
    AgendaItemUpdate,
    ConferenceSession,
    SessionCreate,
    SessionStatus,
    SessionUpdate,
    Stage,
    StateUpdate,
)
from tests.conftest import SECRET, Tree, make_settings
from tests.sessions.support import Recorder, make_pdf


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, data_dir=tmp_path / "var")


@pytest.fixture
def publish() -> Recorder:
    return Recorder()


def _session(db: Session, tree: Tree, admin: User, title: str = "Phiên khai mạc") -> int:
    session = service.create_session(
        db,
        conference_id=tree.cid,
        data=SessionCreate(
            title=title,
            starts_at=datetime(2025, 9, 9, 1, 0, tzinfo=UTC),
            ends_at=datetime(2025, 9, 9, 4, 0, tzinfo=UTC),
        ),
        actor=admin,
    )
    assert session.id is not None
    return session.id


def _items(db: Session, session_id: int, admin: User, *titles: str) -> list[int]:
    ids = []
    for title in titles:
        item = service.create_agenda_item(
            db, session_id=session_id, data=AgendaItemCreate(title=title), actor=admin,
            publish=Recorder(),
        )
        assert item.id is not None
        ids.append(item.id)
    return ids


def _code(exc: pytest.ExceptionInfo[AppError]) -> tuple[int, str]:
    return exc.value.status_code, exc.value.code


def _state(**fields: Any) -> StateUpdate:
    return StateUpdate.model_validate(fields)


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
    _session(db, tree, admin)
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
        _session(db, tree, coordinator_a)
    assert _code(exc) == (403, "admin_only")


def test_coordinator_reads_sessions_of_own_conference(
    db: Session, tree: Tree, admin: User, coordinator_a: User
) -> None:
    sid = _session(db, tree, admin)
    listed = service.list_sessions(db, conference_id=tree.cid, actor=coordinator_a)
    assert [s.id for s in listed] == [sid]
    assert service.get_session(db, session_id=sid, actor=coordinator_a).id == sid


def test_get_unknown_session_is_404(db: Session, admin: User, tree: Tree) -> None:
    with pytest.raises(AppError) as exc:
        service.get_session(db, session_id=999, actor=admin)
    assert _code(exc) == (404, "session_not_found")


def test_update_session_with_times_reversed_is_refused(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = _session(db, tree, admin)
    with pytest.raises(AppError) as exc:
        service.update_session(
            db, session_id=sid,
            data=SessionUpdate(ends_at=datetime(2025, 9, 9, 0, 0, tzinfo=UTC)),
            actor=admin, publish=publish,
        )
    assert _code(exc) == (422, "session_times_invalid")
    assert publish.calls == []


# ------------------------------------------------------------------ agenda


def test_agenda_items_append_in_order(db: Session, tree: Tree, admin: User) -> None:
    sid = _session(db, tree, admin)
    ids = _items(db, sid, admin, "Khai mạc", "Báo cáo", "Thảo luận")
    entries = service.list_agenda(db, session_id=sid, actor=admin)
    assert [e.item.id for e in entries] == ids
    assert [e.item.position for e in entries] == [0, 1, 2]


def test_reorder_agenda_puts_items_in_given_order(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = _session(db, tree, admin)
    a, b, c = _items(db, sid, admin, "A", "B", "C")
    service.reorder_agenda(db, session_id=sid, ids=[c, a, b], actor=admin, publish=publish)
    db.expire_all()
    entries = service.list_agenda(db, session_id=sid, actor=admin)
    assert [e.item.title for e in entries] == ["C", "A", "B"]
    assert publish.calls == []  # the session is not on stage: nothing to tell the screens


@pytest.mark.parametrize("shape", ["missing", "extra", "duplicate"])
def test_reorder_agenda_with_wrong_ids_is_refused(
    db: Session, tree: Tree, admin: User, publish: Recorder, shape: str
) -> None:
    sid = _session(db, tree, admin)
    a, b = _items(db, sid, admin, "A", "B")
    other = _items(db, _session(db, tree, admin, "Khác"), admin, "X")[0]
    ids = {"missing": [a], "extra": [a, b, other], "duplicate": [a, a]}[shape]
    with pytest.raises(AppError) as exc:
        service.reorder_agenda(db, session_id=sid, ids=ids, actor=admin, publish=publish)
    assert _code(exc) == (422, "agenda_order_mismatch")


def test_move_agenda_item_up_swaps_with_neighbour(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = _session(db, tree, admin)
    a, b, c = _items(db, sid, admin, "A", "B", "C")
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
    sid = _session(db, tree, admin)
    with pytest.raises(AppError) as exc:
        service.create_agenda_item(
            db, session_id=sid, data=AgendaItemCreate(title="X"), actor=coordinator_a,
            publish=publish,
        )
    assert _code(exc) == (403, "admin_only")


# ------------------------------------------------------------------- stage


def test_set_state_makes_session_live_and_publishes_once(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = _session(db, tree, admin)
    first, second = _items(db, sid, admin, "Khai mạc", "Báo cáo AI")
    view = stage_service.set_state(
        db, session_id=sid, data=_state(agenda_item_id=first), actor=admin, publish=publish
    )
    assert view.version == 1
    assert view.session is not None and view.session.status == "live"
    assert view.item is not None and view.item.title == "Khai mạc"
    assert view.item.kind_label == "báo cáo chuyên đề"
    assert [n.id for n in view.next] == [second]
    assert publish.calls == [
        (f"conference:{tree.cid}:stage", events.encode_stage("state", view))
    ]
    db.expire_all()
    stage = db.get(Stage, tree.cid)
    assert stage is not None and (stage.version, stage.session_id) == (1, sid)
    assert db.get(ConferenceSession, sid).status == SessionStatus.live  # type: ignore[union-attr]


def test_versions_increase_across_sessions(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    morning = _session(db, tree, admin, "Sáng")
    afternoon = _session(db, tree, admin, "Chiều")
    versions = []
    for sid in (morning, afternoon, morning, afternoon):
        view = stage_service.set_state(
            db, session_id=sid, data=_state(), actor=admin, publish=publish
        )
        versions.append(view.version)
    assert versions == [1, 2, 3, 4]
    published = [json.loads(m)["version"] for _, m in publish.calls]
    assert published == versions


def test_set_state_on_closed_session_is_refused_and_not_published(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = _session(db, tree, admin)
    service.close_session(db, session_id=sid, actor=admin, publish=publish)
    with pytest.raises(AppError) as exc:
        stage_service.set_state(db, session_id=sid, data=_state(), actor=admin, publish=publish)
    assert _code(exc) == (409, "session_closed")
    assert publish.calls == []
    db.rollback()
    assert db.get(Stage, tree.cid) is None


def test_set_state_with_item_of_other_session_is_refused(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = _session(db, tree, admin)
    foreign = _items(db, _session(db, tree, admin, "Khác"), admin, "Không thuộc")[0]
    for item_id in (foreign, 987654):
        with pytest.raises(AppError) as exc:
            stage_service.set_state(
                db, session_id=sid, data=_state(agenda_item_id=item_id), actor=admin,
                publish=publish,
            )
        assert _code(exc) == (422, "agenda_item_not_in_session")
    assert publish.calls == []


@pytest.mark.parametrize("slide", [0, -1, 2])
def test_set_state_slide_without_deck_is_out_of_range(
    db: Session, tree: Tree, admin: User, publish: Recorder, slide: int
) -> None:
    sid = _session(db, tree, admin)
    item = _items(db, sid, admin, "Không có slide")[0]
    with pytest.raises(AppError) as exc:
        stage_service.set_state(
            db, session_id=sid, data=_state(agenda_item_id=item, slide=slide), actor=admin,
            publish=publish,
        )
    assert _code(exc) == (422, "slide_out_of_range")
    assert publish.calls == []


def test_set_state_slide_one_without_deck_shows_no_slide(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = _session(db, tree, admin)
    item = _items(db, sid, admin, "Không có slide")[0]
    view = stage_service.set_state(
        db, session_id=sid, data=_state(agenda_item_id=item, slide=1), actor=admin,
        publish=publish,
    )
    assert view.slide is None and len(publish.calls) == 1


@pytest.mark.parametrize("slide", [0, 4])
def test_set_state_slide_past_deck_is_out_of_range(
    db: Session, tree: Tree, admin: User, publish: Recorder, settings: Settings, tmp_path: Path,
    slide: int,
) -> None:
    sid = _session(db, tree, admin)
    item = _items(db, sid, admin, "Có slide")[0]
    _deck(db, item, admin, settings, tmp_path, pages=3)
    with pytest.raises(AppError) as exc:
        stage_service.set_state(
            db, session_id=sid, data=_state(agenda_item_id=item, slide=slide), actor=admin,
            publish=publish,
        )
    assert _code(exc) == (422, "slide_out_of_range")
    assert publish.calls == []


def _deck(
    db: Session, item_id: int, admin: User, settings: Settings, tmp_path: Path, pages: int
) -> None:
    source = tmp_path / f"deck-{item_id}.pdf"
    source.write_bytes(make_pdf(pages))
    service.upload_deck(
        db, agenda_item_id=item_id, source=source, filename="deck.pdf", sha256="0" * 64,
        actor=admin, data_dir=settings.data_dir, max_pages=settings.max_deck_pages,
        publish=Recorder(),
    )


def test_set_state_new_item_starts_at_first_slide_and_keeps_notice(
    db: Session, tree: Tree, admin: User, publish: Recorder, settings: Settings, tmp_path: Path
) -> None:
    sid = _session(db, tree, admin)
    talk, practice = _items(db, sid, admin, "Báo cáo", "Thực hành")
    _deck(db, talk, admin, settings, tmp_path, pages=3)
    _deck(db, practice, admin, settings, tmp_path, pages=2)
    stage_service.set_state(db, session_id=sid, data=_state(agenda_item_id=talk, slide=3,
                      notice="Kiểm tra âm thanh"), actor=admin, publish=publish)
    same = stage_service.set_state(db, session_id=sid, data=_state(), actor=admin, publish=publish)
    assert same.slide is not None and same.slide.number == 3 and same.slide.count == 3
    moved = stage_service.set_state(
        db, session_id=sid, data=_state(agenda_item_id=practice), actor=admin, publish=publish
    )
    assert moved.slide is not None and (moved.slide.number, moved.slide.count) == (1, 2)
    assert moved.slide.url.endswith("/1.png")
    assert moved.notice == "Kiểm tra âm thanh"
    cleared = stage_service.set_state(db, session_id=sid, data=_state(notice=""), actor=admin,
                                publish=publish)
    assert cleared.notice is None
    assert [json.loads(m)["version"] for _, m in publish.calls] == [1, 2, 3, 4]


def test_set_state_when_commit_fails_publishes_nothing(
    db: Session, tree: Tree, admin: User, publish: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = _session(db, tree, admin)

    def broken_commit() -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(db, "commit", broken_commit)
    with pytest.raises(RuntimeError):
        stage_service.set_state(db, session_id=sid, data=_state(), actor=admin, publish=publish)
    monkeypatch.undo()
    assert publish.calls == []
    db.rollback()
    assert db.get(Stage, tree.cid) is None


def test_set_state_by_coordinator_is_refused(
    db: Session, tree: Tree, admin: User, coordinator_a: User, publish: Recorder
) -> None:
    sid = _session(db, tree, admin)
    with pytest.raises(AppError) as exc:
        stage_service.set_state(
            db, session_id=sid, data=_state(), actor=coordinator_a, publish=publish
        )
    assert _code(exc) == (403, "admin_only")
    assert publish.calls == []


def test_set_state_unknown_session_is_404(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    with pytest.raises(AppError) as exc:
        stage_service.set_state(db, session_id=4242, data=_state(), actor=admin, publish=publish)
    assert _code(exc) == (404, "session_not_found")


def test_editing_agenda_of_session_on_stage_republishes(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = _session(db, tree, admin)
    first, second = _items(db, sid, admin, "Khai mạc", "Báo cáo")
    stage_service.set_state(db, session_id=sid, data=_state(agenda_item_id=first), actor=admin,
                      publish=publish)
    service.update_agenda_item(
        db, agenda_item_id=second, data=AgendaItemUpdate(title="Báo cáo mới"), actor=admin,
        publish=publish,
    )
    message = json.loads(publish.calls[-1][1])
    assert message["version"] == 2
    assert message["next"][0]["title"] == "Báo cáo mới"


def test_deleting_item_on_stage_clears_it_from_stage(
    db: Session, tree: Tree, admin: User, publish: Recorder, settings: Settings
) -> None:
    sid = _session(db, tree, admin)
    first, second = _items(db, sid, admin, "Khai mạc", "Báo cáo")
    stage_service.set_state(db, session_id=sid, data=_state(agenda_item_id=first), actor=admin,
                      publish=publish)
    service.delete_agenda_item(db, agenda_item_id=first, actor=admin, publish=publish,
                               data_dir=settings.data_dir)
    message = json.loads(publish.calls[-1][1])
    assert (message["version"], message["item"]) == (2, None)
    assert [n["id"] for n in message["next"]] == [second]
    db.expire_all()
    assert db.get(AgendaItem, first) is None


def test_close_session_on_stage_clears_screens(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = _session(db, tree, admin)
    stage_service.set_state(db, session_id=sid, data=_state(notice="Nghỉ giải lao"), actor=admin,
                      publish=publish)
    closed = service.close_session(db, session_id=sid, actor=admin, publish=publish)
    assert closed.status == SessionStatus.closed
    message = json.loads(publish.calls[-1][1])
    assert (message["version"], message["session"], message["notice"]) == (2, None, "Nghỉ giải lao")


def test_get_stage_of_new_conference_is_version_zero(db: Session, tree: Tree) -> None:
    view = stage_service.get_stage(db, conference_id=tree.cid)
    assert (view.version, view.session, view.item, view.slide) == (0, None, None, None)
    assert view.conference_title == "Hội nghị tập huấn AI"


def test_get_stage_matches_last_published_message(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = _session(db, tree, admin)
    item = _items(db, sid, admin, "Khai mạc")[0]
    stage_service.set_state(db, session_id=sid, data=_state(agenda_item_id=item), actor=admin,
                      publish=publish)
    snapshot = events.encode_stage("snapshot", stage_service.get_stage(db, conference_id=tree.cid))
    assert json.loads(snapshot) == {**json.loads(publish.calls[-1][1]), "type": "snapshot"}


# ---------------------------------------------------------- follow tokens


def test_follow_token_names_its_conference() -> None:
    token = service.follow_token(conference_id=7, secret=SECRET)
    assert service.conference_for_follow_token(token=token, secret=SECRET) == 7


@pytest.mark.parametrize("token", ["", "abc", "eyJjIjo3fQ.forged", "x" * 500])
def test_forged_follow_token_names_nothing(token: str) -> None:
    assert service.conference_for_follow_token(token=token, secret=SECRET) is None


def test_follow_token_of_other_secret_names_nothing() -> None:
    token = service.follow_token(conference_id=7, secret="another-secret-" + "y" * 30)
    assert service.conference_for_follow_token(token=token, secret=SECRET) is None


# ------------------------------------------------------------------ events


def test_encode_stage_is_compact_with_type_first() -> None:
    now = datetime(2025, 9, 9, 1, 0, tzinfo=UTC)
    view = events.StageView(
        version=5, conference_id=3, conference_title="Hội nghị", session=None,
        item=events.StageItem(1, "Khai mạc", "opening", "khai mạc", None, 0), next=(),
        slide=events.StageSlide(2, 9, "/decks/1/k/2.png"), notice="Đại biểu ổn định chỗ ngồi",
        changed_at=now,
    )
    message = events.encode_stage("state", view)
    assert message.startswith('{"type":"state","version":5,')
    assert " " not in message.replace("Hội nghị", "").replace("Khai mạc", "").replace(
        "khai mạc", "").replace("Đại biểu ổn định chỗ ngồi", "")
    assert "Hội nghị" in message  # not \u-escaped
    assert json.loads(message)["changed_at"] == "2025-09-09T01:00:00+00:00"
    assert events.stage_channel(3) == "conference:3:stage"


def test_stage_rows_one_per_conference(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = _session(db, tree, admin)
    for _ in range(3):
        stage_service.set_state(db, session_id=sid, data=_state(), actor=admin, publish=publish)
    db.expire_all()
    assert len(db.exec(select(Stage)).all()) == 1
