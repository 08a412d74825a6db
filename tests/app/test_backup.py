"""Backups: online while check-ins go on, restore, refusals; SQLite and PostgreSQL."""

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from app import backup as backups
from app.accounts.models import User
from app.config import Settings
from app.db import create_db_engine
from checkin import roster as checkin_roster
from checkin.models import Attendance, Attendee, AttendeeCreate
from tests.conftest import Tree

DIEMCAU = str(Path(sys.executable).with_name("diemcau"))


def _attendees(
    db: Session, admin: User, tree: Tree, settings: Settings, n: int
) -> list[tuple[int, str]]:
    """`n` attendees at ward A1: their ids and pass codes."""
    people = checkin_roster.create_attendees(
        db, conference_id=tree.cid, actor=admin,
        items=[AttendeeCreate(full_name=f"Đại biểu {i}", site_id=tree.ward_a1) for i in range(n)],
    )
    return [(a.id or 0, checkin_roster.issue_pass(db, attendee=a, settings=settings))
            for a in people]


def _attendance(database_url: str) -> set[int]:
    engine = create_db_engine(database_url, pool_size=1)
    try:
        with Session(engine) as db:
            return set(db.exec(select(Attendance.attendee_id)).all())
    finally:
        engine.dispose()


def _users(database_url: str) -> list[str]:
    engine = create_db_engine(database_url, pool_size=1)
    try:
        with Session(engine) as db:
            return sorted(db.exec(select(User.username)).all())
    finally:
        engine.dispose()


@pytest.mark.timeout(180)
def test_backup_while_checking_in_keeps_every_acknowledged_scan(
    database_url: str, tmp_path: Path, db: Session, admin: User, tree: Tree, settings: Settings,
    client: TestClient, admin_headers: dict[str, str],
) -> None:
    codes = _attendees(db, admin, tree, settings, 150)
    db.close()  # no transaction of the test's own may hold a lock through the restore
    acknowledged: list[int] = []
    refused: list[int] = []
    halfway = threading.Event()

    def scanner() -> None:
        for i, (attendee_id, code) in enumerate(codes):
            r = client.post("/api/v1/checkins", json={"code": code, "site_id": tree.ward_a1,
                                                      "nonce": f"b{i}"}, headers=admin_headers)
            if r.status_code == 201:
                acknowledged.append(attendee_id)
            else:
                refused.append(r.status_code)
            if i == len(codes) // 2:
                halfway.set()

    thread = threading.Thread(target=scanner)
    thread.start()
    assert halfway.wait(60)
    before = list(acknowledged)  # answered 201 before the backup began
    file = tmp_path / "mid-event.backup"
    done = backups.backup(database_url=database_url, target=file)
    thread.join(120)
    assert refused == [] and len(acknowledged) == len(codes)  # serving never stopped
    assert done.size > 0 and file.is_file()
    assert not list(tmp_path.glob(".*.partial"))

    if backups.is_sqlite(database_url):
        target_url = f"sqlite:///{tmp_path / 'restored.db'}"
    else:
        target_url = database_url  # the disk "failed": the same database comes back
    backups.restore(database_url=target_url, source=file)
    restored = _attendance(target_url)
    assert set(before) <= restored, "a check-in acknowledged before the backup was lost"
    assert len(before) <= len(restored) <= len(codes)


def test_sqlite_restore_keeps_the_replaced_database_beside_it(tmp_path: Path,
                                                              sqlite_url: str) -> None:
    file = tmp_path / "a.backup"
    backups.backup(database_url=sqlite_url, target=file)
    done = backups.restore(database_url=sqlite_url, source=file)
    assert done.kept_previous is not None and done.kept_previous.is_file()
    conn = sqlite3.connect(done.kept_previous)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_backup_refuses_to_overwrite(tmp_path: Path, database_url: str) -> None:
    file = tmp_path / "taken.backup"
    file.write_bytes(b"keep me")
    with pytest.raises(backups.BackupTargetExists):
        backups.backup(database_url=database_url, target=file)
    assert file.read_bytes() == b"keep me"


def test_restore_refuses_a_missing_or_foreign_file_and_changes_nothing(
    tmp_path: Path, database_url: str, tree: Tree
) -> None:
    users_before = _users(database_url)
    with pytest.raises(backups.BackupSourceMissing):
        backups.restore(database_url=database_url, source=tmp_path / "nope.backup")
    junk = tmp_path / "junk.backup"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(backups.BackupNotOurs) as refused:
        backups.restore(database_url=database_url, source=junk)
    assert refused.value.code == "backup_not_diemcau"
    # An SQLite file that is not ours (no schema version) is refused too.
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    if backups.is_sqlite(database_url):
        with pytest.raises(backups.BackupNotOurs):
            backups.restore(database_url=database_url, source=other)
    assert _users(database_url) == users_before


def test_cli_backup_then_restore_into_a_new_database(tmp_path: Path, sqlite_url: str,
                                                     tree: Tree) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIEMCAU_")}
    file = tmp_path / "cli.backup"
    made = subprocess.run([DIEMCAU, "backup", str(file)], capture_output=True, text=True,
                          env={**env, "DIEMCAU_DATABASE_URL": sqlite_url}, timeout=60,
                          check=False)
    assert made.returncode == 0, made.stderr
    assert "Đã sao lưu" in made.stdout
    again = subprocess.run([DIEMCAU, "backup", str(file)], capture_output=True, text=True,
                           env={**env, "DIEMCAU_DATABASE_URL": sqlite_url}, timeout=60,
                           check=False)
    assert again.returncode == 1 and "backup_target_exists" in again.stderr
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    back = subprocess.run([DIEMCAU, "restore", str(file), "--yes"], capture_output=True,
                          text=True, env={**env, "DIEMCAU_DATABASE_URL": fresh}, timeout=60,
                          check=False)
    assert back.returncode == 0, back.stderr
    engine = create_db_engine(fresh, pool_size=1)
    with Session(engine) as db:
        assert db.exec(select(func.count()).select_from(Attendee)).one() == 0
        # The tree's coordinators and the admin came back with the rest.
        assert sorted(db.exec(select(User.username)).all()) == _users(sqlite_url)
    engine.dispose()
