"""/ws/dashboard: snapshot, coalesced updates, resume, scope, and every refusal."""

import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.checkin.support import StatementCounter
from tests.conftest import ADMIN_PASSWORD, Tree, sockets_one_at_a_time, token_for


def _token(client: TestClient, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
    return token_for(client, username, password)["Authorization"].split(" ", 1)[1]


def _attendees(client: TestClient, tree: Tree, headers: dict[str, str], site_id: int, n: int
               ) -> list[str]:
    r = client.post(f"/api/v1/conferences/{tree.cid}/attendees", headers=headers,
                    json=[{"full_name": f"Đại biểu {i}", "site_id": site_id} for i in range(n)])
    assert r.status_code == 201, r.text
    return [a["code"] for a in r.json()]


def _check_in(client: TestClient, headers: dict[str, str], code: str, site_id: int) -> None:
    r = client.post("/api/v1/checkins", headers=headers, json={"code": code, "site_id": site_id})
    assert r.status_code == 201, r.text


def _until(ws: Any, done: Any, limit: int = 50) -> list[dict[str, Any]]:
    seen = []
    for _ in range(limit):
        msg = json.loads(ws.receive_text())
        seen.append(msg)
        if done(msg):
            return seen
    raise AssertionError(f"condition never met in {seen}")


def _close_code(ws: Any) -> int:
    with pytest.raises(WebSocketDisconnect) as info:
        for _ in range(5):
            ws.receive_text()
    return info.value.code


@pytest.mark.timeout(60)
def test_dashboard_gets_snapshot_then_coalesced_updates(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    codes = _attendees(client, tree, admin_headers, tree.ward_a1, 40)
    url = f"/ws/dashboard?conference_id={tree.cid}&token={_token(client)}"
    with client.websocket_connect(url) as ws:
        snapshot = json.loads(ws.receive_text())
        assert snapshot["type"] == "snapshot" and snapshot["totals"]["checked_in"] == 0
        assert snapshot["sites_complete"] and len(snapshot["sites"]) == 6
        start = time.monotonic()
        for code in codes:
            _check_in(client, admin_headers, code, tree.ward_a1)
        updates = _until(ws, lambda m: m["totals"]["checked_in"] == 40)
        elapsed = time.monotonic() - start
    assert all(u["type"] == "update" for u in updates)
    versions = [u["version"] for u in updates]
    assert versions == list(range(snapshot["version"] + 1, snapshot["version"] + 1 + len(updates)))
    # Coalesced: at most 4 per second (+1 for the partial interval), never one per check-in.
    assert len(updates) <= 4 * elapsed + 2 and len(updates) < 40
    last = updates[-1]
    rows = {r["site_id"]: r for u in updates for r in u["sites"]}
    assert rows[tree.ward_a1]["checked_in"] == 40
    rollups = {r["site_id"]: r["totals"] for r in last["rollups"]}
    assert rollups[tree.hub_a]["checked_in"] == rollups[tree.central]["checked_in"] == 40
    assert sum(n for u in updates for _, n in u["arrivals_tail"]) >= 1


@pytest.mark.timeout(60)
def test_dashboard_shows_readiness_headcount_and_incident(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    url = f"/ws/dashboard?conference_id={tree.cid}&token={_token(client)}"
    with client.websocket_connect(url) as ws:
        json.loads(ws.receive_text())
        r = client.patch(f"/api/v1/sites/{tree.ward_b1}", headers=admin_headers,
                         json={"readiness": "ready"})
        assert r.status_code == 200
        r = client.post(f"/api/v1/sites/{tree.ward_a2}/headcounts", headers=admin_headers,
                        json={"counts": {"dai_bieu": 12}})
        assert r.status_code == 201, r.text
        r = client.post(f"/api/v1/sites/{tree.ward_a1}/incidents", headers=admin_headers,
                        json={"reason": "Mất tiếng"})
        assert r.status_code == 201, r.text
        updates = _until(ws, lambda m: m["totals"]["headcount"] == 12
                         and m["totals"]["sites_ready"] == 1 and "incidents" in m)
    rows = {r["site_id"]: r for u in updates for r in u["sites"]}
    assert rows[tree.ward_b1]["readiness"] == "ready"
    assert rows[tree.ward_a1]["readiness"] == "incident"
    assert rows[tree.ward_a2]["headcount"] == 12
    assert updates[-1]["incidents"][0]["reason"] == "Mất tiếng"


def test_resume_with_current_since_sends_resumed(client: TestClient, tree: Tree) -> None:
    token = _token(client)
    with client.websocket_connect(f"/ws/dashboard?conference_id={tree.cid}&token={token}") as ws:
        version = json.loads(ws.receive_text())["version"]
    url = f"/ws/dashboard?conference_id={tree.cid}&token={token}&since={version}"
    with client.websocket_connect(url) as ws:
        assert json.loads(ws.receive_text()) == {"type": "resumed", "version": version}


@pytest.mark.timeout(60)
def test_resume_after_gap_sends_fresh_snapshot(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    token = _token(client)
    codes = _attendees(client, tree, admin_headers, tree.ward_b1, 1)
    url = f"/ws/dashboard?conference_id={tree.cid}&token={token}"
    with client.websocket_connect(url) as ws:
        version = json.loads(ws.receive_text())["version"]
        with client.websocket_connect(url) as other:  # keeps the feed alive while we are away
            json.loads(other.receive_text())
            ws.close()
            _check_in(client, admin_headers, codes[0], tree.ward_b1)
            _until(other, lambda m: m["totals"]["checked_in"] == 1)
            with client.websocket_connect(url + f"&since={version}") as again:
                msg = json.loads(again.receive_text())
    assert msg["type"] == "snapshot" and msg["version"] > version
    assert msg["totals"]["checked_in"] == 1


def test_coordinator_gets_only_their_subtree(
    client: TestClient, tree: Tree, coordinator_a: Any
) -> None:
    token = _token(client, "hcm", "hcm-password")
    with client.websocket_connect(f"/ws/dashboard?conference_id={tree.cid}&token={token}") as ws:
        snapshot = json.loads(ws.receive_text())
    assert snapshot["scope_site_id"] == tree.hub_a
    assert {r["site_id"] for r in snapshot["sites"]} == {tree.hub_a, tree.ward_a1, tree.ward_a2}


def test_coordinator_asking_for_another_subtree_is_closed_4403(
    client: TestClient, tree: Tree, coordinator_a: Any
) -> None:
    token = _token(client, "hcm", "hcm-password")
    url = f"/ws/dashboard?conference_id={tree.cid}&token={token}&under_id={tree.hub_b}"
    with client.websocket_connect(url) as ws:
        assert _close_code(ws) == 4403


@pytest.mark.parametrize("token", ["", "forged", "x" * 5000])
def test_bad_token_is_closed_4401(client: TestClient, tree: Tree, token: str) -> None:
    with client.websocket_connect(f"/ws/dashboard?conference_id={tree.cid}&token={token}") as ws:
        assert _close_code(ws) == 4401


def test_login_cookie_is_accepted(client: TestClient, tree: Tree) -> None:
    client.cookies.set("diemcau_session", _token(client))
    with client.websocket_connect(f"/ws/dashboard?conference_id={tree.cid}") as ws:
        assert json.loads(ws.receive_text())["type"] == "snapshot"


def test_foreign_origin_is_refused_before_accepting(client: TestClient, tree: Tree) -> None:
    url = f"/ws/dashboard?conference_id={tree.cid}&token={_token(client)}"
    with (
        pytest.raises(WebSocketDisconnect) as info,
        client.websocket_connect(url, headers={"Origin": "https://evil.example"}),
    ):
        pass
    assert info.value.code == 4403


@pytest.mark.parametrize("query", ["", "conference_id=abc", "conference_id=1&since=-1",
                                   "conference_id=1&under_id=x"])
def test_bad_query_is_closed_4400(client: TestClient, tree: Tree, query: str) -> None:
    with client.websocket_connect(f"/ws/dashboard?{query}&token={_token(client)}") as ws:
        assert _close_code(ws) == 4400


def test_unknown_conference_is_closed_4404(client: TestClient, tree: Tree) -> None:
    url = f"/ws/dashboard?conference_id=99999&token={_token(client)}"
    with client.websocket_connect(url) as ws:
        assert _close_code(ws) == 4404


def test_http_snapshot_and_site_pages(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    r = client.get(f"/api/v1/conferences/{tree.cid}/dashboard", headers=admin_headers)
    assert r.status_code == 200 and r.json()["totals"]["sites"] == 6
    r = client.get(f"/api/v1/conferences/{tree.cid}/dashboard/sites",
                   params={"filter": "offline", "q": "hoan kiem"}, headers=admin_headers)
    assert r.status_code == 200
    assert [row["site_id"] for row in r.json()["rows"]] == [tree.ward_b1]
    r = client.get(f"/api/v1/conferences/{tree.cid}/dashboard/sites",
                   params={"filter": "bogus"}, headers=admin_headers)
    assert r.status_code == 422


# -- revocation: a socket checked at connect still closes when its account dies ----------


def _watching(client: TestClient, tree: Tree) -> Any:
    """A coordinator's dashboard socket, past its snapshot."""
    token = _token(client, "hcm", "hcm-password")
    ws = client.websocket_connect(f"/ws/dashboard?conference_id={tree.cid}&token={token}")
    ws.__enter__()
    assert json.loads(ws.receive_text())["type"] == "snapshot"
    return ws


@pytest.mark.timeout(30)
@pytest.mark.parametrize("action", ["disable", "logout"])
def test_disabled_or_logged_out_account_socket_closes_within_5_s(
    client: TestClient, tree: Tree, coordinator_a: Any, admin_headers: dict[str, str],
    action: str,
) -> None:
    ws = _watching(client, tree)
    try:
        start = time.monotonic()
        r = client.post(f"/api/v1/accounts/{coordinator_a.id}/{action}", headers=admin_headers)
        assert r.status_code in (200, 204), r.text
        assert _close_code(ws) == 4401
        assert time.monotonic() - start < 5
    finally:
        ws.__exit__(None, None, None)


@pytest.mark.timeout(30)
def test_own_logout_closes_own_sockets(
    client: TestClient, tree: Tree, coordinator_a: Any
) -> None:
    ws = _watching(client, tree)
    try:
        headers = token_for(client, "hcm", "hcm-password")
        assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
        assert _close_code(ws) == 4401
    finally:
        ws.__exit__(None, None, None)


@pytest.mark.timeout(60)
def test_disable_in_one_worker_closes_socket_in_another(
    settings: Any, tree: Tree, coordinator_a: Any
) -> None:
    from app.main import create_app
    from tests.app.test_realtime import redis_url
    from tests.conftest import make_settings

    several = make_settings(settings.database_url, broker_url=redis_url())
    with TestClient(create_app(several)) as one, TestClient(create_app(several)) as other:
        ws = _watching(other, tree)
        try:
            start = time.monotonic()
            r = one.post(f"/api/v1/accounts/{coordinator_a.id}/disable",
                         headers=token_for(one, "admin", ADMIN_PASSWORD))
            assert r.status_code == 200, r.text
            assert _close_code(ws) == 4401
            assert time.monotonic() - start < 5
        finally:
            ws.__exit__(None, None, None)


@pytest.mark.timeout(120)
def test_flood_of_bad_tokens_costs_no_sql(client: TestClient, tree: Tree) -> None:
    """Forged tokens are refused by their signature, before any lookup or thread hop."""
    tokens = ["scr_x", "forged", "x" * 3000, _token(client)[:-2] + "zz"]
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with sockets_one_at_a_time(client), StatementCounter(engine) as counter:
        for i in range(1000):
            url = f"/ws/dashboard?conference_id={tree.cid}&token={tokens[i % len(tokens)]}"
            with client.websocket_connect(url) as ws:
                assert _close_code(ws) == 4401
    # Any statement at all (the background ticker's are not about accounts).
    assert [s for s in counter.statements if "user" in s] == []


def test_refused_login_token_is_not_looked_up_again(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    token = _token(client)
    # The refused-token memory is per app: a test a moment ago may have refused this very
    # string (same user, version and second) in its own app without hiding this lookup.
    assert client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}
                       ).status_code in (200, 204)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    url = f"/ws/dashboard?conference_id={tree.cid}&token={token}"
    with StatementCounter(engine) as counter:
        for _ in range(50):
            with client.websocket_connect(url) as ws:
                assert _close_code(ws) == 4401
    assert len([s for s in counter.statements if "token_version" in s]) == 1
