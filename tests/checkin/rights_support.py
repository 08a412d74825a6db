"""Shared arrangements for the data-rights tests: a roster over the API, the personal
link of an attendee, the attendee's own posts, audit entries."""

import csv
import io
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from app.audit.models import AuditEntry
from app.config import Settings
from checkin import attendee_links
from checkin.models import Attendee
from tests.conftest import Tree
from tests.endpoints.support import csrf


def add_people(client: TestClient, headers: dict[str, str], tree: Tree) -> list[dict[str, Any]]:
    """An (ward A1, with unit and phone) and Cường (ward B1), added over the API."""
    r = client.post(f"/api/v1/conferences/{tree.cid}/attendees", headers=headers, json=[
        {"full_name": "Nguyễn Văn An", "site_id": tree.ward_a1, "unit": "Sở Y tế",
         "position": "Chuyên viên", "phone": "0912345678"},
        {"full_name": "Lê Văn Cường", "site_id": tree.ward_b1},
    ])
    assert r.status_code == 201, r.text
    people: list[dict[str, Any]] = r.json()
    return people


def check_in(client: TestClient, headers: dict[str, str], person: dict[str, Any],
             site_id: int, session_id: int | None = None) -> None:
    body: dict[str, Any] = {"code": person["code"], "site_id": site_id}
    if session_id is not None:
        body["session_id"] = session_id
    r = client.post("/api/v1/checkins", headers=headers, json=body)
    assert r.status_code == 201, r.text


def link_of(db: Session, settings: Settings, attendee_id: int) -> str:
    """The attendee's personal link as it is now."""
    db.rollback()
    attendee = db.get(Attendee, attendee_id)
    assert attendee is not None
    db.refresh(attendee)
    return attendee_links.link_path(attendee, secret=settings.secret_key)


def own_post(client: TestClient, url: str, **data: str) -> Any:
    """A post from the attendee's page (anonymous, with the page's CSRF token)."""
    return client.post(url, data={**data, "csrf_token": csrf(client)}, follow_redirects=False)


def entries(db: Session, action: str, object_type: str = "attendee") -> list[AuditEntry]:
    db.rollback()
    query = select(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.object_type == object_type  # type: ignore[arg-type]
    ).order_by(AuditEntry.id)  # type: ignore[arg-type]
    return list(db.execute(query).scalars())


def csv_of(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def totals(client: TestClient, headers: dict[str, str], cid: int) -> tuple[Any, bytes]:
    """What the attendance summary and the report file say (for before/after checks)."""
    summary = client.get(f"/api/v1/conferences/{cid}/attendance", headers=headers)
    report = client.get(f"/api/v1/conferences/{cid}/reports/attendance.csv", headers=headers)
    assert summary.status_code == 200 and report.status_code == 200
    return summary.json(), report.content
