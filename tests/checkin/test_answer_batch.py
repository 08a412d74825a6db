"""Answers that queued together (group commit): one transaction, the same outcomes as
one by one, and one answer's failure stays with it."""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from app.audit import spool
from app.audit.context import Actor
from app.config import Settings
from app.errors import AppError
from checkin import answer_batch, answers
from checkin.answer_links import site_answer_code
from checkin.answer_models import AnswerSubmit, FormAnswer
from sessions import events
from tests.checkin.forms_world import FormWorld, make_form
from tests.checkin.support import CommitCounter, Roster, StatementCounter
from tests.conftest import Tree


@pytest.fixture
def world(wdb: Session, tree: Tree) -> FormWorld:
    return make_form(wdb, conference_id=tree.cid)


def _many(db: Session, settings: Settings, form_id: int, payloads: list[dict[str, Any]],
          published: list[Any] | None = None) -> list[Any]:
    def publish(channel: str, message: Any) -> None:
        if published is not None:
            published.append((channel, message))
    return answer_batch.submit_many(
        db, items=[(form_id, AnswerSubmit(**p)) for p in payloads], settings=settings,
        publish=publish)


def _stored(db: Session) -> int:
    db.rollback()
    return db.exec(select(func.count()).select_from(FormAnswer)).one()


def test_a_batch_gives_each_answer_its_own_outcome(
    wdb: Session, settings: Settings, tree: Tree, roster: Roster, world: FormWorld
) -> None:
    code, site = roster.an.short_code, site_answer_code(tree.ward_b1, settings)
    published: list[Any] = []
    out = _many(wdb, settings, world.form_id, [
        {"nonce": "nonce-0001", "code": code, "answers": world.right()},
        {"nonce": "nonce-0002", "device": "device-0002", "site": site,
         "answers": world.half()},
        {"nonce": "nonce-0001", "code": code, "answers": world.right()},  # a retry
        {"nonce": "nonce-0003", "code": code, "answers": world.right()},  # another phone
        {"nonce": "nonce-0004", "code": "KHONGCO1", "answers": world.right()},
        {"nonce": "nonce-0005", "device": "device-0005", "site": site,
         "answers": [{"question_id": world.single, "options": [999_999]}]},
    ], published)
    first, anonymous, retry = out[0], out[1], out[2]
    assert first.created and first.answer.score == 100.0
    assert anonymous.created and anonymous.answer.site_id == tree.ward_b1
    assert not retry.created and retry.answer.id == first.answer.id
    assert [e.code for e in out[3:]] == [
        "form_already_answered", "personal_code_wrong", "answer_invalid"]
    assert all(isinstance(e, AppError) for e in out[3:])
    assert _stored(wdb) == 2
    # Published after the COMMIT, once per new answer (not for the retry).
    assert published == [
        (events.form_channel(tree.cid),
         events.encode_form_answered(form_id=world.form_id, site_id=site_id))
        for site_id in (tree.ward_a1, tree.ward_b1)]


def test_a_batch_is_one_transaction_with_one_form_read(
    wdb: Session, engine: Engine, settings: Settings, tree: Tree, world: FormWorld
) -> None:
    site = site_answer_code(tree.ward_a1, settings)
    _many(wdb, settings, world.form_id, [  # the bank and the participation are kept
        {"nonce": "nonce-0000", "device": "device-0000", "site": site,
         "answers": world.right()}])
    with CommitCounter(engine) as commits, StatementCounter(engine) as counter:
        out = _many(wdb, settings, world.form_id, [
            {"nonce": f"nonce-{i:04}", "device": f"device-{i:04}", "site": site,
             "answers": world.right()} for i in range(1, 11)])
    assert all(a.created for a in out) and _stored(wdb) == 11
    assert commits.commits == 1  # one transaction for the ten
    said = [s.strip().split()[0].upper() for s in counter.statements]
    assert said.count("BEGIN") <= 1
    assert sum("training_form" in s and s.lstrip().upper().startswith("SELECT")
               for s in counter.statements) == 1  # the form is read once per batch
    # The form, one INSERT of the ten answers, one executemany of their choices (and
    # SQLite's BEGIN): nothing per answer.
    assert len(counter.statements) <= 4, counter.statements


def test_a_clash_is_told_apart_from_a_new_row_with_the_same_nonce(
    wdb: Session, settings: Settings, tree: Tree, roster: Roster, world: FormWorld
) -> None:
    an, binh = roster.an.short_code, roster.binh.short_code
    _many(wdb, settings, world.form_id, [
        {"nonce": "nonce-0001", "code": an, "answers": world.right()}])
    # An answers again from another phone with a nonce that Bình's phone also sends:
    # Bình's row is stored, An's clash must not be taken for it.
    out = _many(wdb, settings, world.form_id, [
        {"nonce": "nonce-0009", "code": an, "answers": world.right()},
        {"nonce": "nonce-0009", "code": binh, "answers": world.half()},
        {"nonce": "nonce-0009", "code": binh, "answers": world.half()},  # Bình's resend
    ])
    # Refused (409), not taken for Bình's row; the batch reads clashes after its INSERT,
    # so it sees the nonce taken by Bình's row.
    assert isinstance(out[0], AppError) and out[0].code == "nonce_reused"
    assert out[1].created and out[1].answer.score == 50.0
    assert not out[2].created and out[2].answer.id == out[1].answer.id
    assert _stored(wdb) == 2


@pytest.fixture
def boom(wdb: Session, engine: Engine) -> Iterator[None]:
    """A real database failure: the choice table refuses the text 'boom'."""
    if engine.dialect.name == "sqlite":
        make = ["CREATE TRIGGER boom BEFORE INSERT ON form_choice WHEN NEW.text = 'boom' "
                "BEGIN SELECT RAISE(ABORT, 'boom'); END"]
        drop = ["DROP TRIGGER boom"]
    else:
        make = ["CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN "
                "IF NEW.text = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; "
                "END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER boom BEFORE INSERT ON form_choice FOR EACH ROW "
                "EXECUTE FUNCTION boom()"]
        drop = ["DROP TRIGGER boom ON form_choice", "DROP FUNCTION boom()"]
    for statements in (make, None, drop):
        if statements is None:
            yield
            continue
        wdb.rollback()  # the test's session holds SQLite's write lock otherwise
        for statement in statements:
            wdb.execute(text(statement))
        wdb.commit()


def test_a_failure_stays_with_its_answer(
    wdb: Session, settings: Settings, tree: Tree, world: FormWorld, boom: None
) -> None:
    site = site_answer_code(tree.ward_a1, settings)

    def answer(i: int, words: str) -> dict[str, Any]:
        return {"nonce": f"nonce-{i:04}", "device": f"device-{i:04}", "site": site,
                "answers": [{"question_id": world.text, "text": words}]}
    published: list[Any] = []
    out = _many(wdb, settings, world.form_id,
                [answer(1, "tốt"), answer(2, "boom"), answer(3, "rất tốt")], published)
    assert out[0].created and out[2].created
    assert isinstance(out[1], Exception) and not isinstance(out[1], AppError)
    assert _stored(wdb) == 2  # the others were stored again, alone
    assert len(published) == 2


def test_each_answer_of_a_batch_is_counted_under_its_own_address(
    wdb: Session, settings: Settings, tree: Tree, world: FormWorld
) -> None:
    site = site_answer_code(tree.ward_a1, settings)
    counted = spool.spool_for(wdb.get_bind())
    counted.take()  # start from empty
    phones = [Actor(role="anonymous", address=f"10.0.0.{i}") for i in (1, 2)]
    answer_batch.submit_many(
        wdb, items=[(world.form_id, AnswerSubmit(
            nonce=f"nonce-000{i}", device=f"device-000{i}", site=site,
            answers=world.right())) for i in (1, 2)],
        settings=settings, publish=None, actors=phones)
    addresses = sorted(str(key[6]) for key in counted.take() if key[0] == answers.ANSWER_AUDIT)
    assert addresses == ["10.0.0.1", "10.0.0.2"]  # not the batch's (the system)
