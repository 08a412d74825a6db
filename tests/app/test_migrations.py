"""Alembic migrations: one head, the same schema as the models, a clean round trip."""

import re

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel

import app.models  # noqa: F401 - every table on the metadata
from app.config import PROJECT_ROOT
from app.db import create_db_engine
from app.migrate import alembic_config

FILE_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}-\d{4}_[a-z0-9_]+\.py$")


def _head() -> str:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"several Alembic heads, merge them: {heads}"
    return heads[0]


def _tables(url: str) -> set[str]:
    engine = create_db_engine(url, pool_size=1)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_have_one_head() -> None:
    assert _head()


def test_migration_files_follow_the_naming_rule() -> None:
    names = [p.name for p in (PROJECT_ROOT / "alembic" / "versions").glob("*.py")]
    assert names
    assert [n for n in names if not FILE_NAME.match(n)] == []


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_db_engine(database_url, pool_size=1)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, SQLModel.metadata)
        version = context.get_current_revision()
    engine.dispose()
    assert diffs == []
    assert version == _head()


def test_downgrade_to_base_then_upgrade_to_head(database_url: str) -> None:
    cfg = alembic_config(database_url)
    model_tables = set(SQLModel.metadata.tables)
    command.downgrade(cfg, "base")
    assert _tables(database_url) & model_tables == set()
    command.upgrade(cfg, "head")
    assert _tables(database_url) >= model_tables


def test_0012_clears_the_scanned_text_kept_before(database_url: str) -> None:
    """Refused scans kept the first 40 characters of anything scanned; 0012 clears them."""
    from sqlalchemy import text

    cfg = alembic_config(database_url)
    command.downgrade(cfg, "0011_words")
    engine = create_db_engine(database_url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO scan_failure (site_id, session_key, code_prefix, reason, method, at)"
                " VALUES (1, 0, '079090001234|025123456|Nguyễn Văn An', 'pass_malformed',"
                " 'scan', CURRENT_TIMESTAMP)"))
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT code_prefix, reason FROM scan_failure")).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in kept] == [("", "pass_malformed")]
