"""Shared fixtures: a migrated database per backend, the app, clients, logged-in users.

Every test that asks for `database_url` runs on SQLite and on PostgreSQL. PostgreSQL
tests skip with a reason when the server is unreachable, except in CI (CI=true),
where an unreachable server is a failure.
"""

import contextlib
import os
import secrets
import shutil
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool
from sqlmodel import Session, SQLModel

import app.models  # noqa: F401 - every table on the metadata
from app import security
from app.accounts import service as accounts_service
from app.accounts.models import User
from app.audit.context import clear_actor
from app.config import Settings
from app.db import create_db_engine, read_only
from app.main import create_app
from app.migrate import upgrade
from endpoints import coordinators as endpoints_coordinators
from endpoints import service as endpoints_service
from endpoints.models import ConferenceCreate, SiteCreate, SiteKind

PG_HOST = os.environ.get("DIEMCAU_TEST_PG_HOST", "127.0.0.1")
PG_ADMIN_URL = f"postgresql+psycopg://postgres@{PG_HOST}:5432/test"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ADMIN_PASSWORD = "admin-test-password"
SECRET = "test-secret-" + "x" * 40


def _pg_reachable() -> bool:
    try:
        with socket.create_connection((PG_HOST, 5432), timeout=1):
            return True
    except OSError:
        return False


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(autouse=True)
def _no_actor_left_over() -> None:
    """Each test starts as the system: an actor set by an earlier test in this worker
    (`set_actor`) would otherwise sign this test's writes."""
    clear_actor()


# A cheap argon2id profile (one pass over 8 KiB) for tests that are not about passwords:
# the real one costs ~0.1 s of a core per hash or check, and most tests make an admin,
# start an app (which makes one) and log in, at the lowest CPU priority (app.accounts.login),
# which a loaded box starves. Same algorithm and code path; tests about the real profile or
# argon2's cost carry the `real_argon2` mark.
_CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
_CHEAP_DUMMY_HASH = _CHEAP_HASHER.hash(secrets.token_urlsafe(16))
_REAL_HASHER, _REAL_DUMMY_HASH = security._hasher, security._DUMMY_HASH


@pytest.fixture(scope="session", autouse=True)
def _cheap_argon2() -> Iterator[None]:
    """The cheap profile for the whole session: module-wide worlds log in too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(security, "_hasher", _CHEAP_HASHER)
        patch.setattr(security, "_DUMMY_HASH", _CHEAP_DUMMY_HASH)
        yield


@pytest.fixture(autouse=True)
def _real_argon2_when_marked(request: pytest.FixtureRequest,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("real_argon2") is not None:
        monkeypatch.setattr(security, "_hasher", _REAL_HASHER)
        monkeypatch.setattr(security, "_DUMMY_HASH", _REAL_DUMMY_HASH)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A migrated PostgreSQL database of this test worker."""
    if not _pg_reachable():
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_HOST}:5432 is unreachable in CI")
        pytest.skip(f"PostgreSQL at {PG_HOST}:5432 is unreachable (start it to run these)")
    # One database per test process: parallel runs (xdist workers, two terminals) never
    # truncate each other's tables.
    name = f"diemcau_test_{_worker()}_{os.getpid()}"
    admin = create_db_engine(PG_ADMIN_URL, pool_size=1).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+psycopg://postgres@{PG_HOST}:5432/{name}"
    upgrade(url)
    yield url
    reset = _RESET_ENGINES.pop(url, None)
    if reset is not None:
        reset.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


_RESET_ENGINES: dict[str, Engine] = {}


def _reset_statement() -> str:
    """One DO block emptying every table of the metadata and restarting the sequences
    those tables own, as `TRUNCATE … RESTART IDENTITY` would.

    DELETE rather than TRUNCATE: TRUNCATE gives each of the ~40 tables (and their
    indexes) new files, ~0.2-1 s per test on this box; deleting the few rows a test
    wrote costs milliseconds.
    """
    tables = [t.name for t in SQLModel.metadata.sorted_tables]
    deletes = " ".join(f'DELETE FROM "{name}";' for name in reversed(tables))
    names = ", ".join(f"'{name}'" for name in tables)
    return (
        f"DO $$ BEGIN {deletes} "
        "PERFORM setval(s.seqrelid, s.seqstart, false) FROM pg_sequence s "
        "JOIN pg_depend d ON d.objid = s.seqrelid AND d.classid = 'pg_class'::regclass "
        "AND d.deptype IN ('a', 'i') "
        f"JOIN pg_class t ON t.oid = d.refobjid WHERE t.relname IN ({names}); END $$"
    )


def _truncate_pg(url: str) -> None:
    """Empty every table of the test database (ids start again at 1)."""
    engine = _RESET_ENGINES.get(url)
    if engine is None:
        # No pool: the reset keeps no idle connection between tests (the server's 100
        # slots are shared with tests that open 60 at once, and with other runs).
        engine = _RESET_ENGINES[url] = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        # The audit log refuses DELETE and TRUNCATE by trigger (migration 0013); a
        # superuser test reset runs with triggers (foreign keys' too) off.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(_reset_statement()))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    _truncate_pg(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated SQLite database only (browser and CLI tests)."""
    path = tmp_path / "test.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def make_settings(database_url: str, **extra: object) -> Settings:
    """Settings for a test app."""
    return Settings(
        env="test",
        database_url=database_url,
        secret_key=SECRET,
        admin_username="admin",
        admin_password=ADMIN_PASSWORD,
        allowed_origins=["http://testserver"],
        # No daily retention purge in a test app: it would purge the test conferences
        # (dated 2025) behind the test's back; tests call it themselves.
        **{"purge_hour": -1, **extra},  # type: ignore[arg-type]
    )


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings.database_url, pool_size=5)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session for arranging and checking. It takes no write lock up front, so it never
    blocks the app; call `db.rollback()` before reading what an HTTP call wrote
    (an open SQLite read transaction keeps its snapshot)."""
    with Session(read_only(engine), expire_on_commit=False) as session:
        yield session


@pytest.fixture
def admin(db: Session) -> User:
    """The central-office account."""
    user = accounts_service.ensure_admin(db, username="admin", password=ADMIN_PASSWORD)
    if user is None:
        user = accounts_service.authenticate(db, username="admin", password=ADMIN_PASSWORD)
    return user


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def token_for(client: TestClient, username: str, password: str) -> dict[str, str]:
    """Bearer headers for a user, through the OAuth2 password flow."""
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def admin_headers(client: TestClient) -> dict[str, str]:
    return token_for(client, "admin", ADMIN_PASSWORD)


class Tree:
    """A small conference: central, two hubs, wards under each hub."""

    def __init__(self, db: Session, actor: User) -> None:
        self.conference = endpoints_service.create_conference(
            db,
            data=ConferenceCreate(
                title="Hội nghị tập huấn AI", starts_on=date(2025, 9, 9), ends_on=date(2025, 9, 9)
            ),
            actor=actor,
        )
        cid = self.conference.id
        assert cid is not None
        self.cid = cid

        def add(name: str, kind: SiteKind, parent_id: int | None, code: str) -> int:
            site = endpoints_service.create_site(
                db,
                conference_id=cid,
                data=SiteCreate(name=name, kind=kind, parent_id=parent_id, code=code),
                actor=actor,
            )
            assert site.site.id is not None
            return site.site.id

        self.central = add("Hội trường Trung ương", SiteKind.central, None, "TW")
        self.hub_a = add("Trung tâm Hội nghị 272", SiteKind.hub, self.central, "HCM")
        self.hub_b = add("Điểm cầu Hà Nội", SiteKind.hub, self.central, "HN")
        self.ward_a1 = add("Đảng ủy phường Bến Nghé", SiteKind.ward, self.hub_a, "HCM-BN")
        self.ward_a2 = add("Đảng ủy xã Cần Giờ", SiteKind.commune, self.hub_a, "HCM-CG")
        self.ward_b1 = add("Đảng ủy phường Hoàn Kiếm", SiteKind.ward, self.hub_b, "HN-HK")


@pytest.fixture
def tree(db: Session, admin: User) -> Tree:
    return Tree(db, admin)


@pytest.fixture
def coordinator_a(db: Session, admin: User, tree: Tree) -> User:
    """Coordinator of hub A (and so of the wards below it)."""
    return endpoints_coordinators.create_coordinator(
        db,
        site_id=tree.hub_a,
        username="hcm",
        password="hcm-password",
        full_name="Lê Thị Hồng",
        phone="0901234567",
        actor=admin,
    )


# Browser fixtures are registered once, here: imported into several test modules, the
# session-scoped browser would start one Playwright per module in the same thread.
from tests.browser import browser, live_server, page, phone  # noqa: E402, F401


@contextlib.contextmanager
def sockets_one_at_a_time(client: TestClient) -> Iterator[None]:
    """Handshakes sent one after another, faster than the admission's token bucket: not
    a storm (shedding has its own tests, tests/app/test_admission.py), so no rate here."""
    admission = client.app.state.admission  # type: ignore[attr-defined]
    rate, admission.rate = admission.rate, 0.0
    try:
        yield
    finally:
        admission.rate = rate
