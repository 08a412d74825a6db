"""The presenter's form commands over HTTP, and what a site screen gets on /ws/screen:
the form in its stage messages, then its site's live count (after the snapshot, a late
joiner included), "đã đóng" once closed."""

import json
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from sessions import events
from tests.conftest import Tree
from tests.sessions.form_support import make_form
from tests.sessions.support import make_live


def _receive(ws: Any, kind: str) -> dict[str, Any]:
    """The next message of a type (heartbeat-free stream: each message is JSON)."""
    for _ in range(10):
        body: dict[str, Any] = json.loads(ws.receive_text())
        if body["type"] == kind:
            return body
    raise AssertionError(f"no {kind} message")


def test_a_screen_shows_the_open_form_and_its_live_count(
    client: TestClient, db: Session, tree: Tree, admin_headers: dict[str, str]
) -> None:
    make_live(db, tree.cid)
    r = client.post(f"/api/v1/conferences/{tree.cid}/sessions", headers=admin_headers,
                    json={"title": "Phiên khai mạc", "starts_at": "2025-09-09T01:00:00Z",
                          "ends_at": "2025-09-09T03:00:00Z"})
    sid = r.json()["id"]
    fid = make_form(db.get_bind(), conference_id=tree.cid, session_id=sid).form_id
    r = client.post(f"/api/v1/forms/{fid}/open", headers=admin_headers)
    assert r.status_code == 409 and r.json()["code"] == "session_not_on_stage"
    assert client.put(f"/api/v1/sessions/{sid}/state", json={},
                      headers=admin_headers).status_code == 200
    r = client.post(f"/api/v1/forms/{fid}/open", headers=admin_headers)
    assert r.status_code == 200, r.text
    assert r.json()["form"]["status"] == "open" and r.json()["form"]["id"] == fid
    token = client.post(f"/api/v1/sites/{tree.ward_a1}/screen-token",
                        headers=admin_headers).json()["token"]
    hub = client.app.state.hub  # type: ignore[attr-defined]
    with client.websocket_connect(f"/ws/screen?token={token}") as ws:
        snapshot = json.loads(ws.receive_text())
        assert snapshot["type"] == "snapshot" and snapshot["form"]["status"] == "open"
        assert _receive(ws, "form_count") == {  # right after the snapshot
            "type": "form_count", "form_id": fid, "site_id": tree.ward_a1, "count": 0}
        for _ in range(3):
            hub.publish(events.form_channel(tree.cid),
                        events.encode_form_answered(form_id=fid, site_id=tree.ward_a1))
        hub.publish(events.form_channel(tree.cid),
                    events.encode_form_answered(form_id=fid, site_id=tree.ward_a2))
        counts = [_receive(ws, "form_count")["count"]]
        while counts[-1] < 3:
            counts.append(_receive(ws, "form_count")["count"])
        assert counts[-1] == 3 and len(counts) <= 2  # coalesced; another site's not counted
        time.sleep(0.1)
        r = client.post(f"/api/v1/forms/{fid}/close", headers=admin_headers)
        assert r.status_code == 200
        closed = _receive(ws, "state")
        assert closed["form"]["status"] == "closed" and closed["version"] > snapshot["version"]
        with client.websocket_connect(f"/ws/screen?token={token}") as late:
            assert json.loads(late.receive_text())["form"]["status"] == "closed"
            assert _receive(late, "form_count")["count"] == 3  # a late joiner's count
    r = client.post(f"/api/v1/forms/{fid}/hide", headers=admin_headers)
    assert r.status_code == 200 and r.json()["form"] is None


def test_commands_are_the_central_office_s(
    client: TestClient, db: Session, tree: Tree, admin_headers: dict[str, str]
) -> None:
    r = client.post(f"/api/v1/conferences/{tree.cid}/sessions", headers=admin_headers,
                    json={"title": "Phiên khai mạc", "starts_at": "2025-09-09T01:00:00Z",
                          "ends_at": "2025-09-09T03:00:00Z"})
    fid = make_form(db.get_bind(), conference_id=tree.cid, session_id=r.json()["id"]).form_id
    for action in ("open", "close", "hide"):
        assert client.post(f"/api/v1/forms/{fid}/{action}").status_code == 401
    r = client.post("/api/v1/forms/999999/open", headers=admin_headers)
    assert r.status_code == 404 and r.json()["code"] == "form_not_found"
