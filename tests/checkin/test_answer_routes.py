"""The answers' JSON API: 201 new, 200 the same nonce again, the codes, the rate per
client, a wrong personal code counted as a guess, the questions without `correct`."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.config import Settings
from app.throttle import Rate, Throttle
from checkin import answer_throttle
from checkin.answer_links import site_answer_code
from checkin.answer_models import FormAnswer
from sessions.form_models import FormStatus
from tests.checkin.forms_world import FormWorld, make_form, set_status
from tests.checkin.support import Roster
from tests.conftest import Tree


@pytest.fixture
def phone(client: TestClient) -> Iterator[TestClient]:
    """A phone (no login), with a fixed clock for the rates."""
    throttle = client.app.state.throttle  # type: ignore[attr-defined]
    client.app.state.throttle = Throttle(  # type: ignore[attr-defined]
        throttle.limiter, clock=lambda: 1_900_000_020.0, rates=throttle.rates)
    yield client


@pytest.fixture
def world(wdb: Session, tree: Tree) -> FormWorld:
    return make_form(wdb, conference_id=tree.cid)


def _answers(db: Session) -> int:
    db.rollback()
    return int(db.exec(select(func.count()).select_from(FormAnswer)).one())


def _body(world: FormWorld, n: int, **extra: Any) -> dict[str, Any]:
    return {"nonce": f"nonce-{n:04}", "answers": world.right(), **extra}


def test_answer_then_the_same_nonce_again(phone: TestClient, db: Session, tree: Tree,
                                          settings: Settings, world: FormWorld) -> None:
    url = f"/api/v1/forms/{world.form_id}/answers"
    body = _body(world, 1, device="device-0001", site=site_answer_code(tree.ward_a1, settings))
    first = phone.post(url, json=body)
    assert first.status_code == 201, first.text
    assert first.json()["score"] == 100.0 and first.json()["site_id"] == tree.ward_a1
    again = phone.post(url, json=body)
    assert again.status_code == 200 and again.json() == first.json()
    other = phone.post(url, json={**body, "nonce": "nonce-0002"})
    assert (other.status_code, other.json()["code"]) == (409, "form_already_answered")
    assert _answers(db) == 1


def test_refusals_have_stable_codes(phone: TestClient, db: Session, tree: Tree,
                                    settings: Settings, roster: Roster,
                                    world: FormWorld) -> None:
    url = f"/api/v1/forms/{world.form_id}/answers"
    site = site_answer_code(tree.ward_a1, settings)
    cases = [
        (_body(world, 1, device="device-0001"), 422, "answer_site_unknown"),
        (_body(world, 1, device="device-0001", site=site,
               answers=[{"question_id": world.single, "options": [world.multi_options[0]]}]),
         422, "answer_invalid"),
        (_body(world, 1, device="x"), 422, "validation_error"),
        (_body(world, 1, device="device-0001", site=site, extra=1), 422, "validation_error"),
    ]
    for body, status, code in cases:
        r = phone.post(url, json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), body
    r = phone.post(f"/api/v1/forms/{world.form_id + 50}/answers",
                   json=_body(world, 1, code=roster.an.short_code))
    assert (r.status_code, r.json()["code"]) == (404, "form_not_found")
    set_status(db, world.form_id, FormStatus.closed)
    r = phone.post(url, json=_body(world, 1, code=roster.an.short_code))
    assert (r.status_code, r.json()["code"]) == (409, "form_closed")
    assert _answers(db) == 0


def test_a_wrong_personal_code_counts_as_a_guess(phone: TestClient, db: Session,
                                                 roster: Roster, world: FormWorld) -> None:
    url = f"/api/v1/forms/{world.form_id}/answers"
    for n in range(6):  # five free misses, the sixth starts a wait
        r = phone.post(url, json=_body(world, n, code="ABCD-EFGH"))
        assert (r.status_code, r.json()["code"]) == (403, "personal_code_wrong")
    held = phone.post(url, json=_body(world, 9, code=roster.an.short_code))
    assert (held.status_code, held.json()["code"]) == (429, "too_many_attempts")
    assert int(held.headers["Retry-After"]) > 0 and _answers(db) == 0


def test_answers_are_rate_limited_per_client(phone: TestClient, db: Session, tree: Tree,
                                             settings: Settings, world: FormWorld,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(answer_throttle, "ANSWER_RATE", Rate("answer-client", limit=2))
    url = f"/api/v1/forms/{world.form_id}/answers"
    site = site_answer_code(tree.ward_a1, settings)
    for n in range(2):
        r = phone.post(url, json=_body(world, n, device=f"device-{n:04}", site=site))
        assert r.status_code == 201, r.text
    r = phone.post(url, json=_body(world, 5, device="device-0005", site=site))
    assert (r.status_code, r.json()["code"]) == (429, "too_many_attempts")
    assert "Retry-After" in r.headers and _answers(db) == 2


def test_questions_never_tell_which_option_is_correct(phone: TestClient, db: Session,
                                                      world: FormWorld) -> None:
    r = phone.get(f"/api/v1/forms/{world.form_id}/questions")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scored"] is True and [q["kind"] for q in body["questions"]] == [
        "single", "multi", "rating", "text"]
    assert [o["letter"] for o in body["questions"][0]["options"]] == ["A", "B", "C"]
    assert "correct" not in r.text
    set_status(db, world.form_id, FormStatus.closed)
    assert phone.get(f"/api/v1/forms/{world.form_id}/questions").status_code == 200
    set_status(db, world.form_id, FormStatus.draft)
    r = phone.get(f"/api/v1/forms/{world.form_id}/questions")
    assert (r.status_code, r.json()["code"]) == (409, "form_not_open")


def test_looks_at_forms_are_rate_limited_per_client(phone: TestClient, tree: Tree,
                                                    settings: Settings, world: FormWorld,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(answer_throttle, "VIEW_RATE", Rate("answer-view-client", limit=2))
    url = f"/api/v1/forms/{world.form_id}/questions"
    assert [phone.get(url).status_code for _ in range(2)] == [200, 200]
    r = phone.get(url)
    assert (r.status_code, r.json()["code"]) == (429, "too_many_attempts")
    page = phone.get(f"/a/{site_answer_code(tree.ward_a1, settings)}")
    assert page.status_code == 429 and "Retry-After" in page.headers


def test_plain_answers_skip_the_router_and_the_rest_reach_it(
    phone: TestClient, db: Session, tree: Tree, settings: Settings, world: FormWorld
) -> None:
    router = phone.app.router  # type: ignore[attr-defined]
    reached: list[str] = []
    declared = router.middleware_stack

    async def spy(scope: Any, receive: Any, send: Any) -> None:  # what reaches the router
        reached.append(scope["path"])
        await declared(scope, receive, send)
    router.middleware_stack = spy
    url = f"/api/v1/forms/{world.form_id}/answers"
    body = _body(world, 1, device="device-0001", site=site_answer_code(tree.ward_a1, settings))
    try:
        first = phone.post(url, json=body)
        assert first.status_code == 201 and reached == []  # the shortcut answered
        # with the app's security headers, like any response
        assert first.headers["X-Content-Type-Options"] == "nosniff"
        again = phone.post(url, json={**body, "nonce": "nonce-0002"})
        assert (again.status_code, again.json()["code"]) == (409, "form_already_answered")
        assert reached == []
        # What the shortcut does not take, the route refuses as it always did.
        broken = phone.post(url, content=b'{"nonce": ', headers={
            "Content-Type": "application/json"})
        as_text = phone.post(url, content=b"nonce=x", headers={"Content-Type": "text/plain"})
        huge = phone.post("/api/v1/forms/99999999999/answers", json=body)
        assert [r.status_code for r in (broken, as_text, huge)] == [422, 422, 422]
        assert {r.json()["code"] for r in (broken, as_text, huge)} == {"validation_error"}
        assert len(reached) == 3
    finally:
        router.middleware_stack = declared
    assert _answers(db) == 1
