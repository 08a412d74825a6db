"""Anonymous self check-in misses: counted in memory, no write each, written in batches,
and still shown in the dashboard's failed-scan count."""

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.config import Settings
from checkin import misses, service
from checkin.models import ScanFailure, ScanFailureCount
from tests.checkin.support import StatementCounter, add_two_attendees
from tests.conftest import Tree, make_settings


@pytest.fixture
def settings(database_url: str) -> Settings:
    """No background flush during a test: the test flushes when it means to. The misses
    throttle (tested in test_self_throttle.py) counts in memory and lets 200 through, so
    the statements seen here are the miss counter's alone."""
    return make_settings(database_url, miss_flush_seconds=300, throttle_backend="memory",
                         self_checkin_misses_per_client=1000, self_checkin_misses_per_site=1000)


_GUESS = "23456789XYZWVUTSRQPN"


def _writes(statements: list[str]) -> list[str]:
    return [s for s in statements
            if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "COMMIT"))]


@pytest.mark.timeout(120)
def test_self_checkin_misses_write_nothing_each_then_one_batch(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, settings: Settings,
    db: Session,
) -> None:
    add_two_attendees(client, admin_headers, tree)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    misses.flush(engine)
    token = service.site_qr(tree.ward_a1, settings)
    client.cookies.clear()
    with StatementCounter(engine) as counter:
        for i in range(200):
            r = client.post("/api/v1/checkins/self",
                            json={"site_token": token, "code": f"ZZZZ-ZZ{_GUESS[i % 10]}"
                                                                      f"{_GUESS[i // 10]}"})
            assert r.status_code == 404 and r.json()["code"] == "short_code_not_found"
    assert [s for s in _writes(counter.statements) if "presence" not in s] == []
    assert misses.counter_for(engine).pending() == 200
    with StatementCounter(engine) as counter:
        assert misses.flush(engine) == 200
    assert len([s for s in counter.statements if s.lstrip().upper().startswith("INSERT")]) == 1
    db.rollback()
    assert db.exec(select(ScanFailure)).all() == []  # no row per miss
    rows = db.exec(select(ScanFailureCount)).all()
    assert sum(r.count for r in rows) == 200
    assert {(r.conference_id, r.site_id, r.reason) for r in rows} == {
        (tree.cid, tree.ward_a1, "short_code_not_found")}
    summary = client.get(f"/api/v1/conferences/{tree.cid}/attendance", headers=admin_headers)
    assert summary.status_code == 200 and summary.json()["failed_scans"] == 200


def test_staff_scan_failures_still_get_a_row_each(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    r = client.post("/api/v1/checkins", json={"code": "ZZZZ-ZZZZ", "site_id": tree.ward_a1},
                    headers=admin_headers)
    assert r.status_code == 404
    db.rollback()
    assert [f.reason for f in db.exec(select(ScanFailure)).all()] == ["short_code_not_found"]
    summary = client.get(f"/api/v1/conferences/{tree.cid}/attendance", headers=admin_headers)
    assert summary.json()["failed_scans"] == 1


def test_counter_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(misses, "MAX_KEYS", 3)
    counter = misses.MissCounter()
    at = datetime(2026, 12, 2, 3, 0, 30, tzinfo=UTC)
    for session_id in range(50):  # a guesser makes up session ids
        counter.note(conference_id=None, site_id=1, session_id=session_id, reason="x", at=at)
    batch = counter.take()
    assert len(batch) <= 4 and sum(batch.values()) == 50
    assert counter.pending() == 0
    counter.give_back(batch)
    assert counter.pending() == 50


def test_a_failed_flush_keeps_the_counts(db: Session, tree: Tree) -> None:
    engine = db.get_bind()
    counter = misses.counter_for(engine)
    counter.take()
    counter.note(conference_id=tree.cid, site_id=tree.ward_a1, session_id=None, reason="x")

    class Broken:
        pool = engine.pool  # type: ignore[union-attr]

    with pytest.raises(Exception):
        misses.flush(Broken())  # type: ignore[arg-type]
    assert counter.pending() == 1
    assert misses.flush(engine) == 1  # type: ignore[arg-type]
