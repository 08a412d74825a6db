"""The `diemcau` command: serve as a real process, demo, create-admin, bad settings."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.accounts import service as accounts_service
from app.accounts.models import Role, User
from app.cli import cli
from app.config import DEV_ADMIN_PASSWORD, DEV_SECRET, get_settings
from app.db import create_db_engine
from app.demo import SITES
from endpoints.models import Participation, Site
from tests.app.test_demo import SITES_IN_REGISTRY
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.import_support import csv_bytes, site

DIEMCAU = str(Path(sys.executable).with_name("diemcau"))

# Every CONTRACT.md path that exists so far; add the sessions and check-in paths
# here as those domains land.
CONTRACT_PATHS = {
    "/healthz": {"get"},
    "/api/v1/auth/token": {"post"},
    "/api/v1/conferences": {"post"},
    "/api/v1/conferences/{conference_id}/sites": {"get", "post"},
    "/api/v1/sites/{site_id}/screen-token": {"post"},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any DIEMCAU_* setting of the developer's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIEMCAU_")}
    env.update(extra)
    return env


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DIEMCAU, *args], cwd=cwd, env=_clean_env(**env), capture_output=True, text=True,
        timeout=120, check=False,
    )


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """In-process CLI runs read fresh settings from the environment, in a temp folder."""
    for key in list(os.environ):
        if key.startswith("DIEMCAU_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_serve_answers_healthz_and_contract_paths_then_stops(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [DIEMCAU, "serve", "--port", str(port)],
        cwd=tmp_path, env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not answer /healthz within 60 s"
            time.sleep(0.2)
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        paths = httpx.get(f"{base}/openapi.json").json()["paths"]
        for path, methods in CONTRACT_PATHS.items():
            assert path in paths, path
            assert methods <= set(paths[path]), (path, set(paths[path]))
        # The embedded default: a SQLite file in the working folder, with the dev admin.
        login = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "admin", "password": "admin"}
        )
        assert login.status_code == 200, login.text
        assert (tmp_path / "diemcau.db").is_file()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    # uvicorn re-raises SIGTERM after a graceful shutdown, so -15 is a clean stop too.
    assert proc.returncode in (0, -signal.SIGTERM), out
    assert "Application shutdown complete." in out
    assert f"diemcau đang chạy tại http://127.0.0.1:{port}" in out


def test_demo_twice_keeps_the_same_sites(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    first = _run(["demo"], tmp_path, DIEMCAU_DATABASE_URL=url)
    second = _run(["demo"], tmp_path, DIEMCAU_DATABASE_URL=url)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert f"{len(SITES)} điểm cầu" in first.stdout
    assert second.stdout == first.stdout
    engine = create_db_engine(url, pool_size=1)
    with Session(engine) as db:
        # The registry holds both cities' official units; the demo invites len(SITES).
        assert db.exec(select(func.count()).select_from(Site)).one() == SITES_IN_REGISTRY
        assert db.exec(select(func.count()).select_from(Participation)).one() == len(SITES)
        assert db.exec(select(func.count()).select_from(User)).one() == 2
    engine.dispose()


def test_serve_with_workers_and_memory_broker_is_refused(cli_env: None) -> None:
    result = CliRunner().invoke(cli, ["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert "DIEMCAU_BROKER_URL=redis://" in result.output


def test_create_admin_makes_a_central_office_account(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    monkeypatch.setenv("DIEMCAU_DATABASE_URL", sqlite_url)
    result = CliRunner().invoke(
        cli,
        ["create-admin", "--username", "BanToChuc", "--full-name", "Nguyễn Thị Hạnh"],
        input="mat-khau-du-dai\nmat-khau-du-dai\n",
    )
    assert result.exit_code == 0, result.output
    assert "Đã tạo tài khoản ban tổ chức BanToChuc." in result.output
    engine = create_db_engine(sqlite_url, pool_size=1)
    with Session(engine) as db:
        user = accounts_service.authenticate(
            db, username="bantochuc", password="mat-khau-du-dai"
        )
        assert (user.role, user.full_name) == (Role.admin, "Nguyễn Thị Hạnh")
    engine.dispose()


def test_create_admin_with_taken_username_fails(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    monkeypatch.setenv("DIEMCAU_DATABASE_URL", sqlite_url)
    args = ["create-admin", "--username", "btc", "--password", "mat-khau-du-dai"]
    assert CliRunner().invoke(cli, [*args, "--full-name", "A"]).exit_code == 0
    result = CliRunner().invoke(cli, [*args, "--full-name", "B"])
    assert result.exit_code == 1
    assert "Tên đăng nhập đã được dùng" in result.output


def test_create_admin_with_short_password_is_refused(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    monkeypatch.setenv("DIEMCAU_DATABASE_URL", sqlite_url)
    result = CliRunner().invoke(
        cli, ["create-admin", "--username", "btc", "--password", "ngan", "--full-name", "A"]
    )
    assert result.exit_code == 2
    assert "ít nhất 10 ký tự" in result.output


# ------------------------------------------------------- published defaults refused


@pytest.fixture
def no_uvicorn(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Records uvicorn.run calls instead of serving (a refusal never gets there)."""
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(kw))
    return calls


@pytest.mark.parametrize("env", ["development", "test"])
def test_serve_on_all_addresses_with_default_secret_is_refused(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, no_uvicorn: list[dict[str, Any]],
    sqlite_url: str, env: str,
) -> None:
    monkeypatch.setenv("DIEMCAU_ENV", env)
    monkeypatch.setenv("DIEMCAU_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DIEMCAU_SECRET_KEY", DEV_SECRET)
    monkeypatch.setenv("DIEMCAU_ADMIN_PASSWORD", "mat-khau-rieng-123")
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2, result.output
    assert "DIEMCAU_SECRET_KEY" in result.output and no_uvicorn == []


def test_serve_on_all_addresses_with_default_admin_password_is_refused(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, no_uvicorn: list[dict[str, Any]],
    sqlite_url: str,
) -> None:
    monkeypatch.setenv("DIEMCAU_DATABASE_URL", sqlite_url)
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2, result.output
    assert "DIEMCAU_ADMIN_PASSWORD" in result.output and no_uvicorn == []


def test_serve_refuses_an_existing_admin_still_on_the_default_password(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, no_uvicorn: list[dict[str, Any]],
    sqlite_url: str,
) -> None:
    # Setting DIEMCAU_ADMIN_PASSWORD later does not change an account made with "admin".
    engine = create_db_engine(sqlite_url, pool_size=1)
    with Session(engine) as db:
        accounts_service.ensure_admin(db, username="admin", password=DEV_ADMIN_PASSWORD)
    engine.dispose()
    monkeypatch.setenv("DIEMCAU_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DIEMCAU_ADMIN_PASSWORD", "mat-khau-rieng-123")
    result = CliRunner().invoke(cli, ["serve", "--host", "192.168.1.20"])
    assert result.exit_code == 2, result.output
    assert no_uvicorn == []


def test_serve_with_generated_secret_and_own_password_starts_on_all_addresses(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, no_uvicorn: list[dict[str, Any]],
    sqlite_url: str, tmp_path: Path,
) -> None:
    monkeypatch.setenv("DIEMCAU_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DIEMCAU_ADMIN_PASSWORD", "mat-khau-rieng-123")
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    assert len(no_uvicorn) == 1 and no_uvicorn[0]["host"] == "0.0.0.0"
    assert (tmp_path / "var" / "secret_key").is_file()  # made before the workers start


def test_serve_on_loopback_keeps_the_development_defaults(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, no_uvicorn: list[dict[str, Any]],
    sqlite_url: str,
) -> None:
    monkeypatch.setenv("DIEMCAU_DATABASE_URL", sqlite_url)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    assert len(no_uvicorn) == 1


def test_demo_refuses_a_production_database(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    monkeypatch.setenv("DIEMCAU_ENV", "production")
    monkeypatch.setenv("DIEMCAU_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DIEMCAU_SECRET_KEY", "s" * 48)
    monkeypatch.setenv("DIEMCAU_ADMIN_PASSWORD", "mat-khau-rieng-123")
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 2, result.output
    assert "DIEMCAU_ENV=production" in result.output
    engine = create_db_engine(sqlite_url, pool_size=1)
    with Session(engine) as db:
        assert db.exec(select(func.count()).select_from(User)).one() == 0
    engine.dispose()


def test_demo_refuses_a_database_with_real_conferences(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    engine = create_db_engine(sqlite_url, pool_size=1)
    with Session(engine) as db:
        admin = accounts_service.ensure_admin(db, username="admin", password=ADMIN_PASSWORD)
        assert admin is not None
        Tree(db, admin)
        sites_before = db.exec(select(func.count()).select_from(Site)).one()
    monkeypatch.setenv("DIEMCAU_DATABASE_URL", sqlite_url)
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 2, result.output
    assert "hội nghị khác" in result.output
    with Session(engine) as db:
        assert db.exec(select(func.count()).select_from(Site)).one() == sites_before
    engine.dispose()


def test_production_with_default_secrets_exits_with_a_message(tmp_path: Path) -> None:
    result = _run(["migrate"], tmp_path, DIEMCAU_ENV="production")
    assert result.returncode == 2
    assert "DIEMCAU_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "diemcau.db").exists()


# ---------------------------------------------------------------------- CLI


@pytest.fixture
def cli_db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    """A SQLite database with an admin and the small tree; the CLI reads it from the env."""
    monkeypatch.setenv("DIEMCAU_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    engine = create_db_engine(sqlite_url, pool_size=1)
    with Session(engine, expire_on_commit=False) as db:
        admin = accounts_service.ensure_admin(db, username="admin", password=ADMIN_PASSWORD)
        assert admin is not None
        yield sqlite_url, Tree(db, admin).cid
    engine.dispose()
    get_settings.cache_clear()


def test_cli_import_sites_succeeds(cli_db: tuple[str, int], tmp_path: Path) -> None:
    sqlite_url, cid = cli_db
    path = tmp_path / "cay.csv"
    path.write_bytes(csv_bytes([["HCM-TT", "Đảng ủy phường Tân Thuận", "phường", "HCM"],
                                ["HCM-TT2", "Đảng ủy xã Thạnh An", "xã", "HCM-TT"]]))
    result = CliRunner().invoke(cli, ["import-sites", str(path), "--conference", str(cid)])
    assert result.exit_code == 0, result.output
    assert "Đã nhập 2 điểm cầu" in result.output and "Kiểm tra" in result.output
    engine = create_db_engine(sqlite_url, pool_size=1)
    with Session(engine) as db:
        assert site(db, cid, "HCM-TT2").depth == 3
    engine.dispose()


def test_cli_import_sites_bad_file_exits_1(cli_db: tuple[str, int], tmp_path: Path) -> None:
    _, cid = cli_db
    path = tmp_path / "sai.csv"
    path.write_bytes(csv_bytes([["R", "Xã R", "loại lạ", "HCM"], ["Q", "Xã Q", "xã", "ZZ"]]))
    result = CliRunner().invoke(cli, ["import-sites", str(path), "--conference", str(cid)])
    assert result.exit_code == 1
    assert "Các dòng cần sửa" in result.output and "Tệp có 2 lỗi ở 2 dòng" in result.output
    assert "ZZ" in result.output
    missing = CliRunner().invoke(cli, ["import-sites", str(path), "--conference", "999"])
    assert missing.exit_code == 1 and "conference_not_found" in missing.output




def test_audit_verify_exit_codes_as_a_process(sqlite_url: str, tmp_path: Path) -> None:
    """The real command's exit status: 0 on a whole log, 1 once an entry was changed."""
    import sqlite3

    engine = create_db_engine(sqlite_url, pool_size=1)
    with Session(engine) as db:
        accounts_service.ensure_admin(db, username="admin", password=ADMIN_PASSWORD)
    engine.dispose()
    whole = _run(["audit", "verify"], tmp_path, DIEMCAU_DATABASE_URL=sqlite_url)
    assert whole.returncode == 0, whole.stderr
    assert "audit_verify status=ok entries=1 " in whole.stdout
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET role = 'tampered'")
    broken = _run(["audit", "verify"], tmp_path, DIEMCAU_DATABASE_URL=sqlite_url)
    assert broken.returncode == 1, broken.stdout
    assert "reason=changed broken_at=1" in broken.stdout
    assert "mục #1" in broken.stderr


def test_migrate_app_role_needs_postgresql_and_a_plain_name(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    monkeypatch.setenv("DIEMCAU_DATABASE_URL", sqlite_url)
    for role, says in (('x"; DROP TABLE audit_log; --', "chữ thường"),
                       ("diemcau_app", "PostgreSQL")):
        result = CliRunner().invoke(cli, ["migrate", "--app-role", role])
        assert result.exit_code == 2, result.output
        assert says in result.output
