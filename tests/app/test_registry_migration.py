"""Migration 0006 (the site registry) on a database made by the demo before it.

The fixture (tests/app/fixtures/, made at revision 0005 by make_demo_before_registry.py)
holds every row of such a database and every answer the API gave on it. Here the rows
go into a database migrated to 0005, the database is upgraded to head, and the same
URLs must answer the same: attendance, headcounts, screens, accounts and reports.
"""

import base64
import csv
import io
import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Date, DateTime, MetaData, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.db import create_db_engine
from app.main import create_app
from app.migrate import alembic_config
from checkin.models import Attendance
from endpoints import service as endpoints_service
from endpoints.models import Participation, Site
from tests.conftest import make_settings, token_for

FIXTURES = Path(__file__).parent / "fixtures"
ROWS: dict[str, list[dict[str, Any]]] = json.loads(
    (FIXTURES / "demo_before_registry.json").read_text(encoding="utf-8")
)
REPORTS: dict[str, Any] = json.loads(
    (FIXTURES / "demo_before_registry_reports.json").read_text(encoding="utf-8")
)


def _value(column: Any, value: Any) -> Any:
    if isinstance(value, dict) and "$base64" in value:
        return base64.b64decode(value["$base64"])
    if value is None or not isinstance(value, str):
        return value
    if isinstance(column.type, DateTime) or type(column.type).__name__ == "UTCDateTime":
        return datetime.fromisoformat(value)
    if isinstance(column.type, Date):
        return date.fromisoformat(value)
    return value


def _load_rows(engine: Engine) -> None:
    """Insert the fixture's rows into a database at the fixture's revision."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            # Rows arrive table by table; the dump itself is consistent.
            conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        for table in meta.sorted_tables:
            rows = ROWS.get(table.name, [])
            if table.name == "alembic_version" or not rows:
                continue
            conn.execute(table.insert(), [
                {k: _value(table.c[k], v) for k, v in row.items()} for row in rows
            ])
        if engine.dialect.name == "postgresql":
            # Rows came with their ids: move each sequence past them.
            for table in meta.sorted_tables:
                if "id" in table.c and ROWS.get(table.name):
                    conn.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"
                        f" (SELECT MAX(id) FROM {table.name}))"
                    ))


def _migrate_fixture(url: str) -> None:
    """Make `url` the fixture's database at revision 0005, then upgrade it to head."""
    cfg = alembic_config(url)
    command.downgrade(cfg, "base")
    command.upgrade(cfg, REPORTS["revision"])
    engine = create_db_engine(url, pool_size=1)
    _load_rows(engine)
    engine.dispose()
    command.upgrade(cfg, "head")


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Path:
    """The migrated SQLite file, made once for this module; each test gets a copy."""
    path = tmp_path_factory.mktemp("registry") / "migrated.db"
    shutil.copy(sqlite_template, path)
    _migrate_fixture(f"sqlite:///{path}")
    return path


@pytest.fixture
def migrated(database_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database made from the fixture at revision 0005, then upgraded to head."""
    if database_url.startswith("sqlite:///"):
        made: Path = request.getfixturevalue("migrated_sqlite")
        # The backup API copies committed pages whatever the journal mode left behind.
        source = sqlite3.connect(made)
        target = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        _migrate_fixture(database_url)
    yield database_url


def _client(url: str) -> TestClient:
    # A still ticker: stored presence must stay as the fixture left it.
    settings = make_settings(url, presence_tick_seconds=300, presence_flush_seconds=300)
    return TestClient(create_app(settings))


def _pass_identity(code: str) -> tuple[bytes, bytes]:
    """A pass code's key id and whose pass it is (conference, attendee, version), without
    its expiry or signature: a pass re-issued today for a conference that has ended runs
    from today (`pass_expiry`), so the code of the very same pass changes with the date."""
    raw = base64.b32decode(code[3:] + "=" * (-len(code[3:]) % 8))
    kid_end = 2 + raw[1]
    return raw[:kid_end], raw[kid_end:kid_end + 10]  # >I conference, >I attendee, >H version


def _site_key(item: Any) -> Any:
    """The site a list row stands for (sites, dashboard and report rows), or None."""
    if isinstance(item, dict) and "kind" in item:
        return item.get("site_id", item.get("id"))
    return None


def _in_old_order(old: list[Any], new: list[Any]) -> list[Any]:
    """`new` in the order of `old` when both list the same sites once each.

    Migration 0011_words lists siblings by kind and then Vietnamese name (the order itself
    is tested in tests/endpoints/test_tree_order*.py); here only what each row says counts.
    """
    keys = [_site_key(x) for x in old]
    by_key = {_site_key(x): x for x in new}
    if None in keys or len(set(keys)) != len(keys) or set(keys) != set(by_key):
        return new
    return [by_key[k] for k in keys]


def _by_name(rows: list[list[Any]]) -> list[list[Any]]:
    """A table's header, then its rows ordered by their first two cells (the site's code
    and name, or a hub's name): 0011_words changed the order of the rows only, and the
    cells after them may be redefined (0011_numbers), so they must not steer the order."""
    return rows[:1] + sorted(rows[1:], key=lambda row: repr(row[:2]))


def _rows_in_old_order(url: str, old: Any, new: Any) -> tuple[Any, Any]:
    if ".csv" in url:  # cell by cell, so a redefined column is told from the rest
        return _by_name(_csv_cells(old)), _by_name(_csv_cells(new))
    return ({"$xlsx": {k: _by_name(v) for k, v in old["$xlsx"].items()}},
            {"$xlsx": {k: _by_name(v) for k, v in new["$xlsx"].items()}})


def _same(old: Any, new: Any, where: str) -> list[str]:
    """Where `new` differs from `old`; keys `new` gained are allowed (new fields)."""
    if (where.endswith(".code") and isinstance(old, str) and isinstance(new, str)
            and old.startswith("DC1") and new.startswith("DC1")):
        return [] if _pass_identity(old) == _pass_identity(new) else [f"{where}: other pass"]
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for k in old for d in (
            _same(old[k], new[k], f"{where}.{k}") if k in new else [f"{where}.{k} missing"]
        )]
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{where}: {len(old)} items, now {len(new)}"]
        new = _in_old_order(old, new)
        return [d for i, (o, n) in enumerate(zip(old, new, strict=True))
                for d in _same(o, n, f"{where}[{i}]")]
    return [] if old == new else [f"{where}: {old!r} → {new!r}"]


def _body(response: Any, url: str) -> Any:
    if ".xlsx" in url:
        from io import BytesIO

        from openpyxl import load_workbook

        book = load_workbook(BytesIO(response.content), read_only=True)
        sheets = {ws.title: [[_cell(c) for c in row] for row in ws.iter_rows(values_only=True)]
                  for ws in book.worksheets}
        return {"$xlsx": sheets}
    if ".csv" in url:
        return response.text
    return response.json()


def _cell(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


# Answers a later, deliberate change redefined; everything else must read the same.
# 0011_numbers: a site marked không tham gia expects nobody, so its expected figure and
# the expected totals and rates built on it changed (JSON `expected`; the CSV/XLSX
# columns Dự kiến and Tỷ lệ of the per-site and per-hub tables).
_REDEFINED_COLUMNS = {"site": (5, 9), "hub": (3, 7)}
_REDEFINED = re.compile(
    r"(\.expected: )"
    r"|(attendance\.(csv|xlsx)\S*(\[\d+\]|\.\$xlsx\.Điểm cầu\[\d+\])\[(?P<site>[59])\]: )"
    r"|(attendance\.(csv\?level=hub|xlsx)\S*(\[\d+\]|\.\$xlsx\.Theo tỉnh, thành\[\d+\])"
    r"\[(?P<hub>[37])\]: )"
)
def _explained(difference: str) -> bool:
    # Pass codes are compared by whose pass they are (`_pass_identity`), not excused here.
    return bool(_REDEFINED.search(difference))


def _csv_cells(text_body: str) -> list[list[str]]:
    return [list(row) for row in csv.reader(io.StringIO(text_body))]


def _forget_copied_conference_rows(url: str) -> None:
    """Undo 0011_numbers' copies (conference-level rows copied from a session check-in,
    same attendee and instant): the recorded answers predate that redefinition."""
    engine = create_db_engine(url, pool_size=1)
    with engine.begin() as conn:
        conn.execute(text(
            "DELETE FROM attendance WHERE session_key = 0 AND nonce IS NULL AND EXISTS ("
            " SELECT 1 FROM attendance s WHERE s.attendee_id = attendance.attendee_id"
            " AND s.session_key <> 0 AND s.checked_in_at = attendance.checked_in_at)"
        ))
    engine.dispose()


def test_0011_gives_session_only_attendees_their_conference_row(migrated: str) -> None:
    sessions: dict[int, list[dict[str, Any]]] = {}
    at_door = set()
    for row in ROWS["attendance"]:
        if row["session_key"]:
            sessions.setdefault(row["attendee_id"], []).append(row)
        else:
            at_door.add(row["attendee_id"])
    session_only = {a: min(rows, key=lambda r: (r["checked_in_at"], r["id"]))
                    for a, rows in sessions.items() if a not in at_door}
    assert session_only  # the fixture has one: the migration has something to do
    engine = create_db_engine(migrated, pool_size=1)
    with Session(engine) as db:
        rows = db.exec(select(Attendance).where(Attendance.session_key == 0)).all()
    engine.dispose()
    assert len(rows) == len(at_door) + len(session_only)
    copied = {r.attendee_id: r for r in rows if r.attendee_id in session_only}
    for attendee, first in session_only.items():
        copy = copied[attendee]
        assert (copy.site_id, copy.nonce, copy.method) == (
            first["site_id"], None, first["method"])
        assert copy.checked_in_at == datetime.fromisoformat(first["checked_in_at"])


def test_every_report_reads_the_same_after_the_migration(migrated: str) -> None:
    _forget_copied_conference_rows(migrated)
    secrets = REPORTS["secrets"]
    with _client(migrated) as client:
        headers = token_for(client, "admin", secrets["passwords"]["admin"])
        differences: list[str] = []
        for url, recorded in REPORTS["responses"].items():
            if url in REPORTS["volatile"]:
                continue
            response = client.get(url, headers=headers)
            if response.status_code != recorded["status"]:
                differences.append(f"{url}: status {recorded['status']} → "
                                   f"{response.status_code} {response.text[:200]}")
                continue
            old, body = recorded["body"], _body(response, url)
            if ".csv" in url or ".xlsx" in url:
                old, body = _rows_in_old_order(url, old, body)
            differences += _same(old, body, url)
    differences = [d for d in differences if not _explained(d)]
    assert differences == [], "\n".join(differences[:60])
    assert len(REPORTS["responses"]) > 500


def test_sites_become_registry_sites_with_one_participation_each(migrated: str) -> None:
    engine = create_db_engine(migrated, pool_size=1)
    with Session(engine) as db:
        sites = {s.id: s for s in db.exec(select(Site)).all()}
        parts = db.exec(select(Participation)).all()
    engine.dispose()
    old = {row["id"]: row for row in ROWS["site"]}
    assert set(sites) == set(old)
    assert {p.site_id: p.conference_id for p in parts} == {
        i: row["conference_id"] for i, row in old.items()
    }
    for p in parts:
        row = old[p.site_id]
        assert (p.name, p.code, p.readiness, p.expected_attendees, p.approval) == (
            row["name"], row["code"], row["readiness"], row["expected_attendees"],
            row["approval"],
        )
    codes = [s.code for s in sites.values() if s.code is not None]
    assert len(codes) == len(set(codes))  # registry codes are unique now


def test_accounts_and_screens_keep_working(migrated: str) -> None:
    secrets = REPORTS["secrets"]
    conferences = {row["id"]: row for row in ROWS["conference"]}
    site_conference = {row["id"]: row["conference_id"] for row in ROWS["site"]}
    engine = create_db_engine(migrated, pool_size=1)
    with _client(migrated) as client:
        for username, password in secrets["passwords"].items():
            r = client.post("/api/v1/auth/token", data={"username": username,
                                                         "password": password})
            status = next(u["status"] for u in ROWS["user_account"]
                          if u["username"] == username)
            assert (r.status_code == 200) == (status == "active"), username
        with Session(engine) as db:
            for screen in secrets["screens"]:
                token = screen.get("token")
                if token is None:
                    continue
                context = endpoints_service.screen_for_token(db, token=token)
                if "revoked" in screen["how"]:
                    assert context is None
                    continue
                assert context is not None and context.site_id == screen["site_id"]
                conference = conferences[site_conference[screen["site_id"]]]
                live = endpoints_service.current_conference_id(
                    db, site_id=screen["site_id"],
                    today=date.fromisoformat(conference["starts_on"]), live_only=True,
                )
                assert live == conference["id"]
    engine.dispose()
