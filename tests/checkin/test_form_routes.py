"""A form's results: shown (frozen, on every screen), read (a coordinator: their subtree),
drawn as charts per shown version; the screens' answer link (SQLite and PostgreSQL)."""

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import User
from checkin import answer_links
from tests.conftest import Tree, token_for
from tests.sessions.form_support import MadeForm, answer, make_form
from tests.sessions.support import make_live


def _closed_form(client: TestClient, db: Session, tree: Tree,
                 headers: dict[str, str]) -> MadeForm:
    """A pre-test on stage with answers at ward A1 (2: one right) and ward B1 (1), closed."""
    make_live(db, tree.cid)
    r = client.post(f"/api/v1/conferences/{tree.cid}/sessions", headers=headers,
                    json={"title": "Phiên khai mạc", "starts_at": "2025-09-09T01:00:00Z",
                          "ends_at": "2025-09-09T03:00:00Z"})
    sid = r.json()["id"]
    assert client.put(f"/api/v1/sessions/{sid}/state", json={}, headers=headers).is_success
    made = make_form(db.get_bind(), conference_id=tree.cid, session_id=sid)
    assert client.post(f"/api/v1/forms/{made.form_id}/open", headers=headers).is_success
    bind = db.get_bind()
    answer(bind, made, conference_id=tree.cid, site_id=tree.ward_a1, option_id=made.right_id)
    answer(bind, made, conference_id=tree.cid, site_id=tree.ward_a1, option_id=made.wrong_id,
           rating=4, text=None)
    answer(bind, made, conference_id=tree.cid, site_id=tree.ward_b1, option_id=made.wrong_id,
           rating=3)
    return made


def _screen(client: TestClient, tree: Tree, headers: dict[str, str]) -> dict[str, str]:
    token = client.post(f"/api/v1/sites/{tree.ward_a1}/screen-token",
                        headers=headers).json()["token"]
    return {"Authorization": f"Screen {token}"}


def test_showing_results_needs_a_closed_form_then_every_screen_gets_the_charts(
    client: TestClient, db: Session, tree: Tree, admin_headers: dict[str, str]
) -> None:
    made = _closed_form(client, db, tree, admin_headers)
    fid = made.form_id
    screen = _screen(client, tree, admin_headers)
    r = client.post(f"/api/v1/forms/{fid}/results/show", headers=admin_headers)
    assert r.status_code == 409 and r.json()["code"] == "form_not_closed"
    r = client.get(f"/api/v1/forms/{fid}/results/charts", headers=screen)
    assert r.status_code == 404 and r.json()["code"] == "form_results_not_shown"
    assert client.post(f"/api/v1/forms/{fid}/close", headers=admin_headers).is_success
    r = client.post(f"/api/v1/forms/{fid}/results/show", headers=admin_headers)
    assert r.status_code == 200, r.text
    assert r.json()["form"]["results"] is True and r.json()["form"]["results_version"] == 1
    r = client.get(f"/api/v1/forms/{fid}/results/charts", headers=screen)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 1
    charts: dict[int, str] = {c["question_id"]: c["svg"] for c in body["charts"]}
    single = charts[made.single_id]
    assert "Huế &lt;b&gt;" in single and "<b>" not in single  # labels escaped
    assert "✓ A. Hà Nội" in single and 'fill="#1f8a4c"' in single  # the right one
    assert "đúng 33,3%" in single
    assert "trung bình 4,00" in charts[made.rating_id]
    assert "2 câu trả lời" in charts[made.text_id]
    # An answer arriving later changes nothing shown: the results were frozen.
    answer(db.get_bind(), made, conference_id=tree.cid, site_id=tree.ward_a1,
           option_id=made.right_id)
    again = client.get(f"/api/v1/forms/{fid}/results/charts", headers=screen)
    assert again.json() == body
    r = client.post(f"/api/v1/forms/{fid}/results/show", headers=admin_headers)
    assert r.json()["form"]["results_version"] == 2
    shown = client.get(f"/api/v1/forms/{fid}/results/charts", headers=screen).json()
    assert shown["version"] == 2 and "đúng 50%" in shown["charts"][0]["svg"]
    for bad in ({"Authorization": "Screen scr_nope"}, {}):
        r = client.get(f"/api/v1/forms/{fid}/results/charts", headers=bad)
        assert r.status_code == 401


def test_a_coordinator_reads_their_subtree_s_results(
    client: TestClient, db: Session, tree: Tree, admin_headers: dict[str, str],
    coordinator_a: User,
) -> None:
    made = _closed_form(client, db, tree, admin_headers)
    url = f"/api/v1/forms/{made.form_id}/results"
    everything: dict[str, Any] = client.get(url, headers=admin_headers).json()
    assert everything["answers"] == 3
    assert [o["count"] for o in everything["questions"][0]["options"]] == [1, 2]
    mine = client.get(url, headers=token_for(client, "hcm", "hcm-password")).json()
    assert mine["answers"] == 2  # ward B1 is hub B's
    assert [o["count"] for o in mine["questions"][0]["options"]] == [1, 1]
    assert client.get(url).status_code == 401
    r = client.get("/api/v1/forms/999999/results", headers=admin_headers)
    assert r.status_code == 404 and r.json()["code"] == "form_not_found"


def test_a_screen_gets_its_site_s_signed_answer_link(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    screen = _screen(client, tree, admin_headers)
    r = client.get("/api/v1/screen/form-link", headers=screen)
    assert r.status_code == 200, r.text
    body = r.json()
    settings = client.app.state.settings  # type: ignore[attr-defined]
    assert answer_links.site_from_answer_code(body["code"], settings) == tree.ward_a1
    assert body["url"].endswith(f"/a/{body['code']}") and body["short"] in body["url"]
    assert "://" not in body["short"] and "<svg" in body["svg"]
    r = client.get("/api/v1/screen/form-link", headers=admin_headers)
    assert r.status_code == 401 and r.json()["code"] == "screen_token_invalid"
