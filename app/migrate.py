"""Run Alembic migrations from code (used by `diemcau serve`, the CLI and tests)."""

import re

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from app.config import PROJECT_ROOT


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at `database_url`."""
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    cfg.attributes["database_url"] = database_url
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(database_url: str) -> None:
    """Bring the database at `database_url` to the newest schema."""
    command.upgrade(alembic_config(database_url), "head")


_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# What the application's role may do once the owner has migrated: read and write the
# data, append to and read the audit log, never change or empty it. It owns nothing, so
# unlike the owner it can neither switch the log's triggers off nor grant itself more.
_APP_ROLE_GRANTS = (
    'GRANT USAGE ON SCHEMA public TO "{role}"',
    'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"',
    'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
    'REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM "{role}"',
)


def grant_app_role(database_url: str, *, role: str) -> None:
    """Give the application's PostgreSQL role (not the owner running this) what it needs
    and no more; run after every migration (`diemcau migrate --app-role NAME`)."""
    if not _ROLE.match(role):
        raise ValueError("tên vai trò chỉ gồm chữ thường không dấu, chữ số và _")
    engine = create_engine(database_url)
    try:
        if engine.dialect.name != "postgresql":
            raise ValueError("chỉ dùng với PostgreSQL")
        with engine.begin() as conn:
            for statement in _APP_ROLE_GRANTS:
                conn.execute(text(statement.format(role=role)))
    finally:
        engine.dispose()
