"""The `diemcau` command line against a SQLite file: the database and secret come from the
environment, as an operator's shell would give them (`cli_db`)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.config import get_settings
from app.db import create_db_engine
from tests.conftest import ADMIN_PASSWORD, Tree


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str) -> Iterator[Tree]:
    """The test tree in a SQLite file the CLI reads from the environment, with an admin."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIEMCAU_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DIEMCAU_SECRET_KEY", "cli-secret-" + "q" * 40)
    get_settings.cache_clear()
    engine = create_db_engine(sqlite_url, pool_size=1)
    with Session(engine, expire_on_commit=False) as db:
        admin = accounts_service.ensure_admin(db, username="admin", password=ADMIN_PASSWORD)
        assert admin is not None
        tree = Tree(db, admin)
    engine.dispose()
    yield tree
    get_settings.cache_clear()
