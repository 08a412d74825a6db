"""The retention API (central office only): the preview, the purge, its refusals."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.db import local_today
from checkin.anonymise import ANONYMOUS
from checkin.models import Attendee
from endpoints.models import Conference
from tests.checkin.support import Roster
from tests.conftest import Tree, token_for

NAMES = ["Lê Văn Cường", "Nguyễn Văn An", "Trần Thị Bình"]


def _names(db: Session) -> list[str]:
    db.rollback()
    return sorted(db.exec(select(Attendee.full_name)).all())


def _dates(wdb: Session, cid: int, days_ago: int) -> None:
    day = local_today() - timedelta(days=days_ago)
    wdb.execute(update(Conference).where(col(Conference.id) == cid).values(
        starts_on=day, ends_on=day))
    wdb.commit()


def test_preview_says_what_a_purge_would_change(
    client: TestClient, admin_headers: dict[str, str], roster: Roster, tree: Tree, db: Session
) -> None:
    r = client.get(f"/api/v1/conferences/{tree.cid}/retention", headers=admin_headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert {k: body[k] for k in ("kept_until", "ended", "due", "purged_at", "attendees",
                                 "phones", "retention_days")} == {
        "kept_until": "2025-12-08", "ended": True, "due": True, "purged_at": None,
        "attendees": 3, "phones": 0, "retention_days": 90}
    assert _names(db) == NAMES
    missing = client.get("/api/v1/conferences/999999/retention", headers=admin_headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "conference_not_found")


def test_purge_of_a_due_conference_answers_the_counts_and_is_logged(
    client: TestClient, admin_headers: dict[str, str], roster: Roster, tree: Tree, db: Session
) -> None:
    r = client.post(f"/api/v1/conferences/{tree.cid}/purge", headers=admin_headers)
    assert r.status_code == 200, r.text
    assert (r.json()["attendees"], r.json()["early"]) == (3, False)
    assert all(n.startswith(ANONYMOUS) for n in _names(db))
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "purge")).one()
    assert (entry.role, entry.actor_name, entry.address) == ("admin", "admin", "testclient")
    again = client.post(f"/api/v1/conferences/{tree.cid}/purge", headers=admin_headers,
                        json={})
    assert (again.status_code, again.json()["code"]) == (409, "conference_already_purged")


def test_purge_of_a_running_conference_is_refused_and_changes_nothing(
    client: TestClient, admin_headers: dict[str, str], wdb: Session, roster: Roster,
    tree: Tree, db: Session,
) -> None:
    _dates(wdb, tree.cid, 0)
    for body in ({}, {"early": True}):
        r = client.post(f"/api/v1/conferences/{tree.cid}/purge", headers=admin_headers,
                        json=body)
        assert (r.status_code, r.json()["code"]) == (409, "conference_not_ended")
        assert "chưa kết thúc" in r.json()["detail"]
    assert _names(db) == NAMES
    assert db.exec(select(AuditEntry).where(AuditEntry.action == "purge")).all() == []


def test_early_purge_needs_the_explicit_confirmation(
    client: TestClient, admin_headers: dict[str, str], wdb: Session, roster: Roster,
    tree: Tree, db: Session,
) -> None:
    _dates(wdb, tree.cid, 2)
    url = f"/api/v1/conferences/{tree.cid}/purge"
    r = client.post(url, headers=admin_headers, json={})
    assert (r.status_code, r.json()["code"]) == (409, "retention_not_over")
    assert _names(db) == NAMES
    bad = client.post(url, headers=admin_headers, json={"early": True, "force": True})
    assert bad.status_code == 422
    r = client.post(url, headers=admin_headers, json={"early": True})
    assert r.status_code == 200 and r.json()["early"] is True
    assert all(n.startswith(ANONYMOUS) for n in _names(db))


def test_coordinators_may_neither_preview_nor_purge(
    client: TestClient, coordinator_a: User, roster: Roster, tree: Tree, db: Session
) -> None:
    headers = token_for(client, "hcm", "hcm-password")
    for method, path in (("GET", "retention"), ("POST", "purge")):
        r = client.request(method, f"/api/v1/conferences/{tree.cid}/{path}", headers=headers,
                           json={} if method == "POST" else None)
        assert (r.status_code, r.json()["code"]) == (403, "admin_only")
    assert _names(db) == NAMES
