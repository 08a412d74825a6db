"""The shared fixtures' own promises: each PostgreSQL test starts on empty tables with ids
from 1, and tests not about passwords hash with the cheap argon2 profile."""

import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel

from app import security
from app.accounts import service as accounts_service
from app.db import create_db_engine
from tests.conftest import ADMIN_PASSWORD, Tree, _truncate_pg


@pytest.mark.postgres
def test_postgres_reset_empties_every_table_and_restarts_ids(pg_database: str) -> None:
    _truncate_pg(pg_database)
    engine = create_db_engine(pg_database, pool_size=1)
    try:
        for _ in range(2):
            with Session(engine, expire_on_commit=False) as db:
                admin = accounts_service.ensure_admin(
                    db, username="admin", password=ADMIN_PASSWORD
                )
                assert admin is not None and admin.id == 1
                tree = Tree(db, admin)
                assert (tree.cid, tree.central) == (1, 1)
            with engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar()
            _truncate_pg(pg_database)
            with engine.connect() as conn:
                for table in SQLModel.metadata.sorted_tables:
                    count = conn.execute(text(f'SELECT count(*) FROM "{table.name}"')).scalar()
                    assert count == 0, table.name
    finally:
        engine.dispose()


def test_hashes_are_cheap_unless_marked() -> None:
    assert "$m=8,t=1,p=1$" in security.hash_password("mat-khau-dai-du")


@pytest.mark.real_argon2
def test_marked_tests_hash_with_the_real_profile() -> None:
    assert "$m=19456,t=2,p=1$" in security.hash_password("mat-khau-dai-du")
