"""What answers and tallies add up to (checkin/form_results.py): phone answers and room
tallies counted together, the tally rules, per-site counts (SQLite and PostgreSQL)."""

from sqlmodel import Session

from app.accounts.models import User
from app.config import Settings
from checkin import answers, form_results, headcounts, tallies
from checkin.answer_links import site_answer_code
from checkin.answer_models import AnswerSubmit, TallySubmit
from sessions.form_bank import load_bank
from sessions.form_models import TrainingForm
from tests.checkin.forms_world import FormWorld, make_form
from tests.checkin.support import Roster
from tests.conftest import Tree


def _answer(db: Session, settings: Settings, world: FormWorld, n: int,
            items: list[dict[str, object]], **who: object) -> None:
    answers.submit(db, form_id=world.form_id, settings=settings, publish=None,
                   data=AnswerSubmit.model_validate(
                       {"nonce": f"nonce-{n:04}", "answers": items, **who}))


def test_phones_and_a_tally_add_up(wdb: Session, settings: Settings, tree: Tree,
                                   roster: Roster, admin: User) -> None:
    world = make_form(wdb, conference_id=tree.cid)
    _answer(wdb, settings, world, 1, world.right(), code=roster.an.short_code)
    _answer(wdb, settings, world, 2, world.half(), device="device-0002",
            site=site_answer_code(tree.ward_b1, settings))
    headcounts.report_headcount(wdb, site_id=tree.ward_a2, session_id=None,
                                counts={"dai_bieu": 10}, actor=admin, conference_id=tree.cid)
    s, m = world.single_options, world.multi_options
    tallies.set_tally(wdb, form_id=world.form_id, site_id=tree.ward_a2, actor=admin,
                      publish=None, data=TallySubmit(counts={
                          str(world.single): {str(s[0]): 4, str(s[1]): 6},
                          str(world.multi): {str(m[0]): 7, str(m[2]): 5},
                          str(world.rating): {"r2": 2, "r5": 2}}))
    result = form_results.form_results(wdb, form_id=world.form_id)
    assert (result.answers, result.tallied) == (2, 10)
    single, multi, rating, text = result.questions
    assert [o.count for o in single.options] == [4, 8, 0]
    assert (single.respondents, single.right, single.right_share) == (12, 8, 66.7)
    # A multiple choice in a tally is counted per option but never scored.
    assert [o.count for o in multi.options] == [9, 0, 6]
    assert (multi.respondents, multi.right) == (2, 1)
    assert rating.ratings == {4: 1, 2: 2, 5: 2} and rating.rating_mean == 3.6
    assert (text.texts, text.respondents) == (1, 1)
    assert form_results.counts_by_site(wdb, form_id=world.form_id) == {
        tree.ward_a1: 1, tree.ward_b1: 1, tree.ward_a2: 10}
    only_b1 = form_results.form_results(wdb, form_id=world.form_id, sites=[tree.ward_b1])
    assert (only_b1.answers, only_b1.tallied) == (1, 0)
    assert '"right_share":100.0' in only_b1.to_json()  # its single choice right


def test_the_tally_rules(wdb: Session, tree: Tree) -> None:
    world = make_form(wdb, conference_id=tree.cid)
    form = wdb.get(TrainingForm, world.form_id)
    assert form is not None
    bank = load_bank(wdb, bank_id=form.bank_id)
    s, m = world.single_options, world.multi_options
    counts = {str(world.single): {str(s[0]): 3, str(s[1]): 5},
              str(world.multi): {str(m[0]): 6, str(m[1]): 2}}
    single, multi = bank.questions[0], bank.questions[1]
    assert form_results.tally_question_respondents(single, counts[str(world.single)]) == 8
    assert form_results.tally_question_respondents(multi, counts[str(world.multi)]) == 6
    assert form_results.tally_respondents(bank, counts) == 8
    assert form_results.tally_right(bank, counts) == (5, 8)
    assert form_results.tally_respondents(bank, {}) == 0
