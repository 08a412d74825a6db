"""The phone page of a site's answer link without a script: what it shows (no form, an
open one, a closed one), the plain form's answer (exactly once, by the phone's cookie),
the personal-code path `/a/-?form=`, a wrong site code counted as a guess."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.config import Settings
from app.throttle import Throttle
from checkin.answer_links import site_answer_code
from checkin.answer_models import FormAnswer
from sessions.form_models import FormStatus
from tests.checkin.forms_world import FormWorld, make_form, put_on_stage, set_status
from tests.checkin.support import Roster
from tests.conftest import Tree
from tests.endpoints.support import csrf
from tests.sessions.support import make_live


@pytest.fixture
def phone(client: TestClient) -> Iterator[TestClient]:
    throttle = client.app.state.throttle  # type: ignore[attr-defined]
    client.app.state.throttle = Throttle(  # type: ignore[attr-defined]
        throttle.limiter, clock=lambda: 1_900_000_020.0, rates=throttle.rates)
    yield client


@pytest.fixture
def world(wdb: Session, tree: Tree) -> FormWorld:
    make_live(wdb, tree.cid)
    made = make_form(wdb, conference_id=tree.cid)
    put_on_stage(wdb, conference_id=tree.cid, form_id=made.form_id)
    return made


def _answers(db: Session) -> list[FormAnswer]:
    db.rollback()
    return list(db.exec(select(FormAnswer)).all())


def _fields(page: str, world: FormWorld, token: str) -> dict[str, object]:
    nonce = page.split('name="nonce" id="nonce" value="', 1)[1].split('"', 1)[0]
    return {"csrf_token": token, "nonce": nonce, "q1": str(world.single_options[1]),
            "q2": [str(world.multi_options[0]), str(world.multi_options[2])], "q3": "5",
            "q4": "Hay"}


def test_the_open_form_and_its_answer_without_script(
    phone: TestClient, db: Session, tree: Tree, settings: Settings, world: FormWorld
) -> None:
    url = f"/a/{site_answer_code(tree.ward_a1, settings)}"
    page = phone.get(url)
    assert page.status_code == 200
    assert "Kiểm tra đầu vào" in page.text and 'type="radio" name="q1"' in page.text
    assert 'type="checkbox" name="q2"' in page.text and "correct" not in page.text
    fields = _fields(page.text, world, csrf(phone))
    done = phone.post(url, data=fields)
    assert done.status_code == 201, done.text
    assert "Đã ghi nhận" in done.text and '<strong id="score">100</strong>' in done.text
    again = phone.post(url, data=fields)  # the same page sent twice: the same answer
    assert again.status_code == 200 and "Đã ghi nhận" in again.text
    other = phone.post(url, data={**fields, "nonce": "another-nonce-1"})
    assert other.status_code == 409 and "đã trả lời phiếu này rồi" in other.text
    rows = _answers(db)
    assert len(rows) == 1 and rows[0].site_id == tree.ward_a1 and rows[0].device
    assert rows[0].score == 100.0


def test_without_csrf_nothing_is_stored(phone: TestClient, db: Session, tree: Tree,
                                        settings: Settings, world: FormWorld) -> None:
    url = f"/a/{site_answer_code(tree.ward_a1, settings)}"
    page = phone.get(url)
    fields = _fields(page.text, world, "forged")
    assert phone.post(url, data=fields).status_code == 403
    assert _answers(db) == []


def test_no_form_a_draft_and_a_closed_form(phone: TestClient, wdb: Session, tree: Tree,
                                           settings: Settings, world: FormWorld) -> None:
    url = f"/a/{site_answer_code(tree.ward_a1, settings)}"
    set_status(wdb, world.form_id, FormStatus.draft)
    assert "Chưa có phiếu nào đang mở" in phone.get(url).text
    set_status(wdb, world.form_id, FormStatus.closed)
    closed = phone.get(url)
    assert "đã đóng" in closed.text and 'id="answer-form"' not in closed.text
    assert phone.post(url, data={"csrf_token": csrf(phone), "nonce": "nonce-00001"}
                      ).status_code == 409


def test_no_live_conference(phone: TestClient, settings: Settings, tree: Tree,
                            wdb: Session) -> None:
    page = phone.get(f"/a/{site_answer_code(tree.ward_a1, settings)}")
    assert page.status_code == 200 and "không có hội nghị nào" in page.text


def test_a_wrong_site_code_is_a_counted_guess(phone: TestClient, world: FormWorld) -> None:
    for _ in range(6):  # five free misses
        r = phone.get("/a/1-AAAAAA")
        assert r.status_code == 422 and "Mã điểm cầu không đúng" in r.text
    held = phone.get("/a/1-AAAAAA")
    assert held.status_code == 429 and "Retry-After" in held.headers


def test_the_personal_code_path(phone: TestClient, db: Session, tree: Tree, roster: Roster,
                                world: FormWorld) -> None:
    url = f"/a/-?form={world.form_id}"
    page = phone.get(url)
    assert page.status_code == 200 and 'name="code"' in page.text and " required" in page.text
    fields = _fields(page.text, world, csrf(phone))
    missing = phone.post(url, data=fields)
    assert missing.status_code in (422,) and _answers(db) == []
    done = phone.post(url, data={**fields, "code": roster.an.short_code})
    assert done.status_code == 201 and "Đã ghi nhận" in done.text
    rows = _answers(db)
    assert [(r.attendee_id, r.site_id) for r in rows] == [(roster.an.id, tree.ward_a1)]
    assert phone.get("/a/-").status_code == 422
    assert int(db.exec(select(func.count()).select_from(FormAnswer)).one()) == 1
