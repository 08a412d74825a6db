"""The daily retention job: its function purges what is due, one process at a time on
PostgreSQL, logs counts only; the service starts it (or not) with DIEMCAU_PURGE_HOUR."""

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.db import local_today
from app.main import create_app
from checkin import retention_job
from checkin.anonymise import ANONYMOUS
from checkin.models import Attendee
from endpoints import service as endpoints_service
from endpoints.models import Conference, ConferenceCreate
from tests.checkin.support import Roster
from tests.conftest import Tree, make_settings


def _purged(db: Session, cid: int) -> bool:
    db.rollback()
    conference = db.get(Conference, cid, populate_existing=True)
    return conference is not None and conference.purged_at is not None


def test_purge_due_purges_due_conferences_only_and_logs_counts(
    wdb: Session, roster: Roster, tree: Tree, admin: User, engine: Engine, db: Session,
    caplog: pytest.LogCaptureFixture,
) -> None:
    recent = endpoints_service.create_conference(
        wdb, data=ConferenceCreate(title="Vừa họp", starts_on=local_today() - timedelta(days=3),
                                   ends_on=local_today() - timedelta(days=3)), actor=admin)
    with caplog.at_level(logging.INFO, logger="checkin.retention_job"):
        reports = retention_job.purge_due(engine)
    assert [(r.conference_id, r.attendees) for r in reports] == [(tree.cid, 3)]
    assert _purged(db, tree.cid) and not _purged(db, recent.id or 0)
    assert all(n.startswith(ANONYMOUS) for n in db.exec(select(Attendee.full_name)).all())
    logged = caplog.text
    assert "3 attendees anonymised" in logged
    assert "Nguyễn" not in logged and "Bình" not in logged
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "purge")).one()
    assert (entry.role, entry.actor_name) == ("system", "retention")
    assert retention_job.purge_due(engine) == []  # idempotent: nothing due any more


def test_purge_due_on_a_given_day(roster: Roster, tree: Tree, engine: Engine, db: Session
                                  ) -> None:
    day = tree.conference.ends_on + timedelta(days=90)  # the last day kept
    assert retention_job.purge_due(engine, today=day) == []
    assert not _purged(db, tree.cid)
    assert len(retention_job.purge_due(engine, today=day + timedelta(days=1))) == 1


@pytest.mark.postgres
def test_a_second_process_skips_while_one_purges(
    roster: Roster, tree: Tree, engine: Engine, db: Session
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's")
    with engine.connect() as other:
        assert other.execute(text("SELECT pg_try_advisory_lock(:k)"),
                             {"k": retention_job.LOCK_KEY}).scalar_one()
        assert retention_job.purge_due(engine) == []
        assert not _purged(db, tree.cid)
        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": retention_job.LOCK_KEY})
        other.commit()
    assert len(retention_job.purge_due(engine)) == 1


def test_seconds_until_the_next_local_hour() -> None:
    # 01:30 in Vietnam is 18:30 UTC the day before.
    now = datetime(2026, 12, 6, 18, 30, tzinfo=UTC)
    assert retention_job.seconds_until(3, now=now) == 90 * 60
    assert retention_job.seconds_until(1, now=now) == 23.5 * 3600
    assert retention_job.seconds_until(1, now=now.replace(minute=0)) == 24 * 3600


def test_the_service_runs_the_job_after_start_up(
    database_url: str, roster: Roster, tree: Tree, db: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(retention_job, "START_DELAY_SECONDS", 0.0)
    with TestClient(create_app(make_settings(database_url, purge_hour=3))):
        deadline = time.monotonic() + 20
        while not _purged(db, tree.cid) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert _purged(db, tree.cid)


def test_purge_hour_minus_one_turns_the_job_off(
    database_url: str, roster: Roster, tree: Tree, db: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(retention_job, "START_DELAY_SECONDS", 0.0)
    with TestClient(create_app(make_settings(database_url, purge_hour=-1))) as client:
        assert client.get("/healthz").status_code == 200
        time.sleep(0.3)
    assert not _purged(db, tree.cid)
