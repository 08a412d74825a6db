"""Follow links: genuine, per conference, rotatable by the central office, expiring with
the conference; old links are refused with a clear code on the page, the API and the socket."""

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from starlette.websockets import WebSocketDisconnect

from app.db import local_today
from app.errors import AppError
from endpoints.models import Conference
from sessions import errors, follow_links
from tests.checkin.support import StatementCounter
from tests.conftest import ADMIN_PASSWORD, SECRET, Tree, sockets_one_at_a_time, token_for
from tests.endpoints.support import csrf, login
from tests.sessions.support import make_live, run_on


@pytest.fixture
def coordinator_headers(client: TestClient, coordinator_a: Any) -> dict[str, str]:
    return token_for(client, "hcm", "hcm-password")


@pytest.fixture
def admin_client(client: TestClient, admin: Any) -> TestClient:
    login(client, "admin", ADMIN_PASSWORD)
    return client

# ------------------------------------------------------------------ tokens


def test_token_names_its_conference_and_generation() -> None:
    token = follow_links.sign(conference_id=7, generation=3, secret=SECRET)
    assert follow_links.read(token=token, secret=SECRET) == follow_links.FollowClaims(7, 3)
    legacy = follow_links.sign(conference_id=7, generation=0, secret=SECRET)
    assert follow_links.read(token=legacy, secret=SECRET) == follow_links.FollowClaims(7, 0)


@pytest.mark.parametrize("token", ["", "abc", "eyJjIjo3fQ.forged", "x" * 500])
def test_forged_token_names_nothing(token: str) -> None:
    assert follow_links.read(token=token, secret=SECRET) is None
    other = follow_links.sign(conference_id=7, generation=0, secret="another-" + "y" * 30)
    assert follow_links.read(token=other, secret=SECRET) is None


# ------------------------------------------------------------- lifecycle


def _code(db: Session, token: str, **kw: Any) -> str | int:
    try:
        return follow_links.conference_of(db, token=token, secret=SECRET, **kw)
    except AppError as exc:
        return exc.code


def test_link_expires_at_the_end_of_the_last_day_plus_grace(db: Session, tree: Tree) -> None:
    run_on(db, tree.cid, date(2026, 3, 1), date(2026, 3, 2))
    token = follow_links.current_token(db, conference_id=tree.cid, secret=SECRET)
    conference = db.get(Conference, tree.cid)
    assert conference is not None
    end = follow_links.expires_at(conference, grace_days=0)
    # 2026-03-03 00:00 in Vietnam (UTC+7) is 2026-03-02 17:00 UTC.
    assert end == 1772470800.0
    assert _code(db, token, grace_days=0, now=end - 1) == tree.cid
    follow_links.forget(db)
    assert _code(db, token, grace_days=0, now=end) == "follow_link_expired"
    follow_links.forget(db)
    assert _code(db, token, grace_days=2, now=end + 86400) == tree.cid


def test_rotation_refuses_every_earlier_link(db: Session, tree: Tree, admin: Any) -> None:
    make_live(db, tree.cid)
    old = follow_links.current_token(db, conference_id=tree.cid, secret=SECRET)
    assert _code(db, old, grace_days=0) == tree.cid
    new = follow_links.rotate(db, conference_id=tree.cid, actor=admin, secret=SECRET)
    assert new != old
    assert _code(db, old, grace_days=0) == "follow_link_revoked"
    assert _code(db, new, grace_days=0) == tree.cid
    newer = follow_links.rotate(db, conference_id=tree.cid, actor=admin, secret=SECRET)
    assert _code(db, new, grace_days=0) == "follow_link_revoked"
    assert _code(db, newer, grace_days=0) == tree.cid
    unknown = follow_links.sign(conference_id=9999, generation=0, secret=SECRET)
    assert _code(db, unknown, grace_days=0) == "follow_link_invalid"


def test_offered_token_is_the_current_link_and_none_once_expired(
    db: Session, tree: Tree, admin: Any
) -> None:
    run_on(db, tree.cid, date(2026, 3, 1), date(2026, 3, 2))
    conference = db.get(Conference, tree.cid)
    assert conference is not None
    end = follow_links.expires_at(conference, grace_days=0)

    def offered(now: float) -> str | None:
        return follow_links.offered_token(db, conference_id=tree.cid, secret=SECRET,
                                          grace_days=0, now=now)

    first = offered(end - 1)
    assert first == follow_links.current_token(db, conference_id=tree.cid, secret=SECRET)
    assert offered(end) is None  # an expired link would only be refused
    rotated = follow_links.rotate(db, conference_id=tree.cid, actor=admin, secret=SECRET)
    assert offered(end - 1) == rotated != first
    assert follow_links.offered_token(db, conference_id=9999, secret=SECRET,
                                      grace_days=0) is None


def test_only_the_central_office_rotates(db: Session, tree: Tree, coordinator_a: Any) -> None:
    with pytest.raises(AppError) as info:
        follow_links.rotate(db, conference_id=tree.cid, actor=coordinator_a, secret=SECRET)
    assert info.value.status_code == 403


# ------------------------------------------------------------ routes


def test_rotate_route_and_old_link_refused_everywhere(
    client: TestClient, db: Session, tree: Tree, admin_headers: dict[str, str],
    coordinator_headers: dict[str, str],
) -> None:
    make_live(db, tree.cid)
    old = client.get(f"/api/v1/conferences/{tree.cid}/follow-link", headers=admin_headers).json()
    # Today's conference: its link works until midnight tonight, Vietnam time.
    assert old["expires_at"].startswith(local_today().isoformat())
    url = f"/api/v1/conferences/{tree.cid}/follow-link/rotate"
    assert client.post(url, headers=coordinator_headers).status_code == 403
    r = client.post(url, headers=admin_headers)
    assert r.status_code == 200 and r.json()["token"] != old["token"]
    agenda = client.get(f"/api/v1/follow/{old['token']}/agenda")
    assert (agenda.status_code, agenda.json()["code"]) == (410, "follow_link_revoked")
    page = client.get(f"/follow/{old['token']}")
    assert page.status_code == 410
    with (client.websocket_connect(f"/ws/follow?token={old['token']}") as ws,
          pytest.raises(WebSocketDisconnect) as info):
        ws.receive_text()
    assert (info.value.code, info.value.reason) == (4401, "follow_link_revoked")
    assert client.get(f"/api/v1/follow/{r.json()['token']}/agenda").status_code == 200


def test_expired_link_is_refused_with_its_code(
    client: TestClient, db: Session, tree: Tree, admin_headers: dict[str, str]
) -> None:
    link = client.get(f"/api/v1/conferences/{tree.cid}/follow-link", headers=admin_headers)
    token = link.json()["token"]  # the test conference ended in 2025
    agenda = client.get(f"/api/v1/follow/{token}/agenda")
    assert (agenda.status_code, agenda.json()["code"]) == (410, "follow_link_expired")
    with (client.websocket_connect(f"/ws/follow?token={token}") as ws,
          pytest.raises(WebSocketDisconnect) as info):
        ws.receive_text()
    assert (info.value.code, info.value.reason) == (4401, "follow_link_expired")


def test_sessions_page_has_a_rotate_button(
    admin_client: TestClient, db: Session, tree: Tree
) -> None:
    make_live(db, tree.cid)
    page = admin_client.get(f"/conferences/{tree.cid}/sessions")
    assert 'id="follow-rotate"' in page.text and 'id="follow-ends"' in page.text
    before = page.text.split("/follow/")[1].split('"')[0]
    r = admin_client.post(f"/conferences/{tree.cid}/follow-link/rotate",
                          data={"csrf_token": csrf(admin_client)}, follow_redirects=False)
    assert r.status_code == 303
    after = admin_client.get(r.headers["location"])
    assert "Đã đổi đường dẫn theo dõi" in after.text and before not in after.text


@pytest.mark.timeout(120)
def test_forged_follow_tokens_cost_no_sql(client: TestClient, tree: Tree) -> None:
    forged = ["", "scr_x", "eyJjIjoxfQ.forged",
              follow_links.sign(conference_id=tree.cid, generation=0, secret="x" * 40)]
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with sockets_one_at_a_time(client), StatementCounter(engine) as counter:
        for i in range(1000):
            with client.websocket_connect(f"/ws/follow?token={forged[i % 4]}") as ws:
                with pytest.raises(WebSocketDisconnect) as info:
                    ws.receive_text()
                assert info.value.code == 4401
    assert [s for s in counter.statements if "follow_link" in s or "conference" in s] == []


def test_old_links_cost_one_lookup_per_cache_period(
    client: TestClient, db: Session, tree: Tree, admin: Any
) -> None:
    make_live(db, tree.cid)
    old = follow_links.current_token(db, conference_id=tree.cid, secret=SECRET)
    follow_links.rotate(db, conference_id=tree.cid, actor=admin, secret=SECRET)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with StatementCounter(engine) as counter:
        for _ in range(100):
            assert client.get(f"/api/v1/follow/{old}/agenda").status_code == 410
    assert len([s for s in counter.statements if "follow_link" in s]) <= 2


def test_errors_have_stable_codes() -> None:
    assert (errors.FollowLinkRevoked.code, errors.FollowLinkExpired.code) == (
        "follow_link_revoked", "follow_link_expired")


def test_socket_with_old_link_decides_from_memory(
    client: TestClient, db: Session, tree: Tree, admin: Any
) -> None:
    make_live(db, tree.cid)
    old = follow_links.current_token(db, conference_id=tree.cid, secret=SECRET)
    follow_links.rotate(db, conference_id=tree.cid, actor=admin, secret=SECRET)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with StatementCounter(engine) as counter:
        for _ in range(100):
            with (client.websocket_connect(f"/ws/follow?token={old}") as ws,
                  pytest.raises(WebSocketDisconnect) as info):
                ws.receive_text()
            assert info.value.reason == "follow_link_revoked"
    assert len([s for s in counter.statements if "follow_link" in s]) <= 2
