"""/ws/floor: the chair's snapshot, coalesced states after asks, resume, filters, one read
per session and filter, and every refusal (SQLite and PostgreSQL)."""

import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from starlette.websockets import WebSocketDisconnect

from app.accounts.models import User
from sessions.floor_feed import FeedKey, FloorFeeds
from tests.conftest import ADMIN_PASSWORD, Tree, token_for
from tests.sessions.floor_support import on_stage
from tests.sessions.support import new_items, new_session


def _token(client: TestClient, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
    return token_for(client, username, password)["Authorization"].split(" ", 1)[1]


def _ask(client: TestClient, headers: dict[str, str], sid: int, site: int,
         topic: str = "Kinh nghiệm chuyển đổi số") -> dict[str, Any]:
    r = client.post(f"/api/v1/sessions/{sid}/floor/requests", headers=headers, json={
        "site_id": site, "topic": topic, "speaker_name": "Trần Văn Bình",
        "speaker_position": "Bí thư Đảng ủy"})
    assert r.status_code in (200, 201), r.text
    body: dict[str, Any] = r.json()
    return body


def _until(ws: Any, done: Any, limit: int = 60) -> list[dict[str, Any]]:
    seen = []
    for _ in range(limit):
        msg = json.loads(ws.receive_text())
        seen.append(msg)
        if done(msg):
            return seen
    raise AssertionError(f"condition never met in {seen}")


def _close_code(ws: Any) -> tuple[int, str]:
    with pytest.raises(WebSocketDisconnect) as info:
        for _ in range(5):
            ws.receive_text()
    return info.value.code, info.value.reason


@pytest.fixture
def sid(db: Session, tree: Tree, admin: User) -> int:
    return on_stage(db, tree, admin)


@pytest.fixture
def coord(client: TestClient, coordinator_a: User) -> dict[str, str]:
    return token_for(client, "hcm", "hcm-password")


@pytest.mark.timeout(60)
def test_snapshot_then_a_state_after_an_ask_from_another_client(
    client: TestClient, tree: Tree, sid: int, coord: dict[str, str]
) -> None:
    with client.websocket_connect(f"/ws/floor?session_id={sid}&token={_token(client)}") as ws:
        snapshot = json.loads(ws.receive_text())
        assert snapshot["type"] == "snapshot" and snapshot["session_id"] == sid
        assert snapshot["requests"] == [] and snapshot["speaker"] is None and snapshot["now"]
        asked = _ask(client, coord, sid, tree.ward_a1)
        (state,) = _until(ws, lambda m: m["requests"])
    assert state["type"] == "state" and state["version"] > snapshot["version"]
    (row,) = state["requests"]
    assert row["id"] == asked["id"] and row["site_name"] == "Đảng ủy phường Bến Nghé"
    assert row["hub_name"] == "Trung tâm Hội nghị 272" and row["topic"]


@pytest.mark.timeout(60)
def test_many_asks_become_few_messages_with_growing_versions(
    client: TestClient, tree: Tree, sid: int, coord: dict[str, str]
) -> None:
    with client.websocket_connect(f"/ws/floor?session_id={sid}&token={_token(client)}") as ws:
        first = json.loads(ws.receive_text())["version"]
        start = time.monotonic()
        # Each ask (or change of an ask) is one queue change; three sites keep each under
        # its rate (sessions/floor_throttle.py).
        sites = (tree.ward_a1, tree.ward_a2, tree.hub_a)
        for i in range(24):
            _ask(client, coord, sid, sites[i % 3], topic=f"Chủ đề {i}")
        states = _until(ws, lambda m: m["version"] == first + 24)
        elapsed = time.monotonic() - start
    versions = [m["version"] for m in states]
    assert versions == sorted(set(versions))
    assert len(states) < 24 and len(states) <= 4 * elapsed + 2
    assert [r["topic"] for r in states[-1]["requests"]] == ["Chủ đề 21", "Chủ đề 22", "Chủ đề 23"]


@pytest.mark.timeout(60)
def test_chairs_of_one_session_and_filter_share_one_read(
    client: TestClient, tree: Tree, sid: int, coord: dict[str, str]
) -> None:
    url = f"/ws/floor?session_id={sid}&token={_token(client)}"
    with client.websocket_connect(url) as a, client.websocket_connect(url) as b:
        a.receive_text(), b.receive_text()
        _ask(client, coord, sid, tree.ward_a1)
        got_a, got_b = a.receive_text(), b.receive_text()
        feeds: FloorFeeds = client.app.state.floor_feeds  # type: ignore[attr-defined]
        feed = feeds.running(FeedKey(sid, None, None))
        assert feed is not None and feed.reads == 2 and len(feed.sinks) == 2
    assert got_a is got_b or got_a == got_b
    assert feeds.running(FeedKey(sid, None, None)) is None  # the last chair stopped it


@pytest.mark.timeout(60)
def test_filters_by_hub_and_kind(
    client: TestClient, tree: Tree, sid: int, coord: dict[str, str], admin_headers: dict[str, str]
) -> None:
    for site in (tree.ward_a1, tree.ward_a2):
        _ask(client, coord, sid, site)
    _ask(client, admin_headers, sid, tree.ward_b1)
    token = _token(client)
    cases = {f"hub_id={tree.hub_b}": [tree.ward_b1], "kind=commune": [tree.ward_a2],
             f"hub_id={tree.hub_a}&kind=ward": [tree.ward_a1],
             "": [tree.ward_a1, tree.ward_a2, tree.ward_b1]}
    for query, sites in cases.items():
        with client.websocket_connect(f"/ws/floor?session_id={sid}&{query}&token={token}") as ws:
            assert [r["site_id"] for r in json.loads(ws.receive_text())["requests"]] == sites


def test_resume_with_the_current_version_says_resumed(
    client: TestClient, tree: Tree, sid: int, coord: dict[str, str]
) -> None:
    token = _token(client)
    _ask(client, coord, sid, tree.ward_a1)
    with client.websocket_connect(f"/ws/floor?session_id={sid}&token={token}") as ws:
        version = json.loads(ws.receive_text())["version"]
    url = f"/ws/floor?session_id={sid}&token={token}&since="
    with client.websocket_connect(url + str(version)) as ws:
        assert json.loads(ws.receive_text()) == {"type": "resumed", "version": version}
    with client.websocket_connect(url + str(version - 1)) as ws:
        msg = json.loads(ws.receive_text())
    assert msg["type"] == "snapshot" and msg["version"] == version and msg["requests"]


@pytest.mark.timeout(60)
def test_the_speaker_arrives_when_the_floor_is_given(
    client: TestClient, tree: Tree, sid: int, coord: dict[str, str], admin_headers: dict[str, str]
) -> None:
    asked = _ask(client, coord, sid, tree.ward_a1)
    client.cookies.set("diemcau_session", _token(client))  # the login cookie counts too
    with client.websocket_connect(f"/ws/floor?session_id={sid}") as ws:
        json.loads(ws.receive_text())
        r = client.post(f"/api/v1/floor/requests/{asked['id']}/give", headers=admin_headers,
                        json={"limit_seconds": 120})
        assert r.status_code == 200, r.text
        (state,) = _until(ws, lambda m: m["speaker"])
    assert state["speaker"]["id"] == asked["id"] and state["speaker"]["limit_seconds"] == 120
    assert state["requests"] == []


def test_a_coordinator_is_refused_4403_admin_only(
    client: TestClient, sid: int, coordinator_a: User
) -> None:
    token = _token(client, "hcm", "hcm-password")
    with client.websocket_connect(f"/ws/floor?session_id={sid}&token={token}") as ws:
        assert _close_code(ws) == (4403, "admin_only")


@pytest.mark.parametrize("token", ["", "forged", "x" * 5000])
def test_bad_token_is_closed_4401(client: TestClient, sid: int, token: str) -> None:
    with client.websocket_connect(f"/ws/floor?session_id={sid}&token={token}") as ws:
        assert _close_code(ws) == (4401, "invalid_token")


def test_unknown_session_is_closed_4404(client: TestClient, tree: Tree) -> None:
    with client.websocket_connect(f"/ws/floor?session_id=99999&token={_token(client)}") as ws:
        assert _close_code(ws) == (4404, "not_found")


@pytest.mark.parametrize("query", ["", "session_id=abc", "session_id=1&since=-1",
                                   "session_id=1&hub_id=x", "session_id=1&kind=planet"])
def test_bad_query_is_closed_4400(client: TestClient, tree: Tree, query: str) -> None:
    with client.websocket_connect(f"/ws/floor?{query}&token={_token(client)}") as ws:
        assert _close_code(ws)[0] == 4400


def test_foreign_origin_is_refused_before_accepting(client: TestClient, sid: int) -> None:
    url = f"/ws/floor?session_id={sid}&token={_token(client)}"
    with (
        pytest.raises(WebSocketDisconnect) as info,
        client.websocket_connect(url, headers={"Origin": "https://evil.example"}),
    ):
        pass
    assert info.value.code == 4403


@pytest.mark.timeout(30)
def test_logging_out_closes_the_chair_socket(client: TestClient, sid: int) -> None:
    headers = token_for(client, "admin", ADMIN_PASSWORD)
    token = headers["Authorization"].split(" ", 1)[1]
    with client.websocket_connect(f"/ws/floor?session_id={sid}&token={token}") as ws:
        json.loads(ws.receive_text())
        assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
        assert _close_code(ws) == (4401, "account_revoked")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("how", ["another_session_on_stage", "session_closed"])
def test_the_chair_sees_the_speaker_end_when_the_stage_leaves_the_session(
    client: TestClient, db: Session, tree: Tree, admin: User, sid: int, coord: dict[str, str],
    admin_headers: dict[str, str], how: str,
) -> None:
    asked = _ask(client, coord, sid, tree.ward_a1)
    r = client.post(f"/api/v1/floor/requests/{asked['id']}/give", headers=admin_headers, json={})
    assert r.status_code == 200, r.text
    with client.websocket_connect(f"/ws/floor?session_id={sid}&token={_token(client)}") as ws:
        snapshot = json.loads(ws.receive_text())
        assert snapshot["speaker"]["id"] == asked["id"]
        if how == "session_closed":
            r = client.post(f"/api/v1/sessions/{sid}/close", headers=admin_headers)
        else:
            other = new_session(db, tree, admin, "Phiên chiều")
            item = new_items(db, other, admin, "Báo cáo")[0]
            r = client.put(f"/api/v1/sessions/{other}/state", headers=admin_headers,
                           json={"agenda_item_id": item})
        assert r.status_code == 200, r.text
        (state,) = _until(ws, lambda m: m["speaker"] is None)
    assert state["version"] > snapshot["version"]
