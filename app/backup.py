"""Backups of the whole database: `diemcau backup FILE` and `diemcau restore FILE`.

SQLite: the online backup API copies the live database in one step, a read transaction
that in WAL mode blocks no writer, so check-ins go on while it runs (a stepwise copy would
start over at every write from another connection and never end under load). The copy is
written beside FILE, checked with `PRAGMA integrity_check` and only then renamed into
place: a half-written backup never replaces a good one. PostgreSQL: pg_dump's custom
format and pg_restore, the tools made for it (they must be on PATH; the deploy guide shows
the same commands through the database container).
"""

import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from app.errors import AppError


class BackupError(AppError):
    status_code = 400
    code = "backup_failed"
    detail = "Sao lưu hoặc khôi phục không thành công."


class BackupTargetExists(BackupError):
    code = "backup_target_exists"
    detail = "Tệp sao lưu đã tồn tại; chọn tên khác hoặc dùng --overwrite."


class BackupSourceMissing(BackupError):
    code = "backup_source_missing"
    detail = "Không tìm thấy tệp sao lưu."


class BackupNotOurs(BackupError):
    code = "backup_not_diemcau"
    detail = "Tệp này không phải bản sao lưu hợp lệ của diemcau (hỏng hoặc sai định dạng)."


class BackupToolMissing(BackupError):
    code = "backup_tool_missing"
    detail = "Thiếu công cụ pg_dump/pg_restore của PostgreSQL trên máy này."


@dataclass(frozen=True)
class BackupResult:
    """What a backup or restore did: the file, its size and how long it took."""

    path: Path
    size: int
    seconds: float
    kept_previous: Path | None = None  # restore: the database as it was before


def is_sqlite(database_url: str) -> bool:
    """True for the embedded SQLite database."""
    return make_url(database_url).get_backend_name() == "sqlite"


def sqlite_path(database_url: str) -> Path:
    """The file of a SQLite database URL."""
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("Cơ sở dữ liệu SQLite trong bộ nhớ không sao lưu được.")
    return Path(database)


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL as pg_dump and pg_restore read it (no driver suffix)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False
    )


def backup(*, database_url: str, target: Path, overwrite: bool = False) -> BackupResult:
    """Copy the whole database to `target` while the service keeps running."""
    if target.exists() and not overwrite:
        raise BackupTargetExists()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    started = time.perf_counter()
    try:
        if is_sqlite(database_url):
            _sqlite_copy(sqlite_path(database_url), partial)
            _check_sqlite(partial)
        else:
            _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(partial),
                  libpq_url(database_url)])
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(target, target.stat().st_size, time.perf_counter() - started)


def restore(*, database_url: str, source: Path) -> BackupResult:
    """Replace the database with the backup in `source` (stop the service first).

    SQLite keeps the database as it was beside it (`<file>.before-restore-<time>`), so a
    wrong restore can be undone; PostgreSQL restores in one transaction, all or nothing."""
    if not source.is_file():
        raise BackupSourceMissing()
    started = time.perf_counter()
    kept = None
    if is_sqlite(database_url):
        _check_sqlite(source)
        path = sqlite_path(database_url)
        if path.exists():
            kept = path.with_name(f"{path.name}.before-restore-{time.strftime('%Y%m%d-%H%M%S')}")
            _sqlite_copy(path, kept)
        _sqlite_copy(source, path)
    else:
        _run(["pg_restore", "--list", str(source)], not_ours=True)
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              "--dbname", libpq_url(database_url), str(source)])
    return BackupResult(source, source.stat().st_size, time.perf_counter() - started, kept)


def _sqlite_copy(source: Path, target: Path) -> None:
    # Read-only at the source: a typo'd path must not create an empty database.
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)  # one step: a consistent snapshot, writers not blocked (WAL)
        dst.execute("PRAGMA journal_mode=WAL")
    except sqlite3.DatabaseError as exc:
        raise BackupNotOurs() from exc
    finally:
        dst.close()
        src.close()


def _check_sqlite(path: Path) -> None:
    """A whole SQLite file with our schema in it, or BackupNotOurs."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = db.execute("PRAGMA integrity_check").fetchone()
            ours = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise BackupNotOurs() from exc
    if ok != ("ok",) or ours is None:
        raise BackupNotOurs()


def _run(command: list[str], *, not_ours: bool = False) -> None:
    if shutil.which(command[0]) is None:
        raise BackupToolMissing()
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        if not_ours:
            raise BackupNotOurs()
        # pg_dump's own message names the problem (connection, permissions, disk);
        # it carries no row data.
        raise BackupError(f"{command[0]} báo lỗi: {done.stderr.strip()[-500:]}")
