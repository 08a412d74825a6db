"""The /ws/screen stream: snapshot, versioned changes, resume, and every refusal."""

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from starlette.websockets import WebSocketDisconnect

from app.accounts.models import User
from endpoints import screens
from endpoints import service as endpoints_service
from tests.checkin.support import StatementCounter
from tests.conftest import Tree, sockets_one_at_a_time
from tests.sessions.support import make_live


@pytest.fixture
def stage(
    client: TestClient, db: Session, tree: Tree, admin_headers: dict[str, str]
) -> dict[str, Any]:
    """A conference live today with one session of three agenda items, and a screen token."""
    make_live(db, tree.cid)
    r = client.post(
        f"/api/v1/conferences/{tree.cid}/sessions",
        json={
            "title": "Phiên khai mạc",
            "starts_at": "2025-09-09T01:00:00Z",
            "ends_at": "2025-09-09T03:00:00Z",
        },
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    session_id = r.json()["id"]
    items = []
    for title, kind in (
        ("Khai mạc", "opening"),
        ("Báo cáo AI", "talk"),
        ("Thảo luận", "discussion"),
    ):
        r = client.post(
            f"/api/v1/sessions/{session_id}/agenda",
            json={"title": title, "kind": kind},
            headers=admin_headers,
        )
        assert r.status_code == 201, r.text
        items.append(r.json()["id"])
    r = client.post(f"/api/v1/sites/{tree.ward_a1}/screen-token", headers=admin_headers)
    assert r.status_code == 201
    return {
        "session_id": session_id,
        "items": items,
        "token": r.json()["token"],
        "headers": admin_headers,
    }


def _move(client: TestClient, stage: dict[str, Any], **state: Any) -> int:
    r = client.put(
        f"/api/v1/sessions/{stage['session_id']}/state", json=state, headers=stage["headers"]
    )
    assert r.status_code == 200, r.text
    return int(r.json()["version"])


def _close_code(ws: Any) -> int:
    with pytest.raises(WebSocketDisconnect) as info:
        for _ in range(5):
            ws.receive_text()
    return info.value.code


def test_screen_gets_snapshot_then_changes_in_order(
    client: TestClient, stage: dict[str, Any]
) -> None:
    v1 = _move(client, stage, agenda_item_id=stage["items"][0])
    with client.websocket_connect(f"/ws/screen?token={stage['token']}") as ws:
        snapshot = json.loads(ws.receive_text())
        assert snapshot["type"] == "snapshot" and snapshot["version"] == v1
        assert snapshot["item"]["title"] == "Khai mạc"
        v2 = _move(client, stage, agenda_item_id=stage["items"][1])
        v3 = _move(client, stage, notice="Các điểm cầu kiểm tra âm thanh")
        first, second = json.loads(ws.receive_text()), json.loads(ws.receive_text())
    assert [first["type"], second["type"]] == ["state", "state"]
    assert [first["version"], second["version"]] == [v2, v3] == [v1 + 1, v1 + 2]
    assert first["item"]["title"] == "Báo cáo AI"
    assert second["notice"] == "Các điểm cầu kiểm tra âm thanh"


def test_late_joiner_gets_current_state(client: TestClient, stage: dict[str, Any]) -> None:
    _move(client, stage, agenda_item_id=stage["items"][0])
    v = _move(client, stage, agenda_item_id=stage["items"][2])
    with client.websocket_connect(f"/ws/screen?token={stage['token']}") as ws:
        snapshot = json.loads(ws.receive_text())
    assert snapshot["version"] == v
    assert snapshot["item"]["title"] == "Thảo luận"


def test_resume_with_current_since_sends_resumed(client: TestClient, stage: dict[str, Any]) -> None:
    v = _move(client, stage, agenda_item_id=stage["items"][0])
    with client.websocket_connect(f"/ws/screen?token={stage['token']}&since={v}") as ws:
        assert json.loads(ws.receive_text()) == {"type": "resumed", "version": v}


def test_resume_after_gap_sends_fresh_snapshot(client: TestClient, stage: dict[str, Any]) -> None:
    v = _move(client, stage, agenda_item_id=stage["items"][0])
    v_now = _move(client, stage, agenda_item_id=stage["items"][1])
    with client.websocket_connect(f"/ws/screen?token={stage['token']}&since={v}") as ws:
        msg = json.loads(ws.receive_text())
    assert msg["type"] == "snapshot" and msg["version"] == v_now
    assert msg["item"]["title"] == "Báo cáo AI"


@pytest.mark.parametrize("since", ["999999", "-1", "abc", "1e3"])
def test_bad_or_future_since_is_refused(
    client: TestClient, stage: dict[str, Any], since: str
) -> None:
    _move(client, stage, agenda_item_id=stage["items"][0])
    with client.websocket_connect(f"/ws/screen?token={stage['token']}&since={since}") as ws:
        assert _close_code(ws) == 4400


@pytest.mark.parametrize("token", ["", "scr_forged", "garbage", "scr_" + "A" * 43])
def test_bad_token_is_closed_4401(client: TestClient, stage: dict[str, Any], token: str) -> None:
    with client.websocket_connect(f"/ws/screen?token={token}") as ws:
        assert _close_code(ws) == 4401


def test_revoked_token_is_closed_4401(
    client: TestClient, stage: dict[str, Any], db: Session, admin: User
) -> None:
    ctx = endpoints_service.screen_for_token(db, token=stage["token"])
    assert ctx is not None
    screens.revoke_screen(db, screen_id=ctx.screen_id, actor=admin)
    with client.websocket_connect(f"/ws/screen?token={stage['token']}") as ws:
        assert _close_code(ws) == 4401


def test_foreign_origin_is_refused_before_accept(client: TestClient, stage: dict[str, Any]) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as info,
        client.websocket_connect(
            f"/ws/screen?token={stage['token']}", headers={"Origin": "https://evil.example"}
        ) as ws,
    ):
        ws.receive_text()
    assert info.value.code == 4403


def test_same_origin_is_accepted(client: TestClient, stage: dict[str, Any]) -> None:
    with client.websocket_connect(
        f"/ws/screen?token={stage['token']}", headers={"Origin": "http://testserver"}
    ) as ws:
        assert json.loads(ws.receive_text())["type"] == "snapshot"


@pytest.mark.parametrize(
    "frame",
    ["not json", '{"type":"hack"}', "x" * 5000, b"\x00\x01binary"],
    ids=["text", "unknown-type", "oversized", "binary"],
)
def test_malformed_frame_closes_4400(
    client: TestClient, stage: dict[str, Any], frame: str | bytes
) -> None:
    with client.websocket_connect(f"/ws/screen?token={stage['token']}") as ws:
        ws.receive_text()
        if isinstance(frame, bytes):
            ws.send_bytes(frame)
        else:
            ws.send_text(frame)
        assert _close_code(ws) == 4400


def test_heartbeat_flood_closes_4429(client: TestClient, stage: dict[str, Any]) -> None:
    with client.websocket_connect(f"/ws/screen?token={stage['token']}") as ws:
        ws.receive_text()
        for _ in range(40):
            ws.send_text('{"type":"heartbeat"}')
        assert _close_code(ws) == 4429


def test_heartbeat_marks_screen_online(
    client: TestClient, stage: dict[str, Any], tree: Tree
) -> None:
    with client.websocket_connect(f"/ws/screen?token={stage['token']}") as ws:
        ws.receive_text()
        ws.send_text('{"type":"heartbeat"}')
        presence = client.app.state.screen_presence  # type: ignore[attr-defined]
        assert client.portal is not None
        client.portal.call(presence.flush)
        r = client.get(f"/api/v1/conferences/{tree.cid}/screens/online", headers=stage["headers"])
    assert r.json() == {"online": 1, "sites_online": 1}


@pytest.fixture
def sockets() -> Iterator[list[Any]]:
    opened: list[Any] = []
    yield opened
    for ws in opened:
        ws.__exit__(None, None, None)


def test_follow_link_streams_stage_to_phone(client: TestClient, stage: dict[str, Any]) -> None:
    v = _move(client, stage, agenda_item_id=stage["items"][1])
    conference_id = client.get(
        f"/api/v1/sessions/{stage['session_id']}", headers=stage["headers"]
    ).json()["conference_id"]
    link = client.get(
        f"/api/v1/conferences/{conference_id}/follow-link", headers=stage["headers"]
    ).json()
    with client.websocket_connect(f"/ws/follow?token={link['token']}") as ws:
        snapshot = json.loads(ws.receive_text())
        assert (snapshot["type"], snapshot["version"]) == ("snapshot", v)
        v2 = _move(client, stage, slide=1, agenda_item_id=stage["items"][2])
        change = json.loads(ws.receive_text())
    assert (change["type"], change["version"]) == ("state", v2)
    assert change["item"]["title"] == "Thảo luận"


@pytest.mark.parametrize("token", ["", "forged.token.value", "x" * 3000])
def test_follow_with_bad_token_is_closed_4401(
    client: TestClient, stage: dict[str, Any], token: str
) -> None:
    with client.websocket_connect(f"/ws/follow?token={token}") as ws:
        assert _close_code(ws) == 4401


# ------------------------------------------------------- token floods cost nothing

MALFORMED = ["scr_x", "", "garbage", "scr_" + "A" * 42, "scr_" + "!" * 43, "scr_" + "x" * 90]


def _flood(
    client: TestClient, url: str, tokens: list[str], times: int, marker: str = "token_hash"
) -> list[str]:
    """Handshakes with each token in turn (`times` in all); the token lookups they sent
    (statements naming `marker`: the background presence ticker reads too)."""
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with sockets_one_at_a_time(client), StatementCounter(engine) as counter:
        for i in range(times):
            with client.websocket_connect(f"{url}{tokens[i % len(tokens)]}") as ws:
                assert _close_code(ws) == 4401
    return [s for s in counter.statements if marker in s]


@pytest.mark.timeout(120)
def test_malformed_screen_tokens_cost_no_sql(client: TestClient, stage: dict[str, Any]) -> None:
    assert _flood(client, "/ws/screen?token=", MALFORMED, 1000) == []


def test_unknown_screen_token_is_looked_up_once(
    client: TestClient, stage: dict[str, Any]
) -> None:
    unknown = "scr_" + secrets.token_urlsafe(32)
    once = _flood(client, "/ws/screen?token=", [unknown], 1)
    assert len(once) == 1
    assert _flood(client, "/ws/screen?token=", [unknown], 200) == []
