"""Questions from the follow page: with or without the personal code, a wrong code
(refused, nothing stored, counted as a guess), the rate per client, no session on
stage or a closed one, a stale link (SQLite and PostgreSQL)."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import User
from app.throttle import Rate, Throttle
from checkin import follow_question_routes, roster
from checkin.models import AttendeeCreate
from sessions import service, stage
from sessions.floor_models import FloorQuestion
from tests.conftest import Tree
from tests.sessions.support import Recorder, make_live, new_items, new_session, state_update


@pytest.fixture
def visitor(client: TestClient, db: Session, tree: Tree) -> Iterator[TestClient]:
    """An attendee's phone (no login); the conference runs today; a fixed clock for the
    rates (a test never straddles two windows)."""
    make_live(db, tree.cid)
    throttle = client.app.state.throttle  # type: ignore[attr-defined]
    client.app.state.throttle = Throttle(  # type: ignore[attr-defined]
        throttle.limiter, clock=lambda: 1_900_000_020.0, rates=throttle.rates)
    yield client


def _on_stage(db: Session, tree: Tree, admin: User) -> int:
    sid = new_session(db, tree, admin, title="Phiên thảo luận")
    items = new_items(db, sid, admin, "Thảo luận")
    stage.set_state(db, session_id=sid, data=state_update(agenda_item_id=items[0]), actor=admin,
                    publish=Recorder())
    return sid


def _link(client: TestClient, headers: dict[str, str], tree: Tree) -> str:
    token = client.get(f"/api/v1/conferences/{tree.cid}/follow-link", headers=headers)
    return f"/api/v1/follow/{token.json()['token']}/questions"


def _attendee_code(db: Session, tree: Tree, admin: User) -> str:
    made = roster.create_attendees(db, conference_id=tree.cid, actor=admin, items=[
        AttendeeCreate(full_name="Nguyễn Văn An", site_id=tree.ward_a1)])[0]
    return roster.format_short_code(made.short_code)


def _questions(db: Session) -> list[FloorQuestion]:
    db.rollback()
    return list(db.exec(select(FloorQuestion).order_by(FloorQuestion.id)).all())  # type: ignore[arg-type]


def test_a_question_with_and_without_the_personal_code(
    visitor: TestClient, db: Session, tree: Tree, admin: User, admin_headers: dict[str, str]
) -> None:
    sid = _on_stage(db, tree, admin)
    url, code = _link(visitor, admin_headers, tree), _attendee_code(db, tree, admin)
    signed = visitor.post(url, json={"text": "Khi nào có tài liệu?", "code": code.lower()})
    assert signed.status_code == 201, signed.text
    assert (signed.json()["signed"], signed.json()["session_id"]) == (True, sid)
    plain = visitor.post(url, json={"text": "  Có bản ghi hình không?  "})
    assert plain.status_code == 201 and plain.json()["signed"] is False
    rows = _questions(db)
    assert [(q.site_id, q.attendee_id is not None) for q in rows] == [
        (tree.ward_a1, True), (None, False)]
    assert rows[1].text == "Có bản ghi hình không?" and rows[0].status == "pending"


def test_a_wrong_code_stores_nothing_and_counts_as_a_guess(
    visitor: TestClient, db: Session, tree: Tree, admin: User, admin_headers: dict[str, str]
) -> None:
    _on_stage(db, tree, admin)
    url, code = _link(visitor, admin_headers, tree), _attendee_code(db, tree, admin)
    for _ in range(6):  # five free misses, the sixth starts a wait
        r = visitor.post(url, json={"text": "Câu hỏi", "code": "ABCD-EFGH"})
        assert (r.status_code, r.json()["code"]) == (403, "personal_code_wrong")
    assert _questions(db) == []
    held = visitor.post(url, json={"text": "Câu hỏi", "code": code})
    assert (held.status_code, held.json()["code"]) == (429, "too_many_attempts")
    assert int(held.headers["Retry-After"]) > 0 and _questions(db) == []


def test_questions_are_rate_limited_per_client(
    visitor: TestClient, db: Session, tree: Tree, admin: User, admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(follow_question_routes, "QUESTION_RATE", Rate("question-follow",
                                                                      limit=2))
    _on_stage(db, tree, admin)
    url = _link(visitor, admin_headers, tree)
    for text in ("Một", "Hai"):
        assert visitor.post(url, json={"text": text}).status_code == 201
    r = visitor.post(url, json={"text": "Ba"})
    assert (r.status_code, r.json()["code"]) == (429, "too_many_attempts")
    assert "Retry-After" in r.headers and len(_questions(db)) == 2


def test_no_session_on_stage_a_closed_session_and_a_stale_link(
    visitor: TestClient, db: Session, tree: Tree, admin: User, admin_headers: dict[str, str]
) -> None:
    url = _link(visitor, admin_headers, tree)
    r = visitor.post(url, json={"text": "Câu hỏi"})
    assert (r.status_code, r.json()["code"]) == (409, "no_session_on_stage")
    sid = _on_stage(db, tree, admin)
    service.close_session(db, session_id=sid, actor=admin, publish=Recorder())
    r = visitor.post(url, json={"text": "Câu hỏi"})  # closing takes it off the stage
    assert (r.status_code, r.json()["code"]) == (409, "no_session_on_stage")
    visitor.post(f"/api/v1/conferences/{tree.cid}/follow-link/rotate", headers=admin_headers)
    r = visitor.post(url, json={"text": "Câu hỏi"})
    assert (r.status_code, r.json()["code"]) == (410, "follow_link_revoked")
    bad = visitor.post(url.replace("/follow/", "/follow/x"), json={"text": ""})
    assert bad.status_code == 422  # an empty question is refused before anything else
    assert _questions(db) == []
