"""Database engine and the `DbSession` dependency.

SQLite is tuned for many short writers: WAL, a busy timeout, synchronous=NORMAL,
foreign keys on, and every transaction opened with BEGIN IMMEDIATE so that a
read-then-write transaction waits for the lock instead of failing with
"database is locked" (the pysqlite recipe from SQLAlchemy's docs).
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

READ_ONLY_OPTION = "diemcau_read_only"


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the lock up front; read-only sessions take none (WAL readers never block).
        if conn.get_execution_options().get(READ_ONLY_OPTION):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_db_engine(url: str, *, pool_size: int = 20) -> Engine:
    """An engine for `url`, tuned for the backend it names."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        _tune_sqlite(engine)
        return engine
    return create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def read_only(engine: Engine) -> Engine:
    """The same engine for sessions that only read: on SQLite they take no write lock."""
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def get_db(request: Request) -> Iterator[Session]:
    """One database session per request (writes take the lock up front), closed afterwards."""
    engine: Engine = request.app.state.engine
    with Session(engine, expire_on_commit=False) as db:
        yield db


def get_read_db(request: Request) -> Iterator[Session]:
    """A session for handlers that only read."""
    engine: Engine = request.app.state.read_engine
    with Session(engine, expire_on_commit=False) as db:
        yield db


DbSession = Annotated[Session, Depends(get_db)]
ReadDbSession = Annotated[Session, Depends(get_read_db)]


def utcnow() -> datetime:
    """Now in UTC, timezone-aware (stored as UTC, shown in Asia/Ho_Chi_Minh)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware UTC times only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)
