"""The pages of writing training forms (sessions/form_pages.py), posted as plain forms
without JavaScript and with the login-bound CSRF field: banks, the editor, the import
with its line errors and templates, a session's forms (SQLite and PostgreSQL)."""

import io
from typing import Any

import openpyxl
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import User
from sessions import forms
from sessions.form_pages import read_editor
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.support import csrf, login, post
from tests.sessions.form_support import bank_data, make_session, open_form, quiz_bank, survey_bank


def _send(client: TestClient, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, data={**data, "csrf_token": csrf(client)}, follow_redirects=False)


def test_a_bank_is_made_and_edited_without_javascript(
    client: TestClient, db: Session, tree: Tree, admin: User
) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    page = client.get(f"/conferences/{tree.cid}/banks")
    assert page.status_code == 200 and 'id="no-banks"' in page.text
    forged = client.post(f"/conferences/{tree.cid}/banks", data={"title": "Bộ A",
                                                               "csrf_token": "forged"})
    assert forged.status_code == 403 and forged.text.count("csrf_failed")
    r = post(client, f"/conferences/{tree.cid}/banks", {"title": "Bộ A"})
    assert r.status_code == 303
    url = r.headers["location"].split("?")[0]
    editor = client.get(url)
    assert editor.status_code == 200
    assert 'name="q-1-text"' in editor.text and 'name="q-2-opt-4"' in editor.text
    r = _send(client, url, {
        "title": "Bộ A (sửa)",
        "q-1-kind": "single", "q-1-text": "Thủ đô?", "q-1-opt-1": "Hà Nội", "q-1-opt-2": "Huế",
        "q-1-opt-3": "", "q-1-correct": "1",
        "q-2-kind": "multi", "q-2-text": "Số chẵn?", "q-2-opt-1": "2", "q-2-opt-2": "3",
        "q-2-opt-3": "4", "q-2-correct": ["1", "3"],
        "q-3-kind": "rating", "q-3-text": "Đánh giá", "q-3-opt-1": "bỏ qua",
        "q-4-kind": "single", "q-4-text": "", "q-4-opt-1": "",
    })
    assert r.status_code == 303 and r.headers["location"].endswith("msg=bank_saved")
    bank_id = int(url.rsplit("/", 1)[1])
    bank = forms.get_bank(db, bank_id=bank_id, actor=admin)
    assert bank.title == "Bộ A (sửa)"
    assert [(q.kind.value, q.text) for q in bank.questions] == [
        ("single", "Thủ đô?"), ("multi", "Số chẵn?"), ("rating", "Đánh giá")]
    assert [o.correct for o in bank.questions[1].options] == [True, False, True]
    assert bank.questions[2].options == []
    shown = client.get(url).text
    assert 'value="Hà Nội"' in shown and "checked" in shown


def test_a_refused_edit_shows_the_reason_and_keeps_what_was_typed(
    client: TestClient, db: Session, tree: Tree, admin: User
) -> None:
    bank = forms.create_bank(db, conference_id=tree.cid, data=bank_data(quiz_bank()), actor=admin)
    login(client, "admin", ADMIN_PASSWORD)
    r = _send(client, f"/banks/{bank.id}", {
        "title": "Bộ", "q-1-kind": "single", "q-1-text": "Một phương án thôi",
        "q-1-opt-1": "Duy nhất"})
    assert r.status_code == 422
    assert "question_invalid" in r.text and "Câu 1:" in r.text
    assert "Một phương án thôi" in r.text
    assert len(forms.get_bank(db, bank_id=bank.id or 0, actor=admin).questions) == 2
    r = _send(client, f"/banks/{bank.id}", {"title": "Bộ", "q-1-kind": "single",
                                            "q-1-text": "", "q-1-opt-1": "Có"})
    assert r.status_code == 422 and "Câu 1:" in r.text


def test_a_question_is_deleted_and_a_locked_bank_is_read_only(
    client: TestClient, db: Session, tree: Tree, admin: User
) -> None:
    bank = forms.create_bank(db, conference_id=tree.cid, data=bank_data(survey_bank()),
                             actor=admin)
    login(client, "admin", ADMIN_PASSWORD)
    fields = {"title": "Khảo sát", "q-1-kind": "rating", "q-1-text": "Nội dung",
              "q-2-kind": "text", "q-2-text": "Ý kiến", "q-2-delete": "1"}
    assert _send(client, f"/banks/{bank.id}", fields).status_code == 303
    assert [q.text for q in forms.get_bank(db, bank_id=bank.id or 0, actor=admin).questions] == [
        "Nội dung"]
    sid = make_session(db, tree, admin)
    r = _send(client, f"/sessions/{sid}/forms", {"kind": "survey", "title": "Khảo sát cuối",
                                                 "bank_id": str(bank.id)})
    assert r.status_code == 303
    open_form(db, forms.list_forms(db, session_id=sid, actor=admin)[0].id or 0)
    page = client.get(f"/banks/{bank.id}")
    assert 'id="bank-locked"' in page.text and 'id="save-bank"' not in page.text
    r = _send(client, f"/banks/{bank.id}", fields)
    assert r.status_code == 409 and "bank_in_use" in r.text


def test_the_import_page_lists_bad_lines_or_opens_the_new_bank(
    client: TestClient, db: Session, tree: Tree, admin: User
) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    url = f"/conferences/{tree.cid}/banks/import"
    sample = client.get(f"/conferences/{tree.cid}/banks/mau.csv")
    assert sample.status_code == 200 and "attachment" in sample.headers["content-disposition"]
    xlsx = client.get(f"/conferences/{tree.cid}/banks/mau.xlsx")
    assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).active["A1"].value == "Câu hỏi"
    bad = "Câu hỏi,Loại,A,B,Đáp án\nHỏi,lạ,Có,Không,A\nHỏi hai,một,Có,Không,Z\n".encode()
    r = client.post(url, data={"csrf_token": csrf(client), "title": "Hỏng"},
                    files={"file": ("bo.csv", bad, "text/csv")})
    assert r.status_code == 422
    assert 'data-code="unknown_kind"' in r.text and 'data-code="answer_unknown"' in r.text
    assert forms.list_banks(db, conference_id=tree.cid, actor=admin) == []
    r = client.post(url, data={"csrf_token": "forged"},
                    files={"file": ("mau.csv", sample.content, "text/csv")})
    assert r.status_code == 403
    r = client.post(url, data={"csrf_token": csrf(client), "title": "Từ mẫu"},
                    files={"file": ("mau.csv", sample.content, "text/csv")},
                    follow_redirects=False)
    assert r.status_code == 303 and "msg=bank_imported" in r.headers["location"]
    db.rollback()  # the test's own read ends: SQLite shows the new rows after it
    assert [b.title for b in forms.list_banks(db, conference_id=tree.cid, actor=admin)] == [
        "Từ mẫu"]


def test_a_session_s_forms_are_made_renamed_and_deleted(
    client: TestClient, db: Session, tree: Tree, admin: User
) -> None:
    sid = make_session(db, tree, admin)
    survey = forms.create_bank(db, conference_id=tree.cid, data=bank_data(survey_bank()),
                               actor=admin)
    quiz = forms.create_bank(db, conference_id=tree.cid, data=bank_data(quiz_bank()), actor=admin)
    login(client, "admin", ADMIN_PASSWORD)
    assert f'href="/sessions/{sid}/forms"' in client.get(f"/sessions/{sid}").text
    assert f'href="/conferences/{tree.cid}/banks"' in client.get(f"/sessions/{sid}").text
    r = _send(client, f"/sessions/{sid}/forms", {"kind": "pretest", "title": "Đầu vào",
                                                 "bank_id": str(survey.id)})
    assert r.status_code == 422 and "bank_not_a_test" in r.text and 'value="Đầu vào"' in r.text
    r = _send(client, f"/sessions/{sid}/forms", {"kind": "pretest", "title": "Đầu vào",
                                                 "bank_id": str(quiz.id)})
    assert r.status_code == 303
    form = forms.list_forms(db, session_id=sid, actor=admin)[0]
    assert _send(client, f"/forms/{form.id}", {"title": "Kiểm tra đầu khoá"}).status_code == 303
    page = client.get(f"/sessions/{sid}/forms").text
    assert "Kiểm tra đầu khoá" in page and "Kiểm tra đầu vào" in page
    assert _send(client, f"/forms/{form.id}/delete", {}).status_code == 303
    db.rollback()
    assert forms.list_forms(db, session_id=sid, actor=admin) == []


def test_a_coordinator_gets_no_authoring_page(
    client: TestClient, db: Session, tree: Tree, admin: User, coordinator_a: User
) -> None:
    sid = make_session(db, tree, admin)
    login(client, "hcm", "hcm-password")
    for url in (f"/conferences/{tree.cid}/banks", f"/sessions/{sid}/forms"):
        r = client.get(url)
        assert r.status_code == 403 and "admin_only" in r.text


def test_the_editor_reads_blocks_in_order_and_skips_blank_ones() -> None:
    title, drafts = read_editor({
        "title": ["Bộ"], "q-10-text": ["Sau"], "q-2-text": ["Trước"], "q-2-kind": ["multi"],
        "q-2-opt-1": ["X"], "q-2-opt-3": ["Y"], "q-2-correct": ["3"], "q-5-text": [""],
        "q-7-text": ["Bỏ"], "q-7-delete": ["1"], "q-8-kind": ["quiz"], "q-8-text": ["Lạ"],
    })
    assert title == "Bộ"
    assert [(d.text, d.kind) for d in drafts] == [("Trước", "multi"), ("Lạ", "single"),
                                                  ("Sau", "single")]
    assert drafts[0].options == [("X", False), ("Y", True)]


def test_a_full_bank_is_saved_from_the_editor(
    client: TestClient, db: Session, tree: Tree, admin: User
) -> None:
    """100 questions of 10 options: far more fields than a form parser takes by default."""
    bank = forms.create_bank(db, conference_id=tree.cid, data=bank_data(quiz_bank()), actor=admin)
    login(client, "admin", ADMIN_PASSWORD)
    fields: dict[str, Any] = {"title": "Bộ lớn"}
    for n in range(1, 101):
        fields.update({f"q-{n}-kind": "multi", f"q-{n}-text": f"Câu số {n}",
                       f"q-{n}-correct": [str(j) for j in range(1, 11)]})
        fields.update({f"q-{n}-opt-{j}": f"Phương án {j}" for j in range(1, 11)})
    r = _send(client, f"/banks/{bank.id}", fields)
    assert r.status_code == 303, r.text[:300]
    saved = forms.get_bank(db, bank_id=bank.id or 0, actor=admin)
    assert len(saved.questions) == 100 and len(saved.questions[-1].options) == 10
