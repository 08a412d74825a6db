"""A morning scripted over the JSON API for the browser tests: a conference today, a ward
with its commune official, attendees, and a session on stage (so live)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from app.db import local_today
from app.templating import LOCAL_TZ
from tests.browser import LiveServer
from tests.conftest import ADMIN_PASSWORD

OFFICIAL = ("canbo.bennghe", "Mật-khẩu-phường-2025")
SESSION_TITLE = "Phiên khai mạc"


@dataclass
class Morning:
    http: httpx.Client
    conference_id: int
    hub_id: int
    ward_id: int
    session_id: int
    people: list[dict[str, Any]]

    def check_in(self, person: int, *, session: bool) -> None:
        """Check one attendee in at the ward, into the live session or at the door."""
        body: dict[str, Any] = {"code": self.people[person]["code"], "site_id": self.ward_id}
        if session:
            body["session_id"] = self.session_id
        r = self.http.post("/api/v1/checkins", json=body)
        assert r.status_code == 201, r.text


def live_morning(server: LiveServer, attendees: int = 4) -> Morning:
    http = httpx.Client(base_url=server.url, timeout=30)
    r = http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    today = local_today().isoformat()
    cid = http.post("/api/v1/conferences", json={
        "title": "Hội nghị tập huấn AI", "starts_on": today, "ends_on": today,
    }).json()["id"]

    def site(name: str, kind: str, parent: int | None, expected: int) -> int:
        body = {"name": name, "kind": kind, "parent_id": parent, "expected_attendees": expected}
        r = http.post(f"/api/v1/conferences/{cid}/sites", json=body)
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    hub = site("Thành phố Hồ Chí Minh", "hub", None, 10)
    ward = site("Phường Bến Nghé", "ward", hub, 20)
    r = http.post(f"/api/v1/sites/{ward}/coordinators", json={
        "username": OFFICIAL[0], "password": OFFICIAL[1], "full_name": "Lê Thị Cán Bộ"})
    assert r.status_code == 201, r.text
    people = http.post(f"/api/v1/conferences/{cid}/attendees", json=[
        {"full_name": f"Đại biểu số {n + 1}", "site_id": ward} for n in range(attendees)
    ]).json()
    now = datetime.now(LOCAL_TZ).replace(tzinfo=None, microsecond=0)
    session = http.post(f"/api/v1/conferences/{cid}/sessions", json={
        "title": SESSION_TITLE, "starts_at": (now - timedelta(minutes=30)).isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
    })
    assert session.status_code == 201, session.text
    sid = int(session.json()["id"])
    r = http.put(f"/api/v1/sessions/{sid}/state", json={})
    assert r.status_code == 200, r.text  # on stage: live
    return Morning(http, cid, hub, ward, sid, people)
