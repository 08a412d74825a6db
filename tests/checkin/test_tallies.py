"""Room tallies: replace, never add; checked against the bank and the present count;
who may type them; the API and the coordinator's page (SQLite and PostgreSQL)."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import User
from app.errors import AppError
from checkin import headcounts, tallies
from checkin.answer_models import FormTally, TallySubmit
from sessions import events
from sessions.form_models import FormKind, FormStatus
from tests.checkin.forms_world import FormWorld, make_form, set_status
from tests.conftest import Tree
from tests.endpoints.support import csrf, login


@pytest.fixture
def world(wdb: Session, tree: Tree, admin: User) -> FormWorld:
    made = make_form(wdb, conference_id=tree.cid)
    headcounts.report_headcount(wdb, site_id=tree.ward_a1, session_id=None,
                                counts={"dai_bieu": 30}, actor=admin, conference_id=tree.cid)
    return made


def _set(db: Session, world: FormWorld, site_id: int, actor: User,
         counts: dict[str, dict[str, int]], published: list[Any] | None = None) -> Any:
    def publish(channel: str, message: Any) -> None:
        if published is not None:
            published.append((channel, message))
    return tallies.set_tally(db, form_id=world.form_id, site_id=site_id,
                             data=TallySubmit(counts=counts), actor=actor, publish=publish)


def _single(world: FormWorld, a: int, b: int, c: int = 0) -> dict[str, dict[str, int]]:
    o = world.single_options
    return {str(world.single): {str(o[0]): a, str(o[1]): b, str(o[2]): c}}


def test_a_tally_replaces_the_earlier_one(wdb: Session, tree: Tree, admin: User,
                                          world: FormWorld) -> None:
    published: list[Any] = []
    first = _set(wdb, world, tree.ward_a1, admin, _single(world, 5, 10), published)
    assert (first.respondents, first.present) == (15, 30)
    again = _set(wdb, world, tree.ward_a1, admin, {
        **_single(world, 2, 20),
        str(world.rating): {"r4": 12, "r5": 6},
        str(world.multi): {str(world.multi_options[0]): 25, str(world.multi_options[2]): 20},
    })
    assert again.respondents == 25  # the most on any question (a multi choice: its largest)
    wdb.rollback()
    rows = wdb.exec(select(FormTally)).all()
    assert len(rows) == 1 and rows[0].counts[str(world.single)] == {
        str(o): n for o, n in zip(world.single_options, (2, 20, 0), strict=True)}
    assert rows[0].entered_by == admin.id
    assert published == [(events.form_channel(tree.cid), events.encode_form_tallied(
        form_id=world.form_id, site_id=tree.ward_a1, respondents=15))]


@pytest.mark.parametrize(("counts", "field"), [
    ("above", "counts.{single}"),
    ("negative", "counts.{single}.{o0}"),
    ("unknown_question", "counts.999999"),
    ("unknown_option", "counts.{single}.{m0}"),
    ("text", "counts.{text}"),
    ("rating_key", "counts.{rating}.r6"),
])
def test_invalid_tallies_name_the_field(wdb: Session, tree: Tree, admin: User,
                                        world: FormWorld, counts: str, field: str) -> None:
    s, m = world.single_options, world.multi_options
    body = {
        "above": _single(world, 20, 11),  # 31 people, 30 present
        "negative": _single(world, -1, 3),
        "unknown_question": {"999999": {"1": 1}},
        "unknown_option": {str(world.single): {str(m[0]): 1}},
        "text": {str(world.text): {"x": 1}},
        "rating_key": {str(world.rating): {"r6": 1}},
    }[counts]
    with pytest.raises(AppError) as exc:
        _set(wdb, world, tree.ward_a1, admin, body)
    assert (exc.value.status_code, exc.value.code) == (422, "tally_invalid")
    assert exc.value.extra["field"] == field.format(
        single=world.single, o0=s[0], m0=m[0], text=world.text, rating=world.rating)
    wdb.rollback()
    assert wdb.exec(select(FormTally)).all() == []


def test_nobody_present_means_no_tally_above_zero(wdb: Session, tree: Tree, admin: User,
                                                  world: FormWorld) -> None:
    with pytest.raises(AppError) as exc:
        _set(wdb, world, tree.ward_b1, admin, _single(world, 1, 0))
    assert exc.value.code == "tally_invalid"
    assert _set(wdb, world, tree.ward_b1, admin, _single(world, 0, 0)).respondents == 0


def test_draft_form_takes_no_tally_a_closed_one_does(wdb: Session, tree: Tree, admin: User,
                                                    world: FormWorld) -> None:
    set_status(wdb, world.form_id, FormStatus.draft)
    with pytest.raises(AppError) as exc:
        _set(wdb, world, tree.ward_a1, admin, _single(world, 1, 1))
    assert (exc.value.status_code, exc.value.code) == (409, "form_not_open")
    set_status(wdb, world.form_id, FormStatus.closed)
    assert _set(wdb, world, tree.ward_a1, admin, _single(world, 1, 1)).respondents == 2


def test_only_the_sites_coordinators_or_the_central_office(
    wdb: Session, tree: Tree, admin: User, coordinator_a: User, world: FormWorld
) -> None:
    assert _set(wdb, world, tree.ward_a1, coordinator_a, _single(world, 1, 1)).respondents == 2
    with pytest.raises(AppError) as exc:
        _set(wdb, world, tree.ward_b1, coordinator_a, _single(world, 0, 0))
    assert (exc.value.status_code, exc.value.code) == (403, "site_out_of_scope")


def test_survey_tally(wdb: Session, tree: Tree, admin: User, world: FormWorld) -> None:
    survey = make_form(wdb, conference_id=tree.cid, kind=FormKind.survey)
    done = _set(wdb, survey, tree.ward_a1, admin, {str(survey.rating): {"r1": 3, "r5": 9}})
    assert done.respondents == 12


def test_api_put_and_get(client: TestClient, admin_headers: dict[str, str], tree: Tree,
                         world: FormWorld) -> None:
    url = f"/api/v1/forms/{world.form_id}/sites/{tree.ward_a1}/tally"
    empty = client.get(url, headers=admin_headers)
    assert empty.status_code == 200 and empty.json()["entered_at"] is None
    assert empty.json()["present"] == 30
    r = client.put(url, json={"counts": _single(world, 4, 6)}, headers=admin_headers)
    assert r.status_code == 200 and r.json()["respondents"] == 10
    assert client.get(url, headers=admin_headers).json()["counts"] == r.json()["counts"]
    bad = client.put(url, json={"counts": _single(world, 40, 6)}, headers=admin_headers)
    assert (bad.status_code, bad.json()["code"]) == (422, "tally_invalid")
    assert bad.json()["field"] == f"counts.{world.single}"


def test_the_page_without_script(client: TestClient, db: Session, tree: Tree,
                                 world: FormWorld) -> None:
    login(client, "admin", "admin-test-password")
    url = f"/sites/{tree.ward_a1}/forms/{world.form_id}/tally"
    page = client.get(url)
    assert page.status_code == 200 and 'name="q1_A"' in page.text and 'name="q3_r5"' in page.text
    assert 'name="q4_' not in page.text  # a text question cannot be counted
    token = csrf(client)
    r = client.post(url, data={"csrf_token": token, "q1_A": "3", "q1_B": "7", "q3_r5": "2"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    shown = client.get(r.headers["location"])
    assert "Đã lưu số liệu kiểm đếm" in shown.text and 'value="7"' in shown.text
    bad = client.post(url, data={"csrf_token": token, "q1_A": "-2"})
    assert bad.status_code == 422 and "số người phải từ 0" in bad.text.lower()
    wrong = client.post(url, data={"csrf_token": token, "q1_A": "abc"})
    assert wrong.status_code == 422
    db.rollback()
    row = db.exec(select(FormTally)).one()
    assert row.respondents == 10
    no_csrf = client.post(url, data={"q1_A": "1"})
    assert no_csrf.status_code == 403


def test_the_site_pages_link_finds_the_form(client: TestClient, wdb: Session, tree: Tree,
                                            admin: User) -> None:
    login(client, "admin", "admin-test-password")
    url = f"/sites/{tree.ward_a1}/forms/tally?conference_id={tree.cid}"
    none = client.get(url)
    assert none.status_code == 200 and 'id="no-form"' in none.text
    draft = make_form(wdb, conference_id=tree.cid, status=FormStatus.draft)
    assert 'id="no-form"' in client.get(url).text  # a draft is not tallied
    set_status(wdb, draft.form_id, FormStatus.closed)
    r = client.get(url, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/sites/{tree.ward_a1}/forms/{draft.form_id}/tally"
    site_page = client.get(f"/sites/{tree.ward_a1}?conference_id={tree.cid}")
    assert f'href="/sites/{tree.ward_a1}/forms/tally?conference_id={tree.cid}"' in site_page.text
