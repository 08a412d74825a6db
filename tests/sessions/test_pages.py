"""HTML pages of the programme: sessions list, agenda editor, presenter console, follow page."""

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import User
from app.config import Settings
from sessions import follow_links
from sessions.models import AgendaItem, ConferenceSession
from tests.conftest import ADMIN_PASSWORD, SECRET, Tree, make_settings
from tests.endpoints.support import csrf, login
from tests.sessions.support import add_item, create_session, make_live, make_pdf


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, data_dir=tmp_path / "var")


@pytest.fixture
def admin_client(client: TestClient, admin: User) -> TestClient:
    login(client, "admin", ADMIN_PASSWORD)
    return client


def post(client: TestClient, url: str, data: dict[str, str] | None = None) -> httpx.Response:
    """A form post carrying the CSRF field, without following the redirect."""
    response: httpx.Response = client.post(
        url, data={**(data or {}), "csrf_token": csrf(client)}, follow_redirects=False
    )
    return response


def _session(client: TestClient, tree: Tree) -> int:
    r = post(client, f"/conferences/{tree.cid}/sessions",
             {"title": "Phiên khai mạc", "starts_at": "2025-09-09T08:00",
              "ends_at": "2025-09-09T11:30"})
    assert r.status_code == 303, r.text
    match = re.match(r"/sessions/(\d+)\?msg=session_created", r.headers["location"])
    assert match
    return int(match.group(1))


def _item_ids(db: Session, session_id: int) -> list[int]:
    db.rollback()
    rows = db.exec(select(AgendaItem).where(AgendaItem.session_id == session_id)
                   .order_by(AgendaItem.position)).all()  # type: ignore[arg-type]
    return [r.id for r in rows if r.id is not None]


# ---------------------------------------------------------------- sessions


def test_sessions_page_shows_form_and_follow_qr_to_admin(
    admin_client: TestClient, tree: Tree
) -> None:
    r = admin_client.get(f"/conferences/{tree.cid}/sessions")
    assert r.status_code == 200
    assert "Thêm phiên họp" in r.text
    assert 'name="csrf_token"' in r.text
    assert "<svg" in r.text and "http://testserver/follow/" in r.text
    assert "cdn" not in r.text.lower()


def test_create_session_from_form_reads_local_time(
    admin_client: TestClient, tree: Tree, db: Session
) -> None:
    sid = _session(admin_client, tree)
    db.rollback()
    stored = db.get(ConferenceSession, sid)
    assert stored is not None and stored.starts_at.hour == 1  # 08:00 in Vietnam
    r = admin_client.get(f"/conferences/{tree.cid}/sessions")
    assert "Phiên khai mạc" in r.text and "09/09/2025 08:00" in r.text


def test_create_session_with_reversed_times_keeps_input(
    admin_client: TestClient, tree: Tree
) -> None:
    r = post(admin_client, f"/conferences/{tree.cid}/sessions",
             {"title": "Phiên lỗi giờ", "starts_at": "2025-09-09T10:00",
              "ends_at": "2025-09-09T09:00"})
    assert r.status_code == 422
    assert "Giờ kết thúc phải sau giờ bắt đầu" in r.text
    assert 'value="Phiên lỗi giờ"' in r.text


def test_form_post_without_csrf_is_refused(admin_client: TestClient, tree: Tree) -> None:
    r = admin_client.post(f"/conferences/{tree.cid}/sessions",
                          data={"title": "X", "starts_at": "2025-09-09T08:00",
                                "ends_at": "2025-09-09T09:00"}, follow_redirects=False)
    assert r.status_code == 403 and "csrf_failed" in r.text


def test_coordinator_sees_sessions_without_editing(
    client: TestClient, tree: Tree, admin_headers: dict[str, str], coordinator_a: User
) -> None:
    session = create_session(client, tree.cid, admin_headers)
    login(client, "hcm", "hcm-password")
    r = client.get(f"/conferences/{tree.cid}/sessions")
    assert r.status_code == 200 and session["title"] in r.text
    assert "Thêm phiên họp" not in r.text
    # The follow link and its QR, to hand to the site's attendees; not its rotation.
    assert "<svg" in r.text and "http://testserver/follow/" in r.text
    assert "follow-link/rotate" not in r.text
    r = client.get(f"/sessions/{session['id']}")
    assert r.status_code == 200 and "Thêm mục chương trình" not in r.text
    assert "http://testserver/follow/" in r.text and "follow-link/rotate" not in r.text
    assert client.get(f"/sessions/{session['id']}/console").status_code == 403


def test_page_without_login_redirects_to_login(client: TestClient, tree: Tree) -> None:
    r = client.get(f"/conferences/{tree.cid}/sessions", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


# ------------------------------------------------------------ agenda editor


def test_agenda_editor_adds_edits_moves_and_deletes(
    admin_client: TestClient, tree: Tree, db: Session
) -> None:
    sid = _session(admin_client, tree)
    for title, kind in (("Khai mạc", "opening"), ("Báo cáo AI", "talk"), ("Tổng kết", "summary")):
        r = post(admin_client, f"/sessions/{sid}/agenda",
                 {"title": title, "kind": kind, "speaker": "", "planned_start": "08:15",
                  "planned_end": ""})
        assert r.status_code == 303, r.text
    first, second, third = _item_ids(db, sid)
    page = admin_client.get(f"/sessions/{sid}").text
    assert page.index("Khai mạc</h3>") < page.index("Báo cáo AI</h3>") < page.index("Tổng kết</h3>")
    assert "09/09/2025 08:15" in page
    r = post(admin_client, f"/agenda-items/{second}",
             {"title": "Báo cáo chuyên đề AI", "kind": "talk", "speaker": "TS. Lê Văn Hùng",
              "planned_start": "", "planned_end": ""})
    assert r.status_code == 303
    r = post(admin_client, f"/agenda-items/{third}/move", {"direction": "up"})
    assert r.status_code == 303
    assert _item_ids(db, sid) == [first, third, second]
    r = post(admin_client, f"/agenda-items/{first}/delete")
    assert r.status_code == 303
    page = admin_client.get(f"/sessions/{sid}").text
    assert "TS. Lê Văn Hùng" in page and "Khai mạc</h3>" not in page
    assert _item_ids(db, sid) == [third, second]


def test_agenda_item_with_bad_kind_shows_error(admin_client: TestClient, tree: Tree) -> None:
    sid = _session(admin_client, tree)
    r = post(admin_client, f"/sessions/{sid}/agenda", {"title": "X", "kind": "party"})
    assert r.status_code == 422
    assert "Loại" in r.text


def test_deck_upload_form_renders_thumbnail(
    admin_client: TestClient, tree: Tree, db: Session, settings: Settings
) -> None:
    sid = _session(admin_client, tree)
    post(admin_client, f"/sessions/{sid}/agenda", {"title": "Báo cáo AI", "kind": "talk"})
    item_id = _item_ids(db, sid)[0]
    r = admin_client.post(
        f"/agenda-items/{item_id}/deck",
        data={"csrf_token": csrf(admin_client)},
        files={"file": ("bai-giang.pdf", make_pdf(2), "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = admin_client.get(f"/sessions/{sid}").text
    assert "bai-giang.pdf · 2 trang" in page
    thumb = re.search(r'src="(/decks/\d+/[^/]+/1\.png)"', page)
    assert thumb and admin_client.get(thumb.group(1)).status_code == 200


def test_deck_upload_form_without_csrf_is_refused(
    admin_client: TestClient, tree: Tree, db: Session, settings: Settings
) -> None:
    sid = _session(admin_client, tree)
    post(admin_client, f"/sessions/{sid}/agenda", {"title": "Báo cáo AI", "kind": "talk"})
    item_id = _item_ids(db, sid)[0]
    r = admin_client.post(
        f"/agenda-items/{item_id}/deck", data={"csrf_token": "forged"},
        files={"file": ("a.pdf", make_pdf(1), "application/pdf")}, follow_redirects=False,
    )
    assert r.status_code == 403
    assert not list((settings.data_dir / "decks").glob("[0-9]*"))


def test_deck_upload_form_with_non_pdf_shows_reason(
    admin_client: TestClient, tree: Tree, db: Session
) -> None:
    sid = _session(admin_client, tree)
    post(admin_client, f"/sessions/{sid}/agenda", {"title": "Báo cáo AI", "kind": "talk"})
    item_id = _item_ids(db, sid)[0]
    r = admin_client.post(
        f"/agenda-items/{item_id}/deck", data={"csrf_token": csrf(admin_client)},
        files={"file": ("a.pdf", b"not a pdf", "application/pdf")}, follow_redirects=False,
    )
    assert r.status_code == 415
    assert "không phải là PDF" in r.text


def test_close_session_from_page(admin_client: TestClient, tree: Tree) -> None:
    sid = _session(admin_client, tree)
    r = post(admin_client, f"/sessions/{sid}/close")
    assert r.status_code == 303
    page = admin_client.get(f"/sessions/{sid}").text
    assert "đã kết thúc" in page and "Điều khiển trình chiếu" not in page


# --------------------------------------------------------- presenter console


def test_console_renders_agenda_state_and_script(
    admin_client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    session = create_session(admin_client, tree.cid, admin_headers)
    first = add_item(admin_client, session["id"], admin_headers, "Khai mạc", "opening")
    admin_client.put(f"/api/v1/sessions/{session['id']}/state",
                     json={"agenda_item_id": first["id"]}, headers=admin_headers)
    r = admin_client.get(f"/sessions/{session['id']}/console")
    assert r.status_code == 200
    assert '<script src="/static/presenter.js"></script>' in r.text
    assert 'name="csrf-token"' in r.text
    raw = re.search(r'<script type="application/json" id="console-data">(.*?)</script>', r.text,
                    re.S)
    assert raw
    data: dict[str, Any] = json.loads(raw.group(1))
    assert data["session_id"] == session["id"] and data["conference_id"] == tree.cid
    assert [i["id"] for i in data["items"]] == [first["id"]]
    assert data["stage"]["version"] == 1 and data["stage"]["item"]["title"] == "Khai mạc"
    assert admin_client.get("/static/presenter.js").status_code == 200


def test_console_data_cannot_break_out_of_script(
    admin_client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    session = create_session(admin_client, tree.cid, admin_headers)
    add_item(admin_client, session["id"], admin_headers, "</script><script>alert(1)</script>")
    r = admin_client.get(f"/sessions/{session['id']}/console")
    assert "<script>alert(1)" not in r.text


# ------------------------------------------------------------ follow-along


def test_follow_page_shows_stage_without_login(
    client: TestClient, tree: Tree, admin_headers: dict[str, str], settings: Settings,
    db: Session,
) -> None:
    make_live(db, tree.cid)  # a link expires with its conference
    session = create_session(client, tree.cid, admin_headers)
    first = add_item(client, session["id"], admin_headers, "Khai mạc", "opening")
    add_item(client, session["id"], admin_headers, "Báo cáo chuyên đề")
    client.put(f"/api/v1/sessions/{session['id']}/state",
               json={"agenda_item_id": first["id"], "notice": "Mời đại biểu ổn định chỗ ngồi"},
               headers=admin_headers)
    token = follow_links.sign(conference_id=tree.cid, generation=0, secret=SECRET)
    client.cookies.clear()
    r = client.get(f"/follow/{token}")
    assert r.status_code == 200
    assert "Mời đại biểu ổn định chỗ ngồi" in r.text
    assert f'data-item="{first["id"]}" class="current"' in r.text
    assert "Báo cáo chuyên đề" in r.text
    assert '<script src="/static/follow.js"' in r.text
    assert client.get("/static/follow.js").status_code == 200


@pytest.mark.parametrize("forge", ["other-secret", "garbage", "tampered"])
def test_follow_page_with_forged_token_is_404(
    client: TestClient, tree: Tree, forge: str
) -> None:
    good = follow_links.sign(conference_id=tree.cid, generation=0, secret=SECRET)
    token = {
        "other-secret": follow_links.sign(conference_id=tree.cid, generation=0, secret="x" * 40),
        "garbage": "not-a-token",
        "tampered": "eyJjIjoyfQ." + good.split(".")[-1],
    }[forge]
    r = client.get(f"/follow/{token}")
    assert r.status_code == 404
    assert "Chương trình" not in r.text
