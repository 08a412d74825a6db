"""The stage: versions, slides, notices, publish-after-commit."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from app.accounts.models import User
from app.config import Settings
from app.errors import AppError
from sessions import events, service
from sessions.models import (
    AgendaItem,
    AgendaItemUpdate,
    ConferenceSession,
    SessionStatus,
    Stage,
)
from sessions.stage import get_stage, set_state
from tests.conftest import Tree, make_settings
from tests.sessions.support import (
    Recorder,
    error_code,
    make_pdf,
    new_items,
    new_session,
    state_update,
)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, data_dir=tmp_path / "var")


@pytest.fixture
def publish() -> Recorder:
    return Recorder()


def test_set_state_makes_session_live_and_publishes_once(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = new_session(db, tree, admin)
    first, second = new_items(db, sid, admin, "Khai mạc", "Báo cáo AI")
    view = set_state(
        db, session_id=sid, data=state_update(agenda_item_id=first), actor=admin, publish=publish
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
    morning = new_session(db, tree, admin, "Sáng")
    afternoon = new_session(db, tree, admin, "Chiều")
    versions = []
    for sid in (morning, afternoon, morning, afternoon):
        view = set_state(
            db, session_id=sid, data=state_update(), actor=admin, publish=publish
        )
        versions.append(view.version)
    assert versions == [1, 2, 3, 4]
    published = [json.loads(m)["version"] for _, m in publish.calls]
    assert published == versions


def test_set_state_on_closed_session_is_refused_and_not_published(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = new_session(db, tree, admin)
    service.close_session(db, session_id=sid, actor=admin, publish=publish)
    with pytest.raises(AppError) as exc:
        set_state(db, session_id=sid, data=state_update(), actor=admin, publish=publish)
    assert error_code(exc) == (409, "session_closed")
    assert publish.calls == []
    db.rollback()
    assert db.get(Stage, tree.cid) is None


def test_set_state_with_item_of_other_session_is_refused(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = new_session(db, tree, admin)
    foreign = new_items(db, new_session(db, tree, admin, "Khác"), admin, "Không thuộc")[0]
    for item_id in (foreign, 987654):
        with pytest.raises(AppError) as exc:
            set_state(
                db, session_id=sid, data=state_update(agenda_item_id=item_id), actor=admin,
                publish=publish,
            )
        assert error_code(exc) == (422, "agenda_item_not_in_session")
    assert publish.calls == []


@pytest.mark.parametrize("slide", [0, -1, 2])
def test_set_state_slide_without_deck_is_out_of_range(
    db: Session, tree: Tree, admin: User, publish: Recorder, slide: int
) -> None:
    sid = new_session(db, tree, admin)
    item = new_items(db, sid, admin, "Không có slide")[0]
    with pytest.raises(AppError) as exc:
        set_state(
            db, session_id=sid, data=state_update(agenda_item_id=item, slide=slide), actor=admin,
            publish=publish,
        )
    assert error_code(exc) == (422, "slide_out_of_range")
    assert publish.calls == []


def test_set_state_slide_one_without_deck_shows_no_slide(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = new_session(db, tree, admin)
    item = new_items(db, sid, admin, "Không có slide")[0]
    view = set_state(
        db, session_id=sid, data=state_update(agenda_item_id=item, slide=1), actor=admin,
        publish=publish,
    )
    assert view.slide is None and len(publish.calls) == 1


@pytest.mark.parametrize("slide", [0, 4])
def test_set_state_slide_past_deck_is_out_of_range(
    db: Session, tree: Tree, admin: User, publish: Recorder, settings: Settings, tmp_path: Path,
    slide: int,
) -> None:
    sid = new_session(db, tree, admin)
    item = new_items(db, sid, admin, "Có slide")[0]
    _deck(db, item, admin, settings, tmp_path, pages=3)
    with pytest.raises(AppError) as exc:
        set_state(
            db, session_id=sid, data=state_update(agenda_item_id=item, slide=slide), actor=admin,
            publish=publish,
        )
    assert error_code(exc) == (422, "slide_out_of_range")
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
    sid = new_session(db, tree, admin)
    talk, practice = new_items(db, sid, admin, "Báo cáo", "Thực hành")
    _deck(db, talk, admin, settings, tmp_path, pages=3)
    _deck(db, practice, admin, settings, tmp_path, pages=2)
    set_state(db, session_id=sid, data=state_update(agenda_item_id=talk, slide=3,
                      notice="Kiểm tra âm thanh"), actor=admin, publish=publish)
    same = set_state(db, session_id=sid, data=state_update(), actor=admin, publish=publish)
    assert same.slide is not None and same.slide.number == 3 and same.slide.count == 3
    moved = set_state(
        db, session_id=sid, data=state_update(agenda_item_id=practice), actor=admin, publish=publish
    )
    assert moved.slide is not None and (moved.slide.number, moved.slide.count) == (1, 2)
    assert moved.slide.url.endswith("/1.png")
    assert moved.notice == "Kiểm tra âm thanh"
    cleared = set_state(db, session_id=sid, data=state_update(notice=""), actor=admin,
                                publish=publish)
    assert cleared.notice is None
    assert [json.loads(m)["version"] for _, m in publish.calls] == [1, 2, 3, 4]


def test_set_state_when_commit_fails_publishes_nothing(
    db: Session, tree: Tree, admin: User, publish: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = new_session(db, tree, admin)

    def broken_commit() -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(db, "commit", broken_commit)
    with pytest.raises(RuntimeError):
        set_state(db, session_id=sid, data=state_update(), actor=admin, publish=publish)
    monkeypatch.undo()
    assert publish.calls == []
    db.rollback()
    assert db.get(Stage, tree.cid) is None


def test_set_state_by_coordinator_is_refused(
    db: Session, tree: Tree, admin: User, coordinator_a: User, publish: Recorder
) -> None:
    sid = new_session(db, tree, admin)
    with pytest.raises(AppError) as exc:
        set_state(
            db, session_id=sid, data=state_update(), actor=coordinator_a, publish=publish
        )
    assert error_code(exc) == (403, "admin_only")
    assert publish.calls == []


def test_set_state_unknown_session_is_404(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    with pytest.raises(AppError) as exc:
        set_state(db, session_id=4242, data=state_update(), actor=admin, publish=publish)
    assert error_code(exc) == (404, "session_not_found")


def test_editing_agenda_of_session_on_stage_republishes(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = new_session(db, tree, admin)
    first, second = new_items(db, sid, admin, "Khai mạc", "Báo cáo")
    set_state(db, session_id=sid, data=state_update(agenda_item_id=first), actor=admin,
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
    sid = new_session(db, tree, admin)
    first, second = new_items(db, sid, admin, "Khai mạc", "Báo cáo")
    set_state(db, session_id=sid, data=state_update(agenda_item_id=first), actor=admin,
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
    sid = new_session(db, tree, admin)
    set_state(db, session_id=sid, data=state_update(notice="Nghỉ giải lao"), actor=admin,
                      publish=publish)
    closed = service.close_session(db, session_id=sid, actor=admin, publish=publish)
    assert closed.status == SessionStatus.closed
    message = json.loads(publish.calls[-1][1])
    assert (message["version"], message["session"], message["notice"]) == (2, None, "Nghỉ giải lao")


def test_get_stage_of_new_conference_is_version_zero(db: Session, tree: Tree) -> None:
    view = get_stage(db, conference_id=tree.cid)
    assert (view.version, view.session, view.item, view.slide) == (0, None, None, None)
    assert view.conference_title == "Hội nghị tập huấn AI"


def test_get_stage_matches_last_published_message(
    db: Session, tree: Tree, admin: User, publish: Recorder
) -> None:
    sid = new_session(db, tree, admin)
    item = new_items(db, sid, admin, "Khai mạc")[0]
    set_state(db, session_id=sid, data=state_update(agenda_item_id=item), actor=admin,
                      publish=publish)
    snapshot = events.encode_stage("snapshot", get_stage(db, conference_id=tree.cid))
    assert json.loads(snapshot) == {**json.loads(publish.calls[-1][1]), "type": "snapshot"}


# ---------------------------------------------------------- follow tokens




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
    sid = new_session(db, tree, admin)
    for _ in range(3):
        set_state(db, session_id=sid, data=state_update(), actor=admin, publish=publish)
    db.expire_all()
    assert len(db.exec(select(Stage)).all()) == 1
