"""The coordinator's phone page of the floor, without JavaScript (forms, redirects,
messages), its poll, and the rates of asks and questions per site and per client
(SQLite and PostgreSQL)."""

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import User
from app.throttle import Rate, Throttle
from sessions import floor_throttle, stage
from tests.conftest import Tree
from tests.endpoints.support import csrf, login
from tests.sessions.support import Recorder, new_items, new_session, state_update

ASK = {"topic": "Kinh nghiệm chuyển đổi số", "speaker_name": "Trần Văn Bình",
       "speaker_position": "Bí thư Đảng ủy"}


def _on_stage(db: Session, tree: Tree, admin: User) -> int:
    sid = new_session(db, tree, admin, title="Phiên thảo luận")
    items = new_items(db, sid, admin, "Thảo luận")
    stage.set_state(db, session_id=sid, data=state_update(agenda_item_id=items[0]), actor=admin,
                    publish=Recorder())
    return sid


@pytest.fixture
def phone(client: TestClient, coordinator_a: User) -> Iterator[TestClient]:
    """The hub A coordinator's phone, logged in through the form; a fixed clock for the
    rates (a test never straddles two windows)."""
    throttle = client.app.state.throttle  # type: ignore[attr-defined]
    client.app.state.throttle = Throttle(  # type: ignore[attr-defined]
        throttle.limiter, clock=lambda: 1_900_000_020.0, rates=throttle.rates)
    login(client, "hcm", "hcm-password")
    yield client


def _post(phone: TestClient, url: str, **fields: str) -> tuple[int, str]:
    r = phone.post(url, data={**fields, "csrf_token": csrf(phone)}, follow_redirects=False)
    return r.status_code, r.headers.get("location", "") or r.text


def _page(phone: TestClient, site: int) -> str:
    r = phone.get(f"/sites/{site}/floor")
    assert r.status_code == 200, r.text
    return str(r.text)


def test_without_a_session_on_stage_the_page_says_so(phone: TestClient, tree: Tree) -> None:
    text = _page(phone, tree.ward_a1)
    assert "Hiện không có phiên họp nào đang diễn ra" in text and 'id="ask-form"' not in text
    assert phone.get(f"/api/v1/sites/{tree.ward_a1}/floor").json()["session_id"] is None


def test_ask_change_and_withdraw_from_the_form(
    phone: TestClient, db: Session, tree: Tree, admin: User, admin_headers: dict[str, str]
) -> None:
    sid = _on_stage(db, tree, admin)
    assert "Phiên thảo luận" in _page(phone, tree.ward_a1)
    url = f"/sites/{tree.ward_a1}/floor"
    assert _post(phone, url, session_id=str(sid), **ASK) == (303, f"{url}?msg=asked")
    phone.post(f"/api/v1/sessions/{sid}/floor/requests", headers=admin_headers,
               json={"site_id": tree.ward_a2, **ASK})
    page = phone.get(f"{url}?msg=asked").text
    assert "Đã gửi đăng ký phát biểu." in page and "Đang chờ — thứ 1 trong hàng đợi" in page
    assert "Cập nhật đăng ký" in page and 'value="Trần Văn Bình"' in page
    changed = {**ASK, "topic": "Chủ đề mới"}
    assert _post(phone, url, session_id=str(sid), **changed) == (303, f"{url}?msg=changed")
    mine = phone.get(f"/api/v1/sites/{tree.ward_a1}/floor").json()
    assert (mine["place"], mine["request"]["topic"]) == (1, "Chủ đề mới")
    theirs = phone.get(f"/api/v1/sites/{tree.ward_a2}/floor").json()
    assert theirs["status_text"] == "Đang chờ — thứ 2 trong hàng đợi"
    rid = str(mine["request"]["id"])
    assert _post(phone, f"{url}/withdraw", request_id=rid) == (303, f"{url}?msg=withdrawn")
    assert "Đã rút yêu cầu" in _page(phone, tree.ward_a1)
    status, text = _post(phone, f"{url}/withdraw", request_id=rid)
    assert status == 409 and "rút" in text  # floor_request_withdrawn, shown on the page
    assert phone.get(f"/api/v1/sites/{tree.ward_a2}/floor").json()["place"] == 1


def test_the_status_follows_the_chairs_decisions(
    phone: TestClient, db: Session, tree: Tree, admin: User, admin_headers: dict[str, str]
) -> None:
    sid = _on_stage(db, tree, admin)
    url = f"/sites/{tree.ward_a1}/floor"
    _post(phone, url, session_id=str(sid), **ASK)
    rid = phone.get(f"/api/v1/sites/{tree.ward_a1}/floor").json()["request"]["id"]
    phone.post(f"/api/v1/floor/requests/{rid}/give", json={}, headers=admin_headers)
    assert "Điểm cầu của bạn đang phát biểu" in _page(phone, tree.ward_a1)
    phone.post(f"/api/v1/sessions/{sid}/floor/end", headers=admin_headers)
    assert "Đã phát biểu" in _page(phone, tree.ward_a1)
    _post(phone, url, session_id=str(sid), **ASK)
    rid = phone.get(f"/api/v1/sites/{tree.ward_a1}/floor").json()["request"]["id"]
    phone.post(f"/api/v1/floor/requests/{rid}/decline", headers=admin_headers,
               json={"reason": "Hết thời gian thảo luận"})
    assert "Không được chấp nhận: Hết thời gian thảo luận" in _page(phone, tree.ward_a1)


def test_a_bad_form_is_refused_on_the_page(phone: TestClient, db: Session, tree: Tree,
                                           admin: User) -> None:
    sid = _on_stage(db, tree, admin)
    status, text = _post(phone, f"/sites/{tree.ward_a1}/floor", session_id=str(sid),
                         topic="", speaker_name="Trần Văn Bình")
    assert status == 422 and "Nội dung phát biểu" in text
    status, text = _post(phone, f"/sites/{tree.ward_b1}/floor", session_id=str(sid), **ASK)
    assert status == 403  # hub B's ward: out of this coordinator's scope


def test_questions_from_the_form(phone: TestClient, db: Session, tree: Tree,
                                 admin: User) -> None:
    sid = _on_stage(db, tree, admin)
    url = f"/sites/{tree.ward_a1}/floor/questions"
    assert _post(phone, url, session_id=str(sid), text="Khi nào có tài liệu?") == (
        303, f"/sites/{tree.ward_a1}/floor?msg=question_sent")
    page = _page(phone, tree.ward_a1)
    assert re.search(r"Khi nào có tài liệu\?</span> <span class=\"q-status pending\">chờ duyệt",
                     page)
    status, _ = _post(phone, url, session_id=str(sid), text="   ")
    assert status == 422


def test_asks_are_rate_limited_per_site_on_forms_and_the_api(
    phone: TestClient, db: Session, tree: Tree, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(floor_throttle, "ASK_SITE", Rate("floor-site", limit=2))
    sid = _on_stage(db, tree, admin)
    url = f"/sites/{tree.ward_a1}/floor"
    assert _post(phone, url, session_id=str(sid), **ASK)[0] == 303
    assert _post(phone, url, session_id=str(sid), **ASK)[0] == 303
    r = phone.post(url, data={"session_id": str(sid), **ASK, "csrf_token": csrf(phone)})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert "quá nhiều lần" in r.text
    api = phone.post(f"/api/v1/sessions/{sid}/floor/requests", headers={
        "X-CSRF-Token": csrf(phone)}, json={"site_id": tree.ward_a1, **ASK})
    assert (api.status_code, api.json()["code"]) == (429, "too_many_attempts")
    assert "Retry-After" in api.headers
    # Another site of the same phone is not held back by this site's rate.
    assert _post(phone, f"/sites/{tree.ward_a2}/floor", session_id=str(sid), **ASK)[0] == 303


def test_asks_and_questions_are_rate_limited_per_client(
    phone: TestClient, db: Session, tree: Tree, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(floor_throttle, "ASK_CLIENT", Rate("floor-client", limit=2))
    monkeypatch.setattr(floor_throttle, "QUESTION_CLIENT", Rate("question-client", limit=1))
    sid = _on_stage(db, tree, admin)
    for site in (tree.ward_a1, tree.ward_a2):
        assert _post(phone, f"/sites/{site}/floor", session_id=str(sid), **ASK)[0] == 303
    status, _ = _post(phone, f"/sites/{tree.hub_a}/floor", session_id=str(sid), **ASK)
    assert status == 429  # a third site, but the same client address
    q = f"/sites/{tree.ward_a1}/floor/questions"
    assert _post(phone, q, session_id=str(sid), text="Câu hỏi một")[0] == 303
    api = phone.post(f"/api/v1/sessions/{sid}/questions", headers={
        "X-CSRF-Token": csrf(phone)}, json={"site_id": tree.ward_a2, "text": "Câu hỏi hai"})
    assert api.status_code == 429


def test_questions_are_rate_limited_per_site(
    phone: TestClient, db: Session, tree: Tree, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(floor_throttle, "QUESTION_SITE", Rate("question-site", limit=1))
    sid = _on_stage(db, tree, admin)
    q = f"/sites/{tree.ward_a1}/floor/questions"
    assert _post(phone, q, session_id=str(sid), text="Câu hỏi một")[0] == 303
    assert _post(phone, q, session_id=str(sid), text="Câu hỏi hai")[0] == 429
    other = f"/sites/{tree.ward_a2}/floor/questions"
    assert _post(phone, other, session_id=str(sid), text="Câu hỏi ba")[0] == 303
