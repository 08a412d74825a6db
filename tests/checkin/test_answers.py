"""A phone's answer to a form: every rule and code, exactly once under concurrency."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from app.accounts.models import User
from app.audit import spool
from app.config import Settings
from app.db import create_db_engine
from app.errors import AppError
from checkin import answers
from checkin.answer_links import site_answer_code
from checkin.answer_models import AnswerSubmit, FormAnswer, FormChoice
from endpoints import service as endpoints_service
from endpoints.models import ConferenceCreate, SiteCreate, SiteKind
from sessions import events
from sessions.form_models import FormKind, FormStatus
from tests.checkin.forms_world import FormWorld, make_form, set_status
from tests.checkin.support import Roster, StatementCounter
from tests.conftest import Tree


@pytest.fixture
def world(wdb: Session, tree: Tree) -> FormWorld:
    return make_form(wdb, conference_id=tree.cid)


def _submit(db: Session, settings: Settings, form_id: int, published: list[Any] | None = None,
            **data: Any) -> answers.Answered:
    def publish(channel: str, message: Any) -> None:
        if published is not None:
            published.append((channel, message))
    return answers.submit(db, form_id=form_id, data=AnswerSubmit(**data), settings=settings,
                          publish=publish)


def _code(exc: pytest.ExceptionInfo[AppError]) -> tuple[int, str]:
    return exc.value.status_code, exc.value.code


def _rows(db: Session) -> tuple[int, int]:
    db.rollback()
    return (db.exec(select(func.count()).select_from(FormAnswer)).one(),
            db.exec(select(func.count()).select_from(FormChoice)).one())


def test_signed_answer_is_scored_stored_and_published(
    wdb: Session, settings: Settings, tree: Tree, roster: Roster, world: FormWorld
) -> None:
    published: list[Any] = []
    done = _submit(wdb, settings, world.form_id, published, nonce="nonce-0001",
                   code=roster.an.short_code, answers=world.right())
    assert done.created and done.answer.signed
    assert (done.answer.scored, done.answer.correct, done.answer.score) == (2, 2, 100.0)
    assert done.answer.site_id == tree.ward_a1  # the attendee's own site
    assert published == [(events.form_channel(tree.cid),
                          events.encode_form_answered(form_id=world.form_id,
                                                      site_id=tree.ward_a1))]
    row = wdb.exec(select(FormAnswer)).one()
    assert row.attendee_id == roster.an.id and row.device is None
    choices = wdb.exec(select(FormChoice)).all()
    assert len(choices) == 5  # one + two options, a rating, a text
    assert {c.site_id for c in choices} == {tree.ward_a1}
    assert [c.text for c in choices if c.text] == ["Rất bổ ích"]


def test_half_right_scores_fifty(wdb: Session, settings: Settings, tree: Tree,
                                 world: FormWorld) -> None:
    done = _submit(wdb, settings, world.form_id, nonce="nonce-0001", device="device-0001",
                   site=site_answer_code(tree.ward_b1, settings), answers=world.half())
    assert (done.answer.scored, done.answer.correct, done.answer.score) == (2, 1, 50.0)
    assert not done.answer.signed and done.answer.site_id == tree.ward_b1


def test_site_code_wins_over_home_site(wdb: Session, settings: Settings, tree: Tree,
                                       roster: Roster, world: FormWorld) -> None:
    done = _submit(wdb, settings, world.form_id, nonce="nonce-0001", code=roster.an.short_code,
                   site=site_answer_code(tree.ward_b1, settings), answers=world.half())
    assert done.answer.site_id == tree.ward_b1


def test_retry_same_nonce_returns_the_stored_answer(
    wdb: Session, settings: Settings, tree: Tree, world: FormWorld
) -> None:
    site = site_answer_code(tree.ward_a1, settings)
    first = _submit(wdb, settings, world.form_id, nonce="nonce-0001", device="device-0001",
                    site=site, answers=world.half())
    published: list[Any] = []
    again = _submit(wdb, settings, world.form_id, published, nonce="nonce-0001",
                    device="device-0001", site=site, answers=world.right())
    assert not again.created and again.answer == first.answer
    assert published == []
    assert _rows(wdb) == (1, 2)


def test_same_device_twice_is_refused(wdb: Session, settings: Settings, tree: Tree,
                                      world: FormWorld) -> None:
    site = site_answer_code(tree.ward_a1, settings)
    _submit(wdb, settings, world.form_id, nonce="nonce-0001", device="device-0001", site=site,
            answers=world.half())
    with pytest.raises(AppError) as exc:
        _submit(wdb, settings, world.form_id, nonce="nonce-0002", device="device-0001",
                site=site, answers=world.right())
    assert _code(exc) == (409, "form_already_answered")
    assert _rows(wdb) == (1, 2)


def test_same_attendee_from_another_phone_is_refused(
    wdb: Session, settings: Settings, roster: Roster, world: FormWorld
) -> None:
    _submit(wdb, settings, world.form_id, nonce="nonce-0001", code=roster.an.short_code,
            device="device-0001", answers=world.half())
    with pytest.raises(AppError) as exc:
        _submit(wdb, settings, world.form_id, nonce="nonce-0002", code=roster.an.short_code,
                device="device-0002", answers=world.half())
    assert _code(exc) == (409, "form_already_answered")
    # A shared phone answers for someone else: signed answers are not once per device.
    other = _submit(wdb, settings, world.form_id, nonce="nonce-0003",
                    code=roster.binh.short_code, device="device-0001", answers=world.half())
    assert other.created


def test_nonce_of_someone_else_is_refused(wdb: Session, settings: Settings, tree: Tree,
                                          roster: Roster, world: FormWorld) -> None:
    _submit(wdb, settings, world.form_id, nonce="nonce-0001", code=roster.an.short_code,
            answers=world.half())
    with pytest.raises(AppError) as exc:
        _submit(wdb, settings, world.form_id, nonce="nonce-0001", code=roster.binh.short_code,
                answers=world.half())
    assert _code(exc) == (409, "nonce_reused")
    assert _rows(wdb) == (1, 2)


@pytest.mark.parametrize(("status", "code"), [(FormStatus.draft, "form_not_open"),
                                              (FormStatus.closed, "form_closed")])
def test_not_open_form_takes_nothing(wdb: Session, settings: Settings, roster: Roster,
                                     world: FormWorld, status: FormStatus, code: str) -> None:
    set_status(wdb, world.form_id, status)
    with pytest.raises(AppError) as exc:
        _submit(wdb, settings, world.form_id, nonce="nonce-0001", code=roster.an.short_code,
                answers=world.right())
    assert _code(exc) == (409, code)
    assert _rows(wdb) == (0, 0)


def test_closing_stops_answers_at_once(wdb: Session, engine: Engine, settings: Settings,
                                       roster: Roster, world: FormWorld) -> None:
    _submit(wdb, settings, world.form_id, nonce="nonce-0001", code=roster.an.short_code,
            answers=world.right())  # the bank is now kept in memory
    with Session(engine) as other:  # another worker closes the form
        set_status(other, world.form_id, FormStatus.closed)
    with pytest.raises(AppError) as exc:
        _submit(wdb, settings, world.form_id, nonce="nonce-0002", code=roster.binh.short_code,
                answers=world.right())
    assert _code(exc) == (409, "form_closed")
    assert _rows(wdb)[0] == 1


def test_unknown_form(wdb: Session, settings: Settings, world: FormWorld) -> None:
    with pytest.raises(AppError) as exc:
        _submit(wdb, settings, world.form_id + 99, nonce="nonce-0001", device="device-0001",
                answers=world.right())
    assert _code(exc) == (404, "form_not_found")


@pytest.mark.parametrize("bad", [
    [{"question_id": 999_999, "options": [1]}],
    [],
    "single-two",
    "rating-on-choice",
])
def test_invalid_answer_stores_nothing(wdb: Session, settings: Settings, roster: Roster,
                                       world: FormWorld, bad: Any) -> None:
    if bad == "single-two":
        bad = [{"question_id": world.single, "options": world.single_options[:2]}]
    elif bad == "rating-on-choice":
        bad = [{"question_id": world.single, "rating": 3}]
    with pytest.raises(AppError) as exc:
        _submit(wdb, settings, world.form_id, nonce="nonce-0001", code=roster.an.short_code,
                answers=bad)
    assert _code(exc) == (422, "answer_invalid")
    assert _rows(wdb) == (0, 0)


def test_wrong_personal_code(wdb: Session, settings: Settings, roster: Roster,
                             world: FormWorld) -> None:
    with pytest.raises(AppError) as exc:
        _submit(wdb, settings, world.form_id, nonce="nonce-0001", code="ZZZZZZZZ",
                answers=world.right())
    assert _code(exc) == (403, "personal_code_wrong")
    assert _rows(wdb) == (0, 0)


def test_anonymous_needs_a_device_and_a_site(wdb: Session, settings: Settings, tree: Tree,
                                             world: FormWorld) -> None:
    with pytest.raises(AppError) as exc:
        _submit(wdb, settings, world.form_id, nonce="nonce-0001",
                site=site_answer_code(tree.ward_a1, settings), answers=world.right())
    assert _code(exc) == (422, "answer_invalid")
    with pytest.raises(AppError) as exc:
        _submit(wdb, settings, world.form_id, nonce="nonce-0001", device="device-0001",
                answers=world.right())
    assert _code(exc) == (422, "answer_site_unknown")
    forged = site_answer_code(tree.ward_a1, settings)[:-1] + "A"
    forged = forged if forged != site_answer_code(tree.ward_a1, settings) else forged[:-1] + "B"
    with pytest.raises(AppError) as exc:
        _submit(wdb, settings, world.form_id, nonce="nonce-0001", device="device-0001",
                site=forged, answers=world.right())
    assert _code(exc) == (422, "answer_site_unknown")
    assert _rows(wdb) == (0, 0)


def test_site_outside_the_conference(wdb: Session, settings: Settings, admin: User,
                                     tree: Tree, world: FormWorld) -> None:
    other = endpoints_service.create_conference(
        wdb, data=ConferenceCreate(title="Hội nghị khác", starts_on=tree.conference.starts_on,
                                   ends_on=tree.conference.ends_on), actor=admin)
    assert other.id is not None
    site = endpoints_service.create_site(
        wdb, conference_id=other.id,
        data=SiteCreate(name="Điểm cầu khác", kind=SiteKind.central, code="KHAC"), actor=admin)
    assert site.site.id is not None
    with pytest.raises(AppError) as exc:
        _submit(wdb, settings, world.form_id, nonce="nonce-0001", device="device-0001",
                site=site_answer_code(site.site.id, settings), answers=world.right())
    assert _code(exc) == (404, "site_not_in_conference")
    assert _rows(wdb) == (0, 0)


def test_answers_are_counted_in_the_audit_spool(wdb: Session, settings: Settings,
                                                roster: Roster, world: FormWorld) -> None:
    counted = spool.spool_for(wdb.get_bind())
    before = counted.pending()
    _submit(wdb, settings, world.form_id, nonce="nonce-0001", code=roster.an.short_code,
            answers=world.right())
    assert counted.pending() == before + 1


def test_survey_is_not_scored(wdb: Session, settings: Settings, tree: Tree,
                              roster: Roster) -> None:
    survey = make_form(wdb, conference_id=tree.cid, kind=FormKind.survey)
    done = _submit(wdb, settings, survey.form_id, nonce="nonce-0001",
                   code=roster.an.short_code, answers=survey.right())
    assert (done.answer.scored, done.answer.score) == (0, None)


# ------------------------------------------------------------------ concurrency


def _race(settings: Settings, form_id: int, payloads: list[dict[str, Any]]) -> tuple[
        Counter[str], int]:
    engine = create_db_engine(settings.database_url, pool_size=len(payloads))
    barrier = threading.Barrier(len(payloads))

    def one(data: dict[str, Any]) -> str:
        barrier.wait(timeout=30)
        with Session(engine, expire_on_commit=False) as db:
            try:
                done = _submit(db, settings, form_id, **data)
                return "201" if done.created else "200"
            except AppError as exc:
                return exc.code
            except Exception as exc:  # anything else would be a 500
                return f"crash:{type(exc).__name__}:{exc}"
    try:
        with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
            outcomes = Counter(pool.map(one, payloads))
        with Session(engine) as db:
            rows = db.exec(select(func.count()).select_from(FormAnswer)).one()
    finally:
        engine.dispose()
    return outcomes, rows


def test_one_attendee_from_eight_phones_at_once(wdb: Session, settings: Settings,
                                                roster: Roster, world: FormWorld) -> None:
    code = roster.an.short_code
    wdb.rollback()
    outcomes, rows = _race(settings, world.form_id, [
        {"nonce": f"nonce-{i:04}", "code": code, "device": f"device-{i:04}",
         "answers": world.right()} for i in range(8)])
    assert outcomes == {"201": 1, "form_already_answered": 7}
    assert rows == 1


def test_same_nonce_eight_times_at_once(wdb: Session, settings: Settings, roster: Roster,
                                        world: FormWorld) -> None:
    code = roster.an.short_code
    wdb.rollback()
    outcomes, rows = _race(settings, world.form_id, [
        {"nonce": "nonce-same", "code": code, "answers": world.right()} for _ in range(8)])
    assert outcomes == {"201": 1, "200": 7}
    assert rows == 1


def test_one_anonymous_phone_eight_times_at_once(wdb: Session, settings: Settings, tree: Tree,
                                                 world: FormWorld) -> None:
    site = site_answer_code(tree.ward_a1, settings)
    wdb.rollback()
    outcomes, rows = _race(settings, world.form_id, [
        {"nonce": f"nonce-{i:04}", "device": "device-same", "site": site,
         "answers": world.half()} for i in range(8)])
    assert outcomes == {"201": 1, "form_already_answered": 7}
    assert rows == 1


def test_the_hot_path_is_a_handful_of_statements(
    wdb: Session, engine: Engine, settings: Settings, tree: Tree, roster: Roster,
    world: FormWorld
) -> None:
    site = site_answer_code(tree.ward_a1, settings)
    _submit(wdb, settings, world.form_id, nonce="nonce-0001", device="device-0001",
            site=site, answers=world.right())  # the bank is kept from here on
    with StatementCounter(engine) as anonymous:
        _submit(wdb, settings, world.form_id, nonce="nonce-0002", device="device-0002",
                site=site, answers=world.right())
    with StatementCounter(engine) as signed:
        _submit(wdb, settings, world.form_id, nonce="nonce-0003", code=roster.an.short_code,
                answers=world.right())
    reads = [s for s in anonymous.statements if "bank_question" in s or "bank_option" in s]
    assert reads == []  # no read of the bank per answer
    # The form, the participation, the INSERT, the choices (one executemany), the COMMIT
    # (and SQLite's BEGIN IMMEDIATE); a personal code adds its attendee.
    assert len(anonymous.statements) <= 6, anonymous.statements
    assert len(signed.statements) <= 7, signed.statements


def test_a_clash_is_read_through_the_unique_keys_not_a_scan(
    wdb: Session, engine: Engine
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the query plan checked is SQLite's (the embedded default)")
    for key, value in (("attendee_id", 7), ("device", "device-0001")):
        query = answers._EARLIER[key].compile(dialect=engine.dialect)
        params = query.construct_params({"form_id": 1, "nonce": "nonce-0001", key: value})
        plan = wdb.connection().exec_driver_sql(
            f"EXPLAIN QUERY PLAN {query}", tuple(params[p] for p in query.positiontup or ())
        ).all()
        steps = [row[-1] for row in plan if "form_answer" in row[-1]]
        # Two point lookups on the unique keys, not a read of the form's answers.
        assert len(steps) == 2 and all("INDEX" in s for s in steps), steps
        assert any("nonce=?" in s for s in steps), steps
        assert any(f"{key}=?" in s for s in steps), steps
