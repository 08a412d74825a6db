"""Writing training forms (sessions/forms.py): banks and forms, every rule and its code,
central office only, on SQLite and PostgreSQL."""

import pytest
from sqlmodel import Session, select

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.errors import AppError
from endpoints import service as endpoints_service
from endpoints.models import ConferenceCreate
from sessions import form_bank, forms
from sessions.form_models import (
    BankOption,
    BankQuestion,
    FormCreate,
    FormKind,
    FormStatus,
    FormUpdate,
    QuestionBank,
    TrainingForm,
)
from tests.conftest import Tree
from tests.sessions.form_support import bank_data, make_session, open_form, quiz_bank, survey_bank


def _code(exc: pytest.ExceptionInfo[AppError]) -> str:
    return exc.value.code


def test_a_bank_is_written_in_order_with_letters_and_answers(
    db: Session, tree: Tree, admin: User
) -> None:
    bank = forms.create_bank(db, conference_id=tree.cid, data=bank_data(quiz_bank()), actor=admin)
    assert bank.id is not None
    shown = forms.get_bank(db, bank_id=bank.id, actor=admin)
    assert [q.position for q in shown.questions] == [1, 2]
    first = shown.questions[0]
    assert [(o.letter, o.label, o.correct) for o in first.options] == [
        ("A", "Thiết bị", False), ("B", "Con người", True), ("C", "Phần mềm", False)]
    listed = forms.list_banks(db, conference_id=tree.cid, actor=admin)
    assert [(b.title, b.questions, b.forms, b.locked) for b in listed] == [
        ("Kiểm tra chuyển đổi số", 2, 0, False)]
    db.expire_all()
    logged = {e.object_type for e in db.exec(select(AuditEntry)).all()}
    assert {"question_bank", "bank_question", "bank_option"} <= logged


@pytest.mark.parametrize("question", [
    {"kind": "single", "text": "Một phương án", "options": [{"label": "A"}]},
    {"kind": "multi", "text": "Mười một", "options": [{"label": str(n)} for n in range(11)]},
    {"kind": "multi", "text": "Trùng", "options": [{"label": "Có"}, {"label": "có"}]},
    {"kind": "rating", "text": "Đánh giá", "options": [{"label": "Tốt"}, {"label": "Kém"}]},
    {"kind": "text", "text": "Ý kiến", "options": [{"label": "x"}, {"label": "y"}]},
    {"kind": "single", "text": "Hai đáp án", "options": [
        {"label": "A", "correct": True}, {"label": "B", "correct": True}]},
])
def test_a_question_that_does_not_fit_its_kind_is_refused(
    db: Session, tree: Tree, admin: User, question: dict[str, object]
) -> None:
    raw = quiz_bank()
    raw["questions"].append(question)
    with pytest.raises(AppError) as exc:
        forms.create_bank(db, conference_id=tree.cid, data=bank_data(raw), actor=admin)
    assert _code(exc) == "question_invalid" and exc.value.status_code == 422
    assert exc.value.detail.startswith("Câu 3:")
    assert db.exec(select(QuestionBank)).all() == []


def test_only_the_central_office_writes_or_reads_banks_and_forms(
    db: Session, tree: Tree, admin: User, coordinator_a: User
) -> None:
    with pytest.raises(AppError) as exc:
        forms.create_bank(db, conference_id=tree.cid, data=bank_data(quiz_bank()),
                          actor=coordinator_a)
    assert _code(exc) == "admin_only"
    bank = forms.create_bank(db, conference_id=tree.cid, data=bank_data(quiz_bank()), actor=admin)
    assert bank.id is not None
    for call in (
        lambda: forms.get_bank(db, bank_id=bank.id or 0, actor=coordinator_a),
        lambda: forms.list_banks(db, conference_id=tree.cid, actor=coordinator_a),
        lambda: forms.delete_bank(db, bank_id=bank.id or 0, actor=coordinator_a),
    ):
        with pytest.raises(AppError) as exc:
            call()
        assert _code(exc) == "admin_only"


def test_a_test_form_needs_scored_choice_questions(db: Session, tree: Tree, admin: User) -> None:
    sid = make_session(db, tree, admin)
    survey = forms.create_bank(db, conference_id=tree.cid, data=bank_data(survey_bank()),
                               actor=admin)
    assert survey.id is not None
    with pytest.raises(AppError) as exc:
        forms.create_form(db, session_id=sid, actor=admin, data=FormCreate(
            kind=FormKind.pretest, title="Đầu vào", bank_id=survey.id))
    assert _code(exc) == "bank_not_a_test" and exc.value.detail.startswith("Câu 1:")
    no_answer = quiz_bank()
    no_answer["questions"][1]["options"][0]["correct"] = False
    no_answer["questions"][1]["options"][1]["correct"] = False
    unanswered = forms.create_bank(db, conference_id=tree.cid, data=bank_data(no_answer),
                                   actor=admin)
    with pytest.raises(AppError) as exc:
        forms.create_form(db, session_id=sid, actor=admin, data=FormCreate(
            kind=FormKind.posttest, title="Đầu ra", bank_id=unanswered.id or 0))
    assert _code(exc) == "bank_not_a_test" and "Câu 2" in exc.value.detail
    assert db.exec(select(TrainingForm)).all() == []


def test_a_survey_marks_nothing_correct_and_an_empty_bank_asks_nothing(
    db: Session, tree: Tree, admin: User
) -> None:
    sid = make_session(db, tree, admin)
    quiz = forms.create_bank(db, conference_id=tree.cid, data=bank_data(quiz_bank()), actor=admin)
    with pytest.raises(AppError) as exc:
        forms.create_form(db, session_id=sid, actor=admin, data=FormCreate(
            kind=FormKind.survey, title="Khảo sát", bank_id=quiz.id or 0))
    assert _code(exc) == "bank_not_a_survey" and exc.value.detail.startswith("Câu 1:")
    empty = forms.create_bank(db, conference_id=tree.cid, actor=admin,
                              data=bank_data({"title": "Trống"}))
    with pytest.raises(AppError) as exc:
        forms.create_form(db, session_id=sid, actor=admin, data=FormCreate(
            kind=FormKind.survey, title="Khảo sát", bank_id=empty.id or 0))
    assert _code(exc) == "bank_empty"


def test_a_form_asks_a_bank_of_its_own_conference(db: Session, tree: Tree, admin: User) -> None:
    sid = make_session(db, tree, admin)
    other = endpoints_service.create_conference(db, actor=admin, data=ConferenceCreate(
        title="Hội nghị khác", starts_on=tree.conference.starts_on,
        ends_on=tree.conference.ends_on))
    assert other.id is not None
    foreign = forms.create_bank(db, conference_id=other.id, data=bank_data(quiz_bank()),
                                actor=admin)
    with pytest.raises(AppError) as exc:
        forms.create_form(db, session_id=sid, actor=admin, data=FormCreate(
            kind=FormKind.pretest, title="Đầu vào", bank_id=foreign.id or 0))
    assert _code(exc) == "bank_not_in_conference"
    with pytest.raises(AppError) as exc:
        forms.create_form(db, session_id=sid, actor=admin, data=FormCreate(
            kind=FormKind.pretest, title="Đầu vào", bank_id=999_999))
    assert _code(exc) == "bank_not_found"


def test_a_pretest_and_a_posttest_share_a_bank_and_drafts_are_renamed_or_deleted(
    db: Session, tree: Tree, admin: User
) -> None:
    sid = make_session(db, tree, admin)
    bank = forms.create_bank(db, conference_id=tree.cid, data=bank_data(quiz_bank()), actor=admin)
    pre = forms.create_form(db, session_id=sid, actor=admin, data=FormCreate(
        kind=FormKind.pretest, title="Đầu vào", bank_id=bank.id or 0))
    post = forms.create_form(db, session_id=sid, actor=admin, data=FormCreate(
        kind=FormKind.posttest, title="Đầu ra", bank_id=bank.id or 0))
    assert pre.status == FormStatus.draft
    assert [f.title for f in forms.list_forms(db, session_id=sid, actor=admin)] == [
        "Đầu vào", "Đầu ra"]
    forms.rename_form(db, form_id=post.id or 0, actor=admin,
                      data=FormUpdate(title="Kiểm tra cuối khoá"))
    assert forms.get_form(db, form_id=post.id or 0, actor=admin).title == "Kiểm tra cuối khoá"
    forms.delete_form(db, form_id=post.id or 0, actor=admin)
    assert [f.id for f in forms.list_forms(db, session_id=sid, actor=admin)] == [pre.id]
    assert forms.list_banks(db, conference_id=tree.cid, actor=admin)[0].forms == 1


def test_an_opened_form_locks_itself_and_its_bank(db: Session, tree: Tree, admin: User) -> None:
    sid = make_session(db, tree, admin)
    bank = forms.create_bank(db, conference_id=tree.cid, data=bank_data(quiz_bank()), actor=admin)
    bid = bank.id or 0
    form = forms.create_form(db, session_id=sid, actor=admin, data=FormCreate(
        kind=FormKind.pretest, title="Đầu vào", bank_id=bid))
    with pytest.raises(AppError) as exc:
        forms.delete_bank(db, bank_id=bid, actor=admin)  # a draft form still asks it
    assert _code(exc) == "bank_in_use" and exc.value.status_code == 409
    open_form(db, form.id or 0)
    before = forms.get_bank(db, bank_id=bid, actor=admin)
    with pytest.raises(AppError) as exc:
        forms.replace_bank(db, bank_id=bid, data=bank_data(quiz_bank("Khác")), actor=admin)
    assert _code(exc) == "bank_in_use"
    with pytest.raises(AppError) as exc:
        forms.delete_bank(db, bank_id=bid, actor=admin)
    assert _code(exc) == "bank_in_use"
    for call in (lambda: forms.rename_form(db, form_id=form.id or 0, actor=admin,
                                           data=FormUpdate(title="Mới")),
                 lambda: forms.delete_form(db, form_id=form.id or 0, actor=admin)):
        with pytest.raises(AppError) as exc:
            call()
        assert _code(exc) == "form_not_draft" and exc.value.status_code == 409
    db.expire_all()
    assert forms.get_bank(db, bank_id=bid, actor=admin) == before
    assert forms.list_banks(db, conference_id=tree.cid, actor=admin)[0].locked


def test_replacing_a_bank_keeps_its_draft_forms_fitting_and_forgets_the_cached_copy(
    db: Session, tree: Tree, admin: User
) -> None:
    sid = make_session(db, tree, admin)
    bank = forms.create_bank(db, conference_id=tree.cid, data=bank_data(quiz_bank()), actor=admin)
    bid = bank.id or 0
    forms.create_form(db, session_id=sid, actor=admin, data=FormCreate(
        kind=FormKind.pretest, title="Đầu vào", bank_id=bid))
    with pytest.raises(AppError) as exc:  # the pre-test would ask a rating question
        forms.replace_bank(db, bank_id=bid, data=bank_data(survey_bank()), actor=admin)
    assert _code(exc) == "bank_not_a_test"
    kept = forms.get_bank(db, bank_id=bid, actor=admin).questions
    assert kept[0].text == "Chuyển đổi số bắt đầu từ đâu?" and len(kept) == 2
    form_bank._banks(db.get_bind())[bid] = form_bank.load_bank(db, bank_id=bid)
    changed = quiz_bank("Kiểm tra (sửa)")
    changed["questions"] = changed["questions"][:1]
    forms.replace_bank(db, bank_id=bid, data=bank_data(changed), actor=admin)
    assert bid not in form_bank._banks(db.get_bind())
    shown = forms.get_bank(db, bank_id=bid, actor=admin)
    assert shown.title == "Kiểm tra (sửa)" and len(shown.questions) == 1
    assert len(db.exec(select(BankQuestion)).all()) == 1
    assert len(db.exec(select(BankOption)).all()) == 3


def test_a_bank_no_form_asks_is_deleted_with_its_questions(
    db: Session, tree: Tree, admin: User
) -> None:
    bank = forms.create_bank(db, conference_id=tree.cid, data=bank_data(quiz_bank()), actor=admin)
    forms.delete_bank(db, bank_id=bank.id or 0, actor=admin)
    assert db.exec(select(QuestionBank)).all() == []
    assert db.exec(select(BankQuestion)).all() == [] and db.exec(select(BankOption)).all() == []
    with pytest.raises(AppError) as exc:
        forms.get_bank(db, bank_id=bank.id or 0, actor=admin)
    assert _code(exc) == "bank_not_found"
