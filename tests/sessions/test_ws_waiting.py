"""/ws/screen between conferences: the waiting screen, then the next conference's stage.

The screen's pairing is kept: one token follows conference A, waits, then follows B.
"""

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from starlette.websockets import WebSocketDisconnect

from app.accounts.models import User
from app.db import local_today
from endpoints import service as endpoints_service
from endpoints.models import ConferenceCreate
from sessions import events
from tests.conftest import Tree
from tests.sessions.support import make_live, run_on

SITE = "Đảng ủy phường Bến Nghé"  # tree.ward_a1


@pytest.fixture
def token(client: TestClient, tree: Tree, admin_headers: dict[str, str]) -> str:
    """A screen of ward A1, paired once; looks for a live conference every 50 ms."""
    client.app.state.screen_recheck_seconds = 0.05  # type: ignore[attr-defined]
    r = client.post(f"/api/v1/sites/{tree.ward_a1}/screen-token", headers=admin_headers)
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def _conference_b(db: Session, admin: User, tree: Tree, days_ahead: int) -> int:
    """A second conference with ward A1 (and the sites above it) invited."""
    day = local_today() + timedelta(days=days_ahead)
    conference = endpoints_service.create_conference(
        db, data=ConferenceCreate(title="Hội nghị quý I", starts_on=day, ends_on=day), actor=admin
    )
    assert conference.id is not None
    site = endpoints_service.load_site(db, tree.ward_a1)
    endpoints_service.invite_ancestors(db, conference_id=conference.id, site=site)
    endpoints_service.invite_site(db, conference_id=conference.id, site=site)
    db.commit()
    return conference.id


def _session(client: TestClient, conference_id: int, headers: dict[str, str]) -> int:
    r = client.post(
        f"/api/v1/conferences/{conference_id}/sessions",
        json={"title": "Phiên khai mạc", "starts_at": "2026-01-05T01:30:00Z",
              "ends_at": "2026-01-05T04:00:00Z"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _receive(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.receive_text())
    return message


def test_between_conferences_the_screen_waits_with_site_and_next(
    client: TestClient, db: Session, admin: User, tree: Tree, token: str,
    admin_headers: dict[str, str],
) -> None:
    cid = _conference_b(db, admin, tree, days_ahead=5)
    _session(client, cid, admin_headers)
    with client.websocket_connect(f"/ws/screen?token={token}") as ws:
        message = _receive(ws)
        ws.send_text(events.HEARTBEAT)  # a waiting screen still reports it is there
        view = events.decode_waiting(json.dumps(message))
    assert message["type"] == "waiting" and view.site_name == SITE
    assert view.next is not None
    assert (view.next.conference_id, view.next.title) == (cid, "Hội nghị quý I")
    assert view.next.starts_on == local_today() + timedelta(days=5)
    assert message["next"]["starts_at"] == "2026-01-05T08:30:00+07:00"
    assert view.now.utcoffset() == timedelta(hours=7)


def test_waiting_screen_without_next_conference(client: TestClient, token: str) -> None:
    with client.websocket_connect(f"/ws/screen?token={token}") as ws:
        message = _receive(ws)
    assert (message["type"], message["site_name"], message["next"]) == ("waiting", SITE, None)


def test_waiting_screen_hears_of_a_newly_invited_conference(
    client: TestClient, db: Session, admin: User, tree: Tree, token: str
) -> None:
    with client.websocket_connect(f"/ws/screen?token={token}") as ws:
        assert _receive(ws)["next"] is None
        cid = _conference_b(db, admin, tree, days_ahead=10)
        assert _receive(ws)["next"]["conference_id"] == cid


def test_one_pairing_follows_a_then_waits_then_follows_b(
    client: TestClient, db: Session, admin: User, tree: Tree, token: str,
    admin_headers: dict[str, str],
) -> None:
    today = local_today()
    make_live(db, tree.cid)
    _session(client, tree.cid, admin_headers)
    with client.websocket_connect(f"/ws/screen?token={token}") as ws:
        first = _receive(ws)
    assert (first["type"], first["conference_id"]) == ("snapshot", tree.cid)

    run_on(db, tree.cid, today - timedelta(days=30))
    cid_b = _conference_b(db, admin, tree, days_ahead=3)
    with client.websocket_connect(f"/ws/screen?token={token}") as ws:
        waiting = _receive(ws)
        assert waiting["type"] == "waiting" and waiting["next"]["conference_id"] == cid_b
        make_live(db, cid_b)  # the same socket moves on to B once it is live
        second = _receive(ws)
    assert (second["type"], second["conference_id"]) == ("snapshot", cid_b)
    assert second["conference_title"] == "Hội nghị quý I"

    with client.websocket_connect(f"/ws/screen?token={token}") as ws:
        third = _receive(ws)
    assert (third["type"], third["conference_id"]) == ("snapshot", cid_b)


def test_a_version_of_another_conference_is_not_resumed(
    client: TestClient, db: Session, admin: User, tree: Tree, token: str
) -> None:
    cid_b = _conference_b(db, admin, tree, days_ahead=0)
    with client.websocket_connect(f"/ws/screen?token={token}") as ws:
        version = _receive(ws)["version"]
    url = f"/ws/screen?token={token}&since={version}"
    with client.websocket_connect(f"{url}&conference={cid_b}") as ws:
        assert _receive(ws) == {"type": "resumed", "version": version}
    for other in (tree.cid, "abc"):
        with client.websocket_connect(f"{url}&conference={other}") as ws:
            assert _receive(ws)["type"] == "snapshot"


@pytest.mark.parametrize(
    ("frame", "code"), [('{"type":"hack"}', 4400), (None, 4429)], ids=["bad", "flood"]
)
def test_waiting_socket_refuses_bad_messages_and_floods(
    client: TestClient, token: str, frame: str | None, code: int
) -> None:
    with client.websocket_connect(f"/ws/screen?token={token}") as ws:
        assert _receive(ws)["type"] == "waiting"
        for _ in range(1 if frame else 40):
            ws.send_text(frame or events.HEARTBEAT)
        with pytest.raises(WebSocketDisconnect) as info:
            for _ in range(5):
                ws.receive_text()
    assert info.value.code == code
