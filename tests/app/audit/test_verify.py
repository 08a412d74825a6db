"""`diemcau audit verify` finds tampering: real writes through the app, then someone with
the database owner's rights turns the append-only guard off and changes, deletes or cuts
off entries. On SQLite and PostgreSQL, through the command as an operator runs it."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from app.audit.chain import CHAINED, digest
from app.audit.models import GENESIS, AuditEntry
from app.audit.verify import verify
from app.cli import cli
from app.config import get_settings

AUDIT_LOG = AuditEntry.__table__  # type: ignore[attr-defined]
Verify = Callable[..., Result]


@pytest.fixture
def run_verify(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> Iterator[Verify]:
    """`diemcau audit verify ARGS` against the test database, in a temp folder."""
    for key in list(os.environ):
        if key.startswith("DIEMCAU_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DIEMCAU_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, ["audit", "verify", *args])

    yield run
    get_settings.cache_clear()


@pytest.fixture
def written(client: TestClient, admin_headers: dict[str, str], engine: Engine) -> list[int]:
    """A conference and three sites made over HTTP; the ids of the log's entries."""
    made = client.post("/api/v1/conferences", headers=admin_headers, json={
        "title": "Hội nghị kiểm toán", "starts_on": "2026-12-20", "ends_on": "2026-12-20"})
    assert made.status_code == 201, made.text
    for name in ("Phường Bến Nghé", "Xã Cần Giờ", "Phường Hoàn Kiếm"):
        site = client.post(f"/api/v1/conferences/{made.json()['id']}/sites",
                           headers=admin_headers, json={"name": name, "kind": "ward"})
        assert site.status_code == 201, site.text
    return _ids(engine)


def _ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT id FROM audit_log ORDER BY id")).scalars())


def _tamper(engine: Engine, statement: str, **params: object) -> None:
    """Run `statement` on the log as its owner would, with the append-only guard off."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # A superuser (or the owner, once it re-grants itself) skips the triggers.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        conn.execute(text(statement), params)


def _head(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(
            text("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")).scalar_one())


def test_a_clean_log_verifies_and_prints_its_head(
    written: list[int], engine: Engine, run_verify: Verify
) -> None:
    result = run_verify()
    assert result.exit_code == 0, result.output
    assert len(written) > 5
    assert "Nhật ký kiểm toán nguyên vẹn" in result.output
    assert (f"audit_verify status=ok entries={len(written)} head={_head(engine)}"
            in result.output)


def test_a_changed_entry_is_reported_changed_at_its_id(
    written: list[int], engine: Engine, run_verify: Verify
) -> None:
    target = written[len(written) // 2]
    _tamper(engine, "UPDATE audit_log SET actor_name = 'mallory' WHERE id = :id", id=target)
    result = run_verify()
    assert result.exit_code == 1, result.output
    assert f"nội dung của mục #{target} đã bị sửa" in result.output
    assert f"reason=changed broken_at={target}" in result.output
    assert f"entries={written.index(target)}" in result.output


def test_a_changed_entry_rehashed_breaks_the_link_after_it(
    written: list[int], engine: Engine, run_verify: Verify
) -> None:
    """An attacker who knows the algorithm recomputes the changed entry's hash: the entry
    holds, but the next one no longer follows it."""
    target = written[1]
    with engine.connect() as conn:
        # Typed columns: the hash covers `at` as a datetime, not as SQLite's stored text.
        row = conn.execute(select(AUDIT_LOG).where(AUDIT_LOG.c.id == target)).mappings().one()
    forged = {name: row[name] for name in CHAINED} | {"actor_name": "mallory"}
    _tamper(engine, "UPDATE audit_log SET actor_name = 'mallory', hash = :h WHERE id = :id",
            h=digest(row["prev_hash"], forged), id=target)
    result = run_verify()
    assert result.exit_code == 1, result.output
    assert f"reason=unlinked broken_at={written[2]}" in result.output


def test_a_deleted_middle_entry_is_reported_unlinked_at_the_next_id(
    written: list[int], engine: Engine, run_verify: Verify
) -> None:
    middle = len(written) // 2
    _tamper(engine, "DELETE FROM audit_log WHERE id = :id", id=written[middle])
    result = run_verify()
    assert result.exit_code == 1, result.output
    assert f"mục #{written[middle + 1]} không nối tiếp" in result.output
    assert f"reason=unlinked broken_at={written[middle + 1]}" in result.output


def test_cutting_off_the_newest_entries_is_caught_by_the_anchor(
    written: list[int], engine: Engine, run_verify: Verify,
    client: TestClient, admin_headers: dict[str, str],
) -> None:
    anchor = _head(engine)
    later = client.post("/api/v1/conferences", headers=admin_headers, json={
        "title": "Hội nghị sau", "starts_on": "2026-12-21", "ends_on": "2026-12-21"})
    assert later.status_code == 201
    grown = run_verify("--expect-head", anchor.upper())
    assert grown.exit_code == 0, grown.output
    assert f"anchor_at={written[-1]}" in grown.output
    # The anchored entry and everything after it go: the rest is a whole, shorter chain.
    _tamper(engine, "DELETE FROM audit_log WHERE id >= :id", id=written[-1])
    assert run_verify().exit_code == 0
    cut = run_verify("--expect-head", anchor)
    assert cut.exit_code == 1, cut.output
    assert "không còn mục nào mang mã băm mốc" in cut.output
    assert "reason=anchor_missing" in cut.output


def test_an_empty_log_verifies_with_the_genesis_head(engine: Engine, run_verify: Verify) -> None:
    assert verify(engine).head == GENESIS
    result = run_verify("--expect-head", GENESIS)
    assert result.exit_code == 0, result.output
    assert f"audit_verify status=ok entries=0 head={GENESIS}" in result.output


def test_a_malformed_anchor_is_refused(run_verify: Verify) -> None:
    result = run_verify("--expect-head", "abc")
    assert result.exit_code == 2
    assert "64 ký tự" in result.output
