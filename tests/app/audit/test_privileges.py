"""PostgreSQL privileges on the audit log, with roles as a deployment has them (no
superuser): the role that ran the migrations may append and read but not update, delete
or truncate, triggers off or on; and the production layout (deploy/postgres-app-role.sql:
a separate owner, `diemcau migrate --app-role`) leaves the application no way to give those
rights back to itself."""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from app.audit import chain
from app.cli import cli
from app.config import get_settings
from app.db import create_db_engine
from app.migrate import upgrade
from tests.conftest import PG_ADMIN_URL, PG_HOST, _pg_reachable

pytestmark = pytest.mark.postgres
DENIED = "42501"  # insufficient_privilege


@dataclass
class Cluster:
    """Roles and a database made for one test, dropped after it."""

    admin: Engine
    roles: list[str]
    databases: list[str]

    def role(self, name: str) -> str:
        self.admin_run(f'CREATE ROLE "{name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')
        self.roles.append(name)
        return name

    def database(self, name: str, *, owner: str) -> str:
        self.admin_run(f'CREATE DATABASE "{name}" OWNER "{owner}"')
        self.databases.append(name)
        return name

    def admin_run(self, statement: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(statement))


def url(role: str, database: str) -> str:
    return f"postgresql+psycopg://{role}@{PG_HOST}:5432/{database}"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not _pg_reachable():
        pytest.skip(f"PostgreSQL at {PG_HOST}:5432 is unreachable")
    admin = create_db_engine(PG_ADMIN_URL, pool_size=1).execution_options(
        isolation_level="AUTOCOMMIT")
    made = Cluster(admin, [], [])
    try:
        yield made
    finally:
        for name in made.databases:
            made.admin_run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for name in reversed(made.roles):
            made.admin_run(f'DROP ROLE IF EXISTS "{name}"')
        admin.dispose()


def _code(engine: Engine, *statements: str) -> str | None:
    """The SQLSTATE refusing the last statement (None: it ran), in one transaction."""
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    except DBAPIError as exc:
        return str(getattr(exc.orig, "sqlstate", None))
    return None


def _append_and_count(engine: Engine) -> int:
    with engine.begin() as conn:
        chain.append(conn, [{"role": "system", "action": "test", "object_type": "test"}])
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one())


def test_the_migrating_role_cannot_change_the_log_even_with_triggers_off(
    cluster: Cluster,
) -> None:
    pid = os.getpid()
    app = cluster.role(f"diemcau_app_{pid}")
    name = cluster.database(f"diemcau_priv_{pid}", owner=app)
    upgrade(url(app, name))
    engine = create_db_engine(url(app, name), pool_size=1)
    try:
        assert _append_and_count(engine) == 1  # INSERT and SELECT work
        for statement in ("UPDATE audit_log SET role = 'x'", "DELETE FROM audit_log",
                          "TRUNCATE audit_log"):
            assert _code(engine, statement) == DENIED, statement
            # The owner may switch its own triggers off: the privilege still refuses.
            assert _code(engine, "ALTER TABLE audit_log DISABLE TRIGGER USER",
                         statement) == DENIED, statement
        # Skipping triggers for the session is a superuser's right only.
        assert _code(engine, "SET session_replication_role = replica") == DENIED
        # The limit (docs/SECURITY.md): an owner may grant itself the right back.
        assert _code(engine, "GRANT UPDATE ON audit_log TO CURRENT_USER",
                     "ALTER TABLE audit_log DISABLE TRIGGER USER",
                     "UPDATE audit_log SET role = 'x'") is None
    finally:
        engine.dispose()


def test_an_application_role_that_owns_nothing_cannot_get_the_rights_back(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # the CLI's settings may write a secret file here
    get_settings.cache_clear()
    pid = os.getpid()
    owner = cluster.role(f"diemcau_owner_{pid}")
    app = cluster.role(f"diemcau_app_{pid}")
    name = cluster.database(f"diemcau_priv_{pid}", owner=owner)
    migrated = CliRunner().invoke(cli, ["migrate", "--app-role", app],
                                  env={"DIEMCAU_DATABASE_URL": url(owner, name)})
    get_settings.cache_clear()
    assert migrated.exit_code == 0, migrated.output
    assert f"Đã cấp quyền cho vai trò {app}" in migrated.output
    engine = create_db_engine(url(app, name), pool_size=1)
    try:
        upgrade(url(app, name))  # `diemcau serve` migrates first: at head, it only reads
        assert _append_and_count(engine) == 1
        for statement in ("UPDATE audit_log SET role = 'x'", "DELETE FROM audit_log",
                          "TRUNCATE audit_log", "ALTER TABLE audit_log DISABLE TRIGGER USER",
                          "DROP TRIGGER audit_log_no_change ON audit_log",
                          "SET session_replication_role = replica"):
            assert _code(engine, statement) == DENIED, statement
        # Not the owner: its GRANT grants nothing (PostgreSQL only warns).
        assert _code(engine, "GRANT UPDATE, DELETE ON audit_log TO CURRENT_USER",
                     "UPDATE audit_log SET role = 'x'") == DENIED
        # The rest of the data stays the application's to write.
        assert _code(engine, "UPDATE user_account SET full_name = full_name",
                     "DELETE FROM throttle") is None
    finally:
        engine.dispose()
