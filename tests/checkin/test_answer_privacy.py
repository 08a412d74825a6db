"""An attendee's form answers as personal data: in their data (and its CSV export),
unlinked with their texts deleted on erasure (the counts stay), texts blanked by the
retention purge (SQLite and PostgreSQL)."""

from typing import Any

from sqlmodel import Session, select

from app.accounts.models import User
from app.config import Settings
from checkin import answer_privacy, answers, retention, rights
from checkin.anonymise import anonymise
from checkin.answer_links import site_answer_code
from checkin.answer_models import AnswerSubmit, FormAnswer, FormChoice
from checkin.form_results import form_results
from tests.checkin.forms_world import FormWorld, make_form
from tests.checkin.support import Roster
from tests.checkin.test_retention import DUE_DAY
from tests.conftest import Tree


def _answer(db: Session, settings: Settings, world: FormWorld, n: int, **who: Any) -> None:
    answers.submit(db, form_id=world.form_id, settings=settings, publish=None,
                   data=AnswerSubmit.model_validate(
                       {"nonce": f"nonce-{n:04}", "answers": world.right(), **who}))


def _arrange(wdb: Session, settings: Settings, tree: Tree, roster: Roster) -> FormWorld:
    world = make_form(wdb, conference_id=tree.cid)
    _answer(wdb, settings, world, 1, code=roster.an.short_code)
    _answer(wdb, settings, world, 2, device="device-0002",
            site=site_answer_code(tree.ward_a1, settings))
    return world


def test_the_attendees_answers_are_in_their_data(wdb: Session, settings: Settings,
                                                 tree: Tree, roster: Roster) -> None:
    _arrange(wdb, settings, tree, roster)
    data = rights.personal_data(wdb, attendee=roster.an, whole_phone=True)
    assert [(a.question, a.answer) for a in data.answers] == [
        ("Kiểm tra đầu vào", "Điểm 100/100 (2/2 câu đúng)"),
        ("Kiểm tra đầu vào: trả lời ngắn", "Rất bổ ích")]
    rows = list(rights.csv_rows(data))
    assert ("Câu trả lời", "Kiểm tra đầu vào: trả lời ngắn", "Rất bổ ích") in [
        r[:3] for r in rows]
    other = rights.personal_data(wdb, attendee=roster.binh, whole_phone=True)
    assert other.answers == []  # the anonymous phone's answer is nobody's


def test_erasure_unlinks_answers_and_deletes_their_texts(
    wdb: Session, settings: Settings, tree: Tree, roster: Roster
) -> None:
    world = _arrange(wdb, settings, tree, roster)
    before = form_results(wdb, form_id=world.form_id)
    anonymise(wdb, attendee_ids=[roster.an.id or 0])
    wdb.commit()
    assert wdb.exec(select(FormAnswer).where(FormAnswer.attendee_id == roster.an.id)).all() == []
    assert len(wdb.exec(select(FormAnswer)).all()) == 2
    texts = [c.text for c in wdb.exec(select(FormChoice)).all() if c.text is not None]
    assert texts == ["Rất bổ ích"]  # the anonymous phone's text stays
    after = form_results(wdb, form_id=world.form_id)
    assert after.answers == before.answers == 2
    assert [o.count for o in after.questions[0].options] == [
        o.count for o in before.questions[0].options]
    assert rights.personal_data(wdb, attendee=roster.an, whole_phone=True).answers == []


def test_the_purge_blanks_the_texts(wdb: Session, settings: Settings, tree: Tree,
                                     roster: Roster, admin: User) -> None:
    world = _arrange(wdb, settings, tree, roster)
    plan = retention.purge_plan(wdb, conference_id=tree.cid, today=DUE_DAY)
    assert plan.answer_texts == 1  # the attendee's text goes with their identity
    report = retention.purge(wdb, conference_id=tree.cid, today=DUE_DAY)
    assert report.answer_texts == 1
    wdb.rollback()
    texts = [c.text for c in wdb.exec(select(FormChoice)).all() if c.text is not None]
    assert texts == [""]
    assert answer_privacy.texts_to_purge(wdb, conference_id=tree.cid) == 0
    assert wdb.exec(select(FormAnswer).where(FormAnswer.attendee_id.is_not(None))  # type: ignore[union-attr]
                    ).all() == []
    assert form_results(wdb, form_id=world.form_id).answers == 2
