"""The JSON API of writing training forms (sessions/form_routes.py): banks, the import,
forms; refusals as 4xx with stable codes, a coordinator refused (SQLite and PostgreSQL)."""

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import User
from tests.conftest import Tree, token_for
from tests.sessions.form_support import make_session, open_form, quiz_bank, survey_bank


def test_banks_and_forms_through_the_api(
    client: TestClient, db: Session, tree: Tree, admin: User, admin_headers: dict[str, str]
) -> None:
    sid = make_session(db, tree, admin)
    r = client.post(f"/api/v1/conferences/{tree.cid}/banks", json=quiz_bank(),
                    headers=admin_headers)
    assert r.status_code == 201, r.text
    bank = r.json()
    assert [o["letter"] for o in bank["questions"][0]["options"]] == ["A", "B", "C"]
    listed = client.get(f"/api/v1/conferences/{tree.cid}/banks", headers=admin_headers).json()
    assert [(b["id"], b["questions"], b["locked"]) for b in listed] == [(bank["id"], 2, False)]
    r = client.put(f"/api/v1/banks/{bank['id']}", json=quiz_bank("Đã sửa"), headers=admin_headers)
    assert r.status_code == 200 and r.json()["title"] == "Đã sửa"
    r = client.post(f"/api/v1/sessions/{sid}/forms", headers=admin_headers, json={
        "kind": "pretest", "title": "Kiểm tra đầu vào", "bank_id": bank["id"]})
    assert r.status_code == 201, r.text
    form = r.json()
    assert (form["kind_label"], form["status"], form["status_label"]) == (
        "Kiểm tra đầu vào", "draft", "chưa mở")
    r = client.patch(f"/api/v1/forms/{form['id']}", json={"title": "Đầu vào"},
                     headers=admin_headers)
    assert r.status_code == 200 and r.json()["title"] == "Đầu vào"
    assert [f["id"] for f in client.get(f"/api/v1/sessions/{sid}/forms",
                                        headers=admin_headers).json()] == [form["id"]]
    assert client.get(f"/api/v1/forms/{form['id']}", headers=admin_headers).status_code == 200
    assert client.delete(f"/api/v1/forms/{form['id']}", headers=admin_headers).status_code == 204
    assert client.delete(f"/api/v1/banks/{bank['id']}", headers=admin_headers).status_code == 204
    r = client.get(f"/api/v1/banks/{bank['id']}", headers=admin_headers)
    assert (r.status_code, r.json()["code"]) == (404, "bank_not_found")


def test_refusals_carry_their_codes(
    client: TestClient, db: Session, tree: Tree, admin: User, admin_headers: dict[str, str]
) -> None:
    sid = make_session(db, tree, admin)
    bad = quiz_bank()
    bad["questions"][0]["options"] = bad["questions"][0]["options"][:1]
    r = client.post(f"/api/v1/conferences/{tree.cid}/banks", json=bad, headers=admin_headers)
    assert (r.status_code, r.json()["code"]) == (422, "question_invalid")
    assert r.json()["detail"].startswith("Câu 1:")
    survey = client.post(f"/api/v1/conferences/{tree.cid}/banks", json=survey_bank(),
                         headers=admin_headers).json()
    r = client.post(f"/api/v1/sessions/{sid}/forms", headers=admin_headers, json={
        "kind": "posttest", "title": "Đầu ra", "bank_id": survey["id"]})
    assert (r.status_code, r.json()["code"]) == (422, "bank_not_a_test")
    form = client.post(f"/api/v1/sessions/{sid}/forms", headers=admin_headers, json={
        "kind": "survey", "title": "Khảo sát", "bank_id": survey["id"]}).json()
    open_form(db, form["id"])
    r = client.put(f"/api/v1/banks/{survey['id']}", json=survey_bank(), headers=admin_headers)
    assert (r.status_code, r.json()["code"]) == (409, "bank_in_use")
    r = client.delete(f"/api/v1/forms/{form['id']}", headers=admin_headers)
    assert (r.status_code, r.json()["code"]) == (409, "form_not_draft")
    r = client.post(f"/api/v1/sessions/{sid}/forms", headers=admin_headers, json={
        "kind": "quiz", "title": "Sai loại", "bank_id": survey["id"]})
    assert r.status_code == 422


def test_the_import_takes_a_file_and_a_title_or_lists_every_bad_line(
    client: TestClient, db: Session, tree: Tree, admin_headers: dict[str, str]
) -> None:
    good = "Câu hỏi,Loại,A,B,Đáp án\nHỏi một,một,Có,Không,A\nĐánh giá,đánh giá,,,\n".encode()
    r = client.post(f"/api/v1/conferences/{tree.cid}/banks/import", headers=admin_headers,
                    files={"file": ("bo.csv", good, "text/csv")}, data={"title": "Bộ nhập"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["created"], body["bank"]["title"], body["by_kind"]) == (
        2, "Bộ nhập", {"single": 1, "rating": 1})
    bad = "Câu hỏi,Loại,A,B,Đáp án\nHỏi,một,Có,,A\n,một,Có,Không,A\n".encode()
    r = client.post(f"/api/v1/conferences/{tree.cid}/banks/import", headers=admin_headers,
                    files={"file": ("bo.csv", bad, "text/csv")})
    assert (r.status_code, r.json()["code"]) == (422, "import_invalid")
    assert [(e["line"], e["code"]) for e in r.json()["errors"]] == [
        (2, "too_few_options"), (3, "required")]
    assert len(client.get(f"/api/v1/conferences/{tree.cid}/banks",
                          headers=admin_headers).json()) == 1


def test_a_coordinator_is_refused(
    client: TestClient, db: Session, tree: Tree, admin: User, coordinator_a: User,
    admin_headers: dict[str, str],
) -> None:
    bank = client.post(f"/api/v1/conferences/{tree.cid}/banks", json=quiz_bank(),
                       headers=admin_headers).json()
    hub = token_for(client, "hcm", "hcm-password")
    for method, url in (("GET", f"/api/v1/banks/{bank['id']}"),
                        ("GET", f"/api/v1/conferences/{tree.cid}/banks"),
                        ("DELETE", f"/api/v1/banks/{bank['id']}")):
        r = client.request(method, url, headers=hub)
        assert (r.status_code, r.json()["code"]) == (403, "admin_only"), url
