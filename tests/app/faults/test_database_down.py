"""PostgreSQL restarted mid-event (a private server, never the machine's): while it is
down, requests answer 503 `database_unavailable` within 5 s (no 500, no hang); within 5 s
of its return everything works again, without restarting the service."""

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import websockets.sync.client as ws_client
from websockets.exceptions import InvalidStatus

from app.db import local_today
from tests.app.faults.serving import PrivatePostgres, admin_client, serve_env, served

pytestmark = pytest.mark.postgres  # a private server made with the machine's programs


def _within(seconds: float, probe: Callable[[], bool]) -> float:
    """Seconds until `probe()` holds; fails past `seconds`."""
    started = time.monotonic()
    while not probe():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        time.sleep(0.1)
    return time.monotonic() - started


def _unavailable(response: httpx.Response) -> bool:
    return response.status_code == 503 and response.headers.get("retry-after") == "5"


def test_postgres_restart_answers_503_then_recovers(
    private_pg: PrivatePostgres, tmp_path: Path
) -> None:
    with served(serve_env(private_pg.url), tmp_path) as server, admin_client(server.url) as http:
        today = local_today().isoformat()
        cid = http.post("/api/v1/conferences", json={
            "title": "Hội nghị", "starts_on": today, "ends_on": today}).json()["id"]
        follow_url = http.get(f"/api/v1/conferences/{cid}/follow-link").json()["url"]
        follow_path = "/" + follow_url.split("/", 3)[3]
        api = f"/api/v1/conferences/{cid}/sites"
        site = http.post(api, json={"name": "Phường Bến Nghé", "kind": "ward"}).json()["id"]
        screen = http.post(f"/api/v1/sites/{site}/screen-token").json()["token"]
        assert http.get(api).status_code == 200
        assert http.get(follow_path).status_code == 200

        private_pg.stop()
        started = time.monotonic()
        r = http.get(api, timeout=5)  # a timeout here is the hang we refuse
        assert _unavailable(r), (r.status_code, r.text)
        assert r.json()["code"] == "database_unavailable"
        assert "Cơ sở dữ liệu tạm thời không truy cập được" in r.json()["detail"]
        write = http.post("/api/v1/conferences", json={
            "title": "Khi mất CSDL", "starts_on": today, "ends_on": today}, timeout=5)
        assert _unavailable(write) and write.json()["code"] == "database_unavailable"
        page = http.get(follow_path, timeout=5)
        assert _unavailable(page), (page.status_code, page.text[:300])
        assert "database_unavailable" in page.text and "text/html" in page.headers["content-type"]
        assert time.monotonic() - started < 5
        # A screen's socket during the outage: refused with "try again later" (no
        # traceback), and the process lives on.
        with pytest.raises(InvalidStatus) as refused:
            ws_client.connect(f"ws://127.0.0.1:{server.port}/ws/screen?token={screen}",
                              open_timeout=5)
        assert refused.value.response.status_code == 403  # a close before the handshake
        assert server.proc is not None and server.proc.poll() is None
        assert server.healthy()

        private_pg.start()
        _within(5, lambda: http.get(api, timeout=5).status_code == 200)
        _within(5, lambda: http.get(follow_path, timeout=5).status_code == 200)
        again = http.post("/api/v1/conferences", json={
            "title": "Sau khi CSDL trở lại", "starts_on": today, "ends_on": today})
        assert again.status_code == 201, again.text
    log = server.log()
    assert "Traceback" not in log and "Exception in ASGI application" not in log
    assert "database unavailable on /ws/screen: OperationalError" in log
