"""Check-in pages (pass, badges, scanner desk, self check-in, headcount) on both backends."""

import re
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import User
from app.config import Settings
from app.db import local_today
from checkin import qr, service, site_tokens
from checkin.models import Attendance, Headcount
from tests.checkin.support import second_conference
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.support import csrf, login


def post(client: TestClient, url: str, data: dict[str, str] | None = None) -> httpx.Response:
    """A form post carrying the CSRF field, without following the redirect."""
    response: httpx.Response = client.post(
        url, data={**(data or {}), "csrf_token": csrf(client)}, follow_redirects=False
    )
    return response


def add_attendees(
    client: TestClient, headers: dict[str, str], tree: Tree, *people: tuple[str, int]
) -> list[dict[str, Any]]:
    """Attendees through the API: (full name, home site id) each."""
    r = client.post(
        f"/api/v1/conferences/{tree.cid}/attendees",
        json=[{"full_name": n, "site_id": s, "unit": "Văn phòng", "position": "Chuyên viên"}
              for n, s in people],
        headers=headers,
    )
    assert r.status_code == 201, r.text
    rows: list[dict[str, Any]] = r.json()
    return rows


def attendance_rows(db: Session) -> list[Attendance]:
    db.rollback()
    return list(db.exec(select(Attendance)).all())


# -------------------------------------------------------------- pass, badges


def test_pass_page_shows_name_site_qr_and_short_code(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    (person,) = add_attendees(client, admin_headers, tree, ("Nguyễn Văn An", tree.ward_a1))
    login(client, "admin", ADMIN_PASSWORD)
    r = client.get(f"/attendees/{person['id']}/pass")
    assert r.status_code == 200
    assert "Nguyễn Văn An" in r.text
    assert "Đảng ủy phường Bến Nghé" in r.text
    assert "<svg" in r.text and "<path" in r.text
    code = person["short_code"]
    assert f"{code[:4]}-{code[4:]}" in r.text
    assert "/static/" in r.text and "http" not in re.sub(r'xmlns[:a-z]*="[^"]+"', "", r.text)


def test_pass_page_of_another_subtree_is_not_found(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, coordinator_a: User
) -> None:
    (person,) = add_attendees(client, admin_headers, tree, ("Trần Thị Bình", tree.ward_b1))
    login(client, "hcm", "hcm-password")
    r = client.get(f"/attendees/{person['id']}/pass")
    assert r.status_code == 404
    assert "Trần Thị Bình" not in r.text


def test_badges_page_prints_eight_per_sheet(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, coordinator_a: User
) -> None:
    names = [f"Đại biểu số {i}" for i in range(9)]
    add_attendees(client, admin_headers, tree, *[(n, tree.ward_a1) for n in names])
    add_attendees(client, admin_headers, tree, ("Người phường khác", tree.ward_a2))
    login(client, "hcm", "hcm-password")
    r = client.get(f"/sites/{tree.ward_a1}/badges")
    assert r.status_code == 200
    assert r.text.count('class="sheet"') == 2
    assert r.text.count('class="badge-card"') == 9
    assert r.text.count("<svg") == 9
    assert "Người phường khác" not in r.text
    assert "@media print" in client.get("/static/checkin.css").text


def test_badges_page_of_another_subtree_is_forbidden(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    assert client.get(f"/sites/{tree.ward_b1}/badges").status_code == 403


# ------------------------------------------------------------- scanner desk


def test_checkin_page_renders_scanner_desk_with_sessions(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, coordinator_a: User
) -> None:
    r = client.post(
        f"/api/v1/conferences/{tree.cid}/sessions",
        json={"title": "Phiên khai mạc", "starts_at": "2025-09-09T08:00:00",
              "ends_at": "2025-09-09T10:00:00"},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    login(client, "hcm", "hcm-password")
    r = client.get(f"/sites/{tree.ward_a1}/checkin")
    assert r.status_code == 200
    assert f'data-site-id="{tree.ward_a1}"' in r.text
    assert f'data-conference-id="{tree.cid}"' in r.text
    assert 'id="code"' in r.text and "autofocus" in r.text
    assert "Phiên khai mạc (09/09/2025 08:00)" in r.text
    assert "Cả hội nghị" in r.text
    assert '<script src="/static/checkin.js"></script>' in r.text


def test_checkin_page_of_another_subtree_is_forbidden(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    assert client.get(f"/sites/{tree.hub_b}/checkin").status_code == 403


def test_checkin_page_without_login_goes_to_login(client: TestClient, tree: Tree) -> None:
    r = client.get(f"/sites/{tree.ward_a1}/checkin", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")


def test_checkin_form_checks_in_once_then_reports_already(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, coordinator_a: User,
    db: Session,
) -> None:
    (person,) = add_attendees(client, admin_headers, tree, ("Lê Văn Cường", tree.ward_a1))
    login(client, "hcm", "hcm-password")
    first = post(client, f"/sites/{tree.ward_a1}/checkin", {"code": person["code"]})
    assert first.status_code == 201
    assert 'data-status="checked_in"' in first.text and "Lê Văn Cường" in first.text
    again = post(client, f"/sites/{tree.ward_a1}/checkin", {"code": person["short_code"]})
    assert again.status_code == 200
    assert 'data-status="already_checked_in"' in again.text
    assert "tại Đảng ủy phường Bến Nghé" in again.text
    assert len(attendance_rows(db)) == 1


def test_checkin_form_with_garbage_shows_refusal(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    r = post(client, f"/sites/{tree.ward_a1}/checkin", {"code": "DC1" + "A" * 150})
    assert r.status_code == 400
    assert 'class="ci-result err"' in r.text and "Không điểm danh được" in r.text


def test_checkin_form_without_csrf_is_refused(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, coordinator_a: User,
    db: Session,
) -> None:
    (person,) = add_attendees(client, admin_headers, tree, ("Phạm Thị Dung", tree.ward_a1))
    login(client, "hcm", "hcm-password")
    r = client.post(f"/sites/{tree.ward_a1}/checkin", data={"code": person["code"]})
    assert r.status_code == 403
    assert attendance_rows(db) == []


def test_checkin_form_of_another_subtree_is_forbidden(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, coordinator_a: User,
    db: Session,
) -> None:
    (person,) = add_attendees(client, admin_headers, tree, ("Phạm Thị Dung", tree.ward_b1))
    login(client, "hcm", "hcm-password")
    r = post(client, f"/sites/{tree.ward_b1}/checkin", {"code": person["code"]})
    assert r.status_code == 403
    assert attendance_rows(db) == []


def test_site_page_links_to_checkin_pages(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    r = client.get(f"/sites/{tree.ward_a1}")
    # The links name the conference the page shows (here the site's current one).
    for path in ("checkin", "badges", "headcount"):
        assert f'href="/sites/{tree.ward_a1}/{path}?conference_id={tree.cid}"' in r.text


# ------------------------------------------------------------ self check-in


def stale_token(site_id: int, settings: Settings) -> str:
    """A genuine site token from two steps ago (its window and the next have passed)."""
    step = qr.current_step(time.time()) - 2
    return qr.sign_site_step(site_id, step, service.site_qr_secret(settings))


def test_self_page_shows_site_and_code_form(
    client: TestClient, tree: Tree, settings: Settings
) -> None:
    token = service.site_qr(tree.ward_a1, settings)
    r = client.get(f"/c/{token}")
    assert r.status_code == 200
    assert "Đảng ủy phường Bến Nghé" in r.text
    assert 'id="self-form"' in r.text and "Ghi nhớ trên điện thoại này" in r.text


def test_self_page_with_stale_token_says_rescan(
    client: TestClient, tree: Tree, settings: Settings
) -> None:
    r = client.get(f"/c/{stale_token(tree.ward_a1, settings)}")
    assert r.status_code == 410
    assert "Mã QR đã hết hạn, hãy quét lại mã trên màn hình" in r.text
    assert 'id="self-form"' not in r.text


def test_self_page_with_forged_token_is_refused(
    client: TestClient, tree: Tree, settings: Settings
) -> None:
    step = qr.current_step(time.time())
    forged = qr.sign_site_step(tree.ward_a1, step, b"not-the-secret")
    r = client.get(f"/c/{forged}")
    assert r.status_code == 400
    assert 'id="self-form"' not in r.text


def test_self_form_checks_in_then_reports_already(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, settings: Settings,
    db: Session,
) -> None:
    (person,) = add_attendees(client, admin_headers, tree, ("Võ Thị Em", tree.ward_a1))
    token = service.site_qr(tree.ward_a1, settings)
    client.cookies.clear()  # no login: an attendee's phone
    first = post(client, f"/c/{token}", {"code": person["short_code"].lower()})
    assert first.status_code == 201
    assert 'data-status="checked_in"' in first.text
    again = post(client, f"/c/{token}", {"code": person["short_code"]})
    assert again.status_code == 200 and "already_checked_in" in again.text
    rows = attendance_rows(db)
    assert [(r.method, r.site_id) for r in rows] == [("self", tree.ward_a1)]


def test_self_form_shows_only_the_name_and_this_site(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, settings: Settings,
) -> None:
    """No unit, no earlier site or time: whoever typed the code may not be its owner."""
    r = client.post(f"/api/v1/conferences/{tree.cid}/attendees", headers=admin_headers,
                    json=[{"full_name": "Võ Thị Em", "site_id": tree.ward_a1, "unit": "Sở Y tế"}])
    person = r.json()[0]
    staff = client.post("/api/v1/checkins", json={"code": person["code"], "site_id": tree.hub_a},
                        headers=admin_headers)
    hub_name = staff.json()["site_name"]
    token = service.site_qr(tree.ward_a1, settings)
    client.cookies.clear()
    again = post(client, f"/c/{token}", {"code": person["short_code"]})
    assert again.status_code == 200 and "already_checked_in" in again.text
    panel = again.text[again.text.index('id="result"'):]
    assert "Võ Thị Em" in panel and "Tại Đảng ủy phường Bến Nghé" in panel
    assert hub_name not in panel and "Sở Y tế" not in panel and " lúc " not in panel


def test_self_form_offers_the_follow_link_once_checked_in(
    client: TestClient, admin_headers: dict[str, str], settings: Settings,
) -> None:
    today = local_today().isoformat()  # a conference whose follow link still holds
    cid = client.post("/api/v1/conferences", headers=admin_headers, json={
        "title": "Hội nghị hôm nay", "starts_on": today, "ends_on": today}).json()["id"]
    site = client.post(f"/api/v1/conferences/{cid}/sites", headers=admin_headers,
                       json={"name": "Phường Bến Nghé", "kind": "ward"}).json()["id"]
    person = client.post(f"/api/v1/conferences/{cid}/attendees", headers=admin_headers,
                         json=[{"full_name": "Võ Thị Em", "site_id": site}]).json()[0]
    link = client.get(f"/api/v1/conferences/{cid}/follow-link", headers=admin_headers)
    token = service.site_qr(site, settings)
    client.cookies.clear()  # no login: an attendee's phone
    hidden = 'id="follow-offer" class="follow-offer" hidden'
    assert hidden in client.get(f"/c/{token}").text  # not before checking in
    r = post(client, f"/c/{token}", {"code": person["short_code"]})
    assert r.status_code == 201
    assert f'href="{link.json()["url"]}"' in r.text and hidden not in r.text
    assert hidden in post(client, f"/c/{token}", {"code": "ABCD-EFGH"}).text


def _page_code(html: str) -> str:
    return html.split('data-site-token="', 1)[1].split('"', 1)[0]


def test_self_form_accepts_the_opened_step_for_minutes_at_its_site_only(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (person,) = add_attendees(client, admin_headers, tree, ("Võ Thị Em", tree.ward_a1))
    client.cookies.clear()
    opened = client.get(f"/c/{service.site_qr(tree.ward_a1, settings)}")
    page_code = _page_code(opened.text)
    assert f'action="/c/{page_code}"' in opened.text
    later = time.time() + 3 * 60  # typing took three minutes: the screen's QR is long gone
    monkeypatch.setattr(site_tokens, "clock", lambda: later)
    elsewhere = page_code.replace(f"{tree.ward_a1}.", f"{tree.ward_a2}.", 1)
    refused = post(client, f"/c/{elsewhere}", {"code": person["short_code"]})
    assert refused.status_code == 400 and person["short_code"] in refused.text
    r = post(client, f"/c/{page_code}", {"code": person["short_code"]})
    assert r.status_code == 201 and 'data-status="checked_in"' in r.text
    assert _page_code(r.text) == page_code  # reloading never extends the window


def test_self_form_keeps_the_typed_code_on_every_refusal(
    client: TestClient, tree: Tree, settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened = client.get(f"/c/{service.site_qr(tree.ward_a1, settings)}")
    page_code = _page_code(opened.text)
    wrong = post(client, f"/c/{page_code}", {"code": "ABCD-EFGH"})
    assert wrong.status_code == 404 and 'value="ABCD-EFGH"' in wrong.text
    later = time.time() + 10 * 60
    monkeypatch.setattr(site_tokens, "clock", lambda: later)
    expired = post(client, f"/c/{page_code}", {"code": "ABCD-EFGH"})
    assert expired.status_code == 410 and "Mã QR đã hết hạn" in expired.text
    assert 'id="typed-code">ABCD-EFGH<' in expired.text


def test_self_form_without_csrf_is_refused(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, settings: Settings,
    db: Session,
) -> None:
    (person,) = add_attendees(client, admin_headers, tree, ("Võ Thị Em", tree.ward_a1))
    token = service.site_qr(tree.ward_a1, settings)
    r = client.post(f"/c/{token}", data={"code": person["short_code"]})
    assert r.status_code == 403
    assert attendance_rows(db) == []


def test_screen_qr_gives_site_token_url_and_svg(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, settings: Settings
) -> None:
    screen = client.post(f"/api/v1/sites/{tree.ward_a1}/screen-token", headers=admin_headers)
    assert screen.status_code == 201, screen.text
    r = client.get("/api/v1/screen/self-checkin-qr",
                   headers={"Authorization": f"Screen {screen.json()['token']}"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["site_id"] == tree.ward_a1
    assert body["site_name"] == "Đảng ủy phường Bến Nghé"
    assert body["url"] == f"http://testserver/c/{body['token']}"
    assert body["svg"].startswith("<?xml") or body["svg"].startswith("<svg")
    assert 0 < body["expires_in"] <= qr.STEP_SECONDS
    assert qr.verify_site_step(body["token"], service.site_qr_secret(settings),
                               time.time()) == tree.ward_a1


def test_screen_qr_with_bad_token_is_unauthorized(client: TestClient) -> None:
    r = client.get("/api/v1/screen/self-checkin-qr", headers={"Authorization": "Screen scr_nope"})
    assert r.status_code == 401
    assert r.json()["code"] == "screen_token_invalid"


# ---------------------------------------------------------------- headcount


def test_headcount_report_replaces_earlier_and_keeps_history(
    client: TestClient, tree: Tree, coordinator_a: User, db: Session
) -> None:
    login(client, "hcm", "hcm-password")
    url = f"/sites/{tree.ward_a2}/headcount"
    first = post(client, url, {"dai_bieu": "40", "khach_moi": "3"})
    assert first.status_code == 303
    second = post(client, url, {"dai_bieu": "42", "phong_vien": "2", "khac": ""})
    assert second.status_code == 303
    page = client.get(second.headers["location"])
    assert page.status_code == 200
    assert 'id="current-total">44<' in page.text
    assert "đã thay thế" in page.text and "hiện tại" in page.text
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d", page.text)
    db.rollback()
    reports = db.exec(select(Headcount).order_by(Headcount.id)).all()  # type: ignore[arg-type]
    assert [(h.total, h.superseded) for h in reports] == [(43, True), (44, False)]


def test_headcount_with_bad_number_is_refused(
    client: TestClient, tree: Tree, coordinator_a: User, db: Session
) -> None:
    login(client, "hcm", "hcm-password")
    r = post(client, f"/sites/{tree.ward_a2}/headcount", {"dai_bieu": "-5"})
    assert r.status_code == 422
    assert "Đại biểu: phải là số nguyên" in r.text
    db.rollback()
    assert db.exec(select(Headcount)).all() == []


def test_headcount_form_without_csrf_is_refused(
    client: TestClient, tree: Tree, coordinator_a: User, db: Session
) -> None:
    login(client, "hcm", "hcm-password")
    r = client.post(f"/sites/{tree.ward_a2}/headcount", data={"dai_bieu": "40"})
    assert r.status_code == 403
    db.rollback()
    assert db.exec(select(Headcount)).all() == []


def test_headcount_page_of_another_subtree_is_forbidden(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    assert client.get(f"/sites/{tree.ward_b1}/headcount").status_code == 403
    assert post(client, f"/sites/{tree.ward_b1}/headcount", {"dai_bieu": "1"}).status_code == 403


# ------------------------------------------------------------ the registry


def test_site_pages_take_the_conference_from_the_query_else_the_current(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session, admin: User
) -> None:
    add_attendees(client, admin_headers, tree, ("Đại biểu lần một", tree.ward_a1))
    second = second_conference(db, admin, tree, [tree.ward_a1])  # live today: the current one
    r = client.post(f"/api/v1/conferences/{second}/attendees",
                    json=[{"full_name": "Đại biểu lần hai", "site_id": tree.ward_a1}],
                    headers=admin_headers)
    assert r.status_code == 201, r.text
    login(client, "admin", ADMIN_PASSWORD)
    now = client.get(f"/sites/{tree.ward_a1}/badges")
    then = client.get(f"/sites/{tree.ward_a1}/badges?conference_id={tree.cid}")
    assert now.status_code == then.status_code == 200
    assert "Đại biểu lần hai" in now.text and "Đại biểu lần một" not in now.text
    assert "Đại biểu lần một" in then.text and "Hội nghị tập huấn AI" in then.text
    desk = client.get(f"/sites/{tree.ward_a1}/checkin?conference_id={tree.cid}")
    assert f'data-conference-id="{tree.cid}"' in desk.text
    assert client.get(f"/sites/{tree.ward_b1}/checkin?conference_id={second}").status_code == 404


def test_headcount_form_reports_to_the_conference_of_the_page(
    client: TestClient, tree: Tree, db: Session, admin: User
) -> None:
    second_conference(db, admin, tree, [tree.ward_a2])
    login(client, "admin", ADMIN_PASSWORD)
    page = client.get(f"/sites/{tree.ward_a2}/headcount?conference_id={tree.cid}")
    assert f'name="conference_id" value="{tree.cid}"' in page.text
    r = post(client, f"/sites/{tree.ward_a2}/headcount",
             {"dai_bieu": "12", "conference_id": str(tree.cid)})
    assert r.status_code == 303
    assert f"conference_id={tree.cid}" in r.headers["location"]
    db.rollback()
    assert [h.conference_id for h in db.exec(select(Headcount)).all()] == [tree.cid]


def test_self_checkin_qr_is_for_the_live_conference(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session, admin: User
) -> None:
    url = f"/api/v1/sites/{tree.ward_a1}/self-checkin-qr"
    screen = client.post(f"/api/v1/sites/{tree.ward_a1}/screen-token", headers=admin_headers)
    assert screen.status_code == 201, screen.text
    by_screen = {"Authorization": f"Screen {screen.json()['token']}"}
    # The test conference has ended: between conferences the QR names none.
    assert client.get(url, headers=admin_headers).json()["conference_id"] is None
    assert client.get("/api/v1/screen/self-checkin-qr",
                      headers=by_screen).json()["conference_id"] is None
    second = second_conference(db, admin, tree, [tree.ward_a1])
    assert client.get(url, headers=admin_headers).json()["conference_id"] == second
    body = client.get("/api/v1/screen/self-checkin-qr", headers=by_screen).json()
    assert (body["conference_id"], body["site_name"]) == (second, "Đảng ủy phường Bến Nghé")
