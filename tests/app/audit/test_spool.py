"""Check-ins and other frequent events are summarised per batch: counted in memory on the
hot path (no audit write per scan), written as one chained entry per actor, site and kind
by the flusher, given back when a flush fails, and written once more at shutdown."""

from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.audit import chain, spool
from app.audit.context import Actor, set_actor
from app.audit.models import AuditEntry
from app.audit.verify import verify
from app.config import Settings
from app.main import create_app
from checkin import service
from tests.checkin.support import StatementCounter
from tests.conftest import ADMIN_PASSWORD, Tree, make_settings, token_for


@pytest.fixture
def settings(database_url: str) -> Settings:
    """No background flush during a test: the test flushes when it means to."""
    return make_settings(database_url, audit_flush_seconds=300, miss_flush_seconds=300,
                         throttle_backend="memory")


def _entries(db: Session, action: str) -> list[AuditEntry]:
    db.rollback()
    query = select(AuditEntry).where(AuditEntry.action == action)  # type: ignore[arg-type]
    return list(db.execute(query.order_by(AuditEntry.id.asc())).scalars())  # type: ignore[union-attr]


def _app_engine(client: TestClient) -> Engine:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    return engine


# ------------------------------------------------------------------ the counter


def test_events_are_counted_per_actor_and_key_with_first_and_last_time() -> None:
    counted = spool.Spool()
    set_actor(Actor(role="coordinator", address="10.0.0.7", user_id=3, username="hcm"))
    for outcome in ("checked_in", "checked_in", "already_checked_in"):
        counted.note(action="checkin.batch", object_type="attendance", conference_id=1,
                     site_id=5, outcome=outcome, details=(("method", "scan"),))
    set_actor(Actor(role="anonymous", address="10.0.0.8"))
    counted.note(action="checkin.batch", object_type="attendance", conference_id=1, site_id=5,
                 outcome="short_code_not_found", details=(("method", "self"),))
    assert counted.pending() == 4
    batch = counted.take()
    assert counted.pending() == 0 and len(batch) == 2
    entries = {e["actor_name"]: e for e in (spool.entry_of(k, t) for k, t in batch.items())}
    staff = entries["hcm"]
    assert (staff["actor_id"], staff["role"], staff["address"]) == (3, "coordinator", "10.0.0.7")
    assert staff["detail"]["count"] == 3 and staff["detail"]["method"] == "scan"
    assert staff["detail"]["outcomes"] == {"already_checked_in": 1, "checked_in": 2}
    assert staff["detail"]["first_at"] <= staff["detail"]["last_at"]
    assert entries[None]["detail"]["outcomes"] == {"short_code_not_found": 1}


def test_a_batch_given_back_adds_to_what_was_counted_since() -> None:
    counted = spool.Spool()
    counted.note(action="view", object_type="attendee_list", conference_id=1)
    batch = counted.take()
    counted.note(action="view", object_type="attendee_list", conference_id=1)
    counted.give_back(batch)
    again = counted.take()
    assert len(again) == 1 and next(iter(again.values())).count == 2


def test_memory_is_bounded_by_folding_new_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spool, "MAX_KEYS", 3)
    counted = spool.Spool()
    for i in range(10):
        set_actor(Actor(role="anonymous", address=f"10.0.0.{i}"))
        counted.note(action="checkin.batch", object_type="attendance", site_id=1,
                     details=(("session_id", i),))
    batch = counted.take()
    assert len(batch) <= 4 and sum(t.count for t in batch.values()) == 10


# ------------------------------------------------------------------- the flush


def test_flush_writes_one_chained_entry_per_key_and_gives_back_on_failure(
    engine: Engine, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = spool.spool_for(engine)
    spool.flush(engine)
    for site in (1, 1, 2):
        counted.note(action="view", object_type="attendee_list", conference_id=9, site_id=site)

    def broken(conn: Any, entries: list[dict[str, Any]]) -> None:
        raise RuntimeError("database away")

    monkeypatch.setattr(chain, "append", broken)
    with pytest.raises(RuntimeError):
        spool.flush(engine)
    assert counted.pending() == 3  # given back, nothing lost
    monkeypatch.undo()
    assert spool.flush(engine) == 3
    entries = _entries(db, "view")
    assert sorted((e.site_id, e.detail["count"]) for e in entries  # type: ignore[index]
                  ) == [(1, 2), (2, 1)]
    assert verify(engine).ok


def test_scans_from_many_sites_fold_into_one_entry_per_conference(
    engine: Engine, db: Session
) -> None:
    counted = spool.spool_for(engine)
    spool.flush(engine)
    for site in range(1, 301):  # 300 sites, each with its own scanning account
        set_actor(Actor(role="coordinator", address=f"10.0.{site // 250}.{site % 250}",
                        user_id=site, username=f"c{site}"))
        for _ in range(site % 3 + 1):
            counted.note(action="checkin.batch", object_type="attendance", conference_id=4,
                         site_id=site, outcome="checked_in", details=(("method", "scan"),))
    counted.note(action="checkin.batch", object_type="attendance", conference_id=5, site_id=1,
                 outcome="checked_in", details=(("method", "scan"),))
    assert spool.flush(engine) == 601
    entries = {e.conference_id: e for e in _entries(db, "checkin.batch")}
    assert set(entries) == {4, 5}  # one entry a conference, not one per account
    whole = entries[4].detail
    assert whole is not None and whole["count"] == 600
    assert entries[4].role == "several" and entries[4].site_id is None
    assert len(whole["by"]) == 300 and sum(r["count"] for r in whole["by"]) == 600
    assert {r["site_id"]: r["actor_name"] for r in whole["by"]}[7] == "c7"
    assert entries[5].actor_name == "c300" and entries[5].site_id == 1  # alone: as it was
    assert verify(engine).ok


# ------------------------------------------------------------ check-in bursts


def _burst(client: TestClient, headers: dict[str, str], tree: Tree,
           settings: Settings) -> int:
    """Scans of every kind through the API; how many were sent."""
    made = client.post(f"/api/v1/conferences/{tree.cid}/attendees", headers=headers, json=[
        {"full_name": f"Người thứ {i}", "site_id": tree.ward_a1} for i in range(6)])
    assert made.status_code == 201, made.text
    sent = 0
    for person in made.json():
        for _ in range(2):  # a first scan, then a repeat
            r = client.post("/api/v1/checkins", headers=headers,
                            json={"code": person["code"], "site_id": tree.ward_a1})
            assert r.status_code in (200, 201), r.text
            sent += 1
    for _ in range(3):  # refused staff scans
        r = client.post("/api/v1/checkins", headers=headers,
                        json={"code": "ZZZZ-ZZZZ", "site_id": tree.ward_a1})
        assert r.status_code == 404
        sent += 1
    token = service.site_qr(tree.ward_a1, settings)
    client.cookies.clear()
    for person in made.json()[:2]:  # self check-ins (anonymous), one refused
        r = client.post("/api/v1/checkins/self",
                        json={"site_token": token, "code": person["short_code"]})
        assert r.status_code in (200, 201), r.text
        sent += 1
    r = client.post("/api/v1/checkins/self", json={"site_token": token, "code": "ZZZZ-ZZZZ"})
    assert r.status_code == 404
    return sent + 1


@pytest.mark.timeout(120)
def test_a_checkin_burst_writes_no_audit_row_per_scan_and_its_summaries_add_up(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, settings: Settings,
    db: Session,
) -> None:
    engine = _app_engine(client)
    spool.flush(engine)
    with StatementCounter(engine) as counter:
        sent = _burst(client, admin_headers, tree, settings)
    scans = [s for s in counter.statements if "audit_log" in s and "INSERT" in s.upper()]
    # Only the roster write before the scans may log (not one row per scan).
    assert len(scans) <= 2, scans
    assert spool.flush(engine) >= sent
    entries = _entries(db, "checkin.batch")
    assert sum(e.detail["count"] for e in entries) == sent  # type: ignore[index]
    outcomes: dict[tuple[str, str], Counter[str]] = {}
    for row in _rows(entries):
        outcomes.setdefault((row["role"], row["method"]), Counter()).update(row["outcomes"])
    assert outcomes[("admin", "scan")] == {"checked_in": 6, "already_checked_in": 6,
                                           "short_code_not_found": 3}
    # Self check-ins: anonymous (the two were scanned already), and one made-up code.
    assert outcomes[("anonymous", "self")] == {"already_checked_in": 2,
                                               "short_code_not_found": 1}
    assert {row["site_id"] for row in _rows(entries)} == {tree.ward_a1}
    assert {e.conference_id for e in entries} - {None} == {tree.cid}
    assert verify(engine).ok


def _rows(entries: list[AuditEntry]) -> list[dict[str, Any]]:
    """Each actor's tally: an entry's own, or the rows of an entry that folds several."""
    rows: list[dict[str, Any]] = []
    for e in entries:
        assert e.detail is not None
        rows.extend(e.detail.get("by") or [
            {**e.detail, "role": e.role, "site_id": e.site_id}])
    return rows


def test_what_is_counted_is_written_when_the_service_stops(
    settings: Settings, tree: Tree, db: Session
) -> None:
    with TestClient(create_app(settings)) as client:
        headers = token_for(client, "admin", ADMIN_PASSWORD)
        made = client.post(f"/api/v1/conferences/{tree.cid}/attendees", headers=headers,
                           json=[{"full_name": "Đỗ Văn Em", "site_id": tree.ward_a1}])
        code = made.json()[0]["code"]
        r = client.post("/api/v1/checkins", headers=headers,
                        json={"code": code, "site_id": tree.ward_a1})
        assert r.status_code == 201
        assert _entries(db, "checkin.batch") == []  # still in memory
    entries = _entries(db, "checkin.batch")
    assert [e.detail["count"] for e in entries] == [1]  # type: ignore[index]


# ---------------------------------------------------------------------- logins


def test_logins_are_on_the_record_without_passwords_or_strangers_names(
    client: TestClient, admin: Any, db: Session
) -> None:
    engine = _app_engine(client)
    spool.flush(engine)
    form = {"username": "admin", "password": "not-the-password-xyz"}
    assert client.post("/api/v1/auth/token", data=form).status_code == 401
    stranger = {"username": "someone@example.vn", "password": "stranger-secret-xyz"}
    assert client.post("/api/v1/auth/token", data=stranger).status_code == 401
    token_for(client, "admin", ADMIN_PASSWORD)
    spool.flush(engine)
    entries = _entries(db, "login")
    seen: dict[tuple[str | None, str], Counter[str]] = {}
    for e in entries:
        assert e.detail is not None
        seen.setdefault((e.actor_name, e.role), Counter()).update(e.detail["outcomes"])
    # One entry per account, address and flush: its outcomes counted.
    assert seen[("admin", "admin")] == {"invalid_credentials": 1, "login": 1}
    assert seen[(None, "anonymous")] == {"invalid_credentials": 1}
    logged = repr([(e.actor_name, e.object_id, e.detail, e.after) for e in entries])
    for secret in ("not-the-password-xyz", "someone@example.vn", "stranger-secret-xyz"):
        assert secret not in logged


def test_logout_is_on_the_record(client: TestClient, admin_headers: dict[str, str],
                                 db: Session) -> None:
    assert client.post("/api/v1/auth/logout", headers=admin_headers).status_code == 204
    entries = _entries(db, "logout")
    assert [(e.actor_name, e.object_type) for e in entries] == [("admin", "user_account")]


# ------------------------------------------------------------- views, exports


def test_name_searches_are_counted_per_flush_without_what_was_typed(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    engine = _app_engine(client)
    add = client.post(f"/api/v1/conferences/{tree.cid}/attendees", headers=admin_headers,
                      json=[{"full_name": "Hoàng Thị Xuyến", "site_id": tree.ward_a1}])
    assert add.status_code == 201
    spool.flush(engine)
    for _ in range(3):
        r = client.get(f"/api/v1/conferences/{tree.cid}/attendees?q=xuyen",
                       headers=admin_headers)
        assert r.status_code == 200 and len(r.json()) == 1
    assert _entries(db, "view") == []  # counted, not yet written
    spool.flush(engine)
    [entry] = _entries(db, "view")
    assert (entry.object_type, entry.actor_name, entry.conference_id) == (
        "attendee_list", "admin", tree.cid)
    assert entry.detail is not None
    assert entry.detail["count"] == 3 and entry.detail["search"] is True
    assert "xuyen" not in repr(entry.detail).lower()


def test_printing_badges_is_an_export_recorded_at_once(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    add = client.post(f"/api/v1/conferences/{tree.cid}/attendees", headers=admin_headers,
                      json=[{"full_name": f"Người {i}", "site_id": tree.ward_a1}
                            for i in range(3)])
    assert add.status_code == 201
    r = client.get(f"/sites/{tree.ward_a1}/badges", headers=admin_headers)
    assert r.status_code == 200
    [entry] = _entries(db, "export")  # no flush needed
    assert (entry.object_type, entry.site_id, entry.conference_id) == (
        "badges", tree.ward_a1, tree.cid)
    assert entry.detail == {"what": "badges", "page": 1, "rows": 3}
