"""The one check and score of an answer (sessions/form_bank.py): every refusal names the
question; a single choice is right with its one option, a multiple choice with exactly
its correct set; a left-out question is wrong; surveys are not scored. The form is read
on every call, its bank kept once opened (SQLite and PostgreSQL)."""

import pytest
from sqlmodel import Session

from app.errors import AppError
from sessions import form_bank
from sessions.form_bank import AnswerItem, BankView, OptionView, QuestionView, check_answer
from sessions.form_models import BankQuestion, FormKind, FormStatus, QuestionKind
from tests.checkin.forms_world import make_form, set_status
from tests.conftest import Tree

SINGLE, MULTI, RATING, TEXT = 1, 2, 3, 4
BANK = BankView(9, (
    QuestionView(SINGLE, 1, QuestionKind.single, "Một", (
        OptionView(11, 1, "A", False), OptionView(12, 2, "B", True),
        OptionView(13, 3, "C", False))),
    QuestionView(MULTI, 2, QuestionKind.multi, "Nhiều", (
        OptionView(21, 1, "A", True), OptionView(22, 2, "B", False),
        OptionView(23, 3, "C", True))),
    QuestionView(RATING, 3, QuestionKind.rating, "Đánh giá", ()),
    QuestionView(TEXT, 4, QuestionKind.text, "Ý kiến", ()),
))


def _check(*items: AnswerItem, kind: FormKind = FormKind.pretest) -> form_bank.Checked:
    return check_answer(BANK, kind=kind, items=items)


def test_scores_right_wrong_and_left_out() -> None:
    right = _check(AnswerItem(SINGLE, (12,)), AnswerItem(MULTI, (23, 21)))
    assert (right.scored, right.correct, right.score) == (2, 2, 100.0)
    half = _check(AnswerItem(SINGLE, (12,)), AnswerItem(MULTI, (21,)))  # a subset: wrong
    assert (half.correct, half.score) == (1, 50.0)
    extra = _check(AnswerItem(SINGLE, (11,)), AnswerItem(MULTI, (21, 22, 23)))
    assert extra.correct == 0
    left_out = _check(AnswerItem(SINGLE, (12,)), AnswerItem(RATING, rating=5))
    assert (left_out.scored, left_out.correct, left_out.score) == (2, 1, 50.0)


def test_rows_of_an_answer() -> None:
    done = _check(AnswerItem(MULTI, (21, 21, 23)), AnswerItem(RATING, rating=4),
                  AnswerItem(TEXT, text="  Rất hay  "), AnswerItem(SINGLE, ()))
    assert [(p.question_id, p.option_id, p.rating, p.text) for p in done.picked] == [
        (MULTI, 21, None, None), (MULTI, 23, None, None), (RATING, None, 4, None),
        (TEXT, None, None, "Rất hay")]


def test_a_survey_is_not_scored() -> None:
    done = _check(AnswerItem(SINGLE, (12,)), kind=FormKind.survey)
    assert (done.scored, done.correct, done.score) == (0, 0, None)


@pytest.mark.parametrize(("items", "where"), [
    ((AnswerItem(99, (1,)),), None),
    ((AnswerItem(SINGLE, (21,)),), SINGLE),
    ((AnswerItem(SINGLE, (11, 12)),), SINGLE),
    ((AnswerItem(SINGLE, (12,)), AnswerItem(SINGLE, (12,))), SINGLE),
    ((AnswerItem(SINGLE, (12,), rating=3),), SINGLE),
    ((AnswerItem(RATING, rating=6),), RATING),
    ((AnswerItem(RATING, rating=0),), RATING),
    ((AnswerItem(RATING, text="năm"),), RATING),
    ((AnswerItem(RATING, (11,)),), RATING),
    ((AnswerItem(TEXT, rating=2),), TEXT),
    ((), None),
    ((AnswerItem(TEXT, text="   "),), None),
    ((AnswerItem(TEXT, text="a\x00b"),), TEXT),
    ((AnswerItem(TEXT, text="x" * 501),), TEXT),
])
def test_refusals_name_the_question(items: tuple[AnswerItem, ...], where: int | None) -> None:
    with pytest.raises(AppError) as exc:
        _check(*items)
    assert (exc.value.status_code, exc.value.code) == (422, "answer_invalid")
    assert exc.value.extra.get("question_id") == where


def test_the_form_is_read_each_time_its_bank_once_opened(db: Session, tree: Tree) -> None:
    made = make_form(db, conference_id=tree.cid, status=FormStatus.draft)
    form, bank = form_bank.form_for_answers(db, form_id=made.form_id)
    with pytest.raises(AppError) as exc:
        form_bank.require_open(form)
    assert exc.value.code == "form_not_open"
    question = db.get(BankQuestion, made.text)
    assert question is not None
    question.text = "Ý kiến khác"  # a draft's bank may still change: not kept
    db.add(question)
    db.commit()
    set_status(db, made.form_id, FormStatus.open)
    form, bank = form_bank.form_for_answers(db, form_id=made.form_id)
    form_bank.require_open(form)
    assert bank.questions[3].text == "Ý kiến khác"
    set_status(db, made.form_id, FormStatus.closed)
    form, kept = form_bank.form_for_answers(db, form_id=made.form_id)
    assert kept is bank  # the bank from memory, the status from the row
    with pytest.raises(AppError) as exc:
        form_bank.require_open(form)
    assert exc.value.code == "form_closed"
    with pytest.raises(AppError) as exc:
        form_bank.form_for_answers(db, form_id=made.form_id + 100)
    assert exc.value.code == "form_not_found"
