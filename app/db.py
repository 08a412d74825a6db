"""Database engine, the `DbSession` dependency and the write gate.

SQLite is tuned for many short writers: WAL, a busy timeout, synchronous=NORMAL,
foreign keys on, and every transaction opened with BEGIN IMMEDIATE so that a
read-then-write transaction waits for the lock instead of failing with
"database is locked" (the pysqlite recipe from SQLAlchemy's docs).
"""

import asyncio
import contextvars
import threading
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, TypeVar, TypeVarTuple
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from sqlalchemy import DateTime, event
from sqlalchemy.engine import Dialect, Engine, ExceptionContext
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

from app.group_commit import GroupCommit, I, Outcome, R

READ_ONLY_OPTION = "diemcau_read_only"
T = TypeVar("T")
Ts = TypeVarTuple("Ts")


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


def _terse_errors(engine: Engine) -> None:
    """PostgreSQL's errors carry a DETAIL with the values (`Key (code)=(…)`, `Failing
    row contains (Nguyễn Văn An, 0912…)`), which hide_parameters does not touch and
    tracebacks print. Keep only the primary message, in the driver's error and ours."""

    @event.listens_for(engine, "handle_error")
    def _primary_only(context: ExceptionContext) -> None:
        orig = context.original_exception
        primary = getattr(getattr(orig, "diag", None), "message_primary", None)
        if not primary:
            return
        orig.args = (primary,)
        if context.sqlalchemy_exception is not None:
            kind = type(orig)
            context.sqlalchemy_exception.args = (f"({kind.__module__}.{kind.__name__}) {primary}",)


def create_db_engine(url: str, *, pool_size: int = 20) -> Engine:
    """An engine for `url`, tuned for the backend it names.

    Its errors (and SQL echo, if ever switched on) never show bound parameters: they
    carry attendees' names, phones and pass codes, and error text reaches the logs.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=pool_size,
            max_overflow=pool_size,
            hide_parameters=True,
        )
        _tune_sqlite(engine)
        return engine
    engine = create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
        hide_parameters=True,
        # While PostgreSQL is unreachable a request answers 503 quickly (app/errors.py)
        # instead of hanging on a connect.
        connect_args={"connect_timeout": 2},
    )
    _terse_errors(engine)
    return engine


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


#: How often background work looks again for a moment without live writes.
BEHIND_POLL_SECONDS = 0.002


class WriteGate:
    """Where the hot path's writes run, made once at start-up.

    On SQLite one worker thread runs them all: the writes take turns anyway, and one
    thread spares a burst dozens of pool threads fighting over the GIL and SQLite's busy
    handler (which sleeps 1, 2, 5, 10… ms between tries). PostgreSQL takes writers in
    parallel: they run in the loop's shared thread pool.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.read_engine = read_only(engine)
        self._worker_ident: int | None = None
        self._worker: ThreadPoolExecutor | None = None
        self._groups: dict[Callable[..., Any], GroupCommit[Any, Any]] = {}
        # Background work (an offline queue's chunks) takes turns, one in the gate at once,
        # and only while no live write is waiting or running (`run_behind`). Plain
        # counters, not asyncio primitives: a gate outlives an event loop in tests.
        self._behind = False
        self._live = 0
        if engine.dialect.name == "sqlite":
            self._worker = ThreadPoolExecutor(
                1, thread_name_prefix="write-gate", initializer=self._mark_worker
            )

    def _mark_worker(self) -> None:
        self._worker_ident = threading.get_ident()

    @property
    def serial(self) -> bool:
        """True when one thread runs every write (SQLite)."""
        return self._worker is not None

    def session(self) -> Session:
        """A write session on the gate's engine (use it inside `run` or `call`)."""
        return Session(self.engine, expire_on_commit=False)

    def read_session(self) -> Session:
        """A read-only session (takes no write lock on SQLite)."""
        return Session(self.read_engine, expire_on_commit=False)

    async def run(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        """Run `fn(*args)` in the gate's thread (SQLite) or the shared pool, in one hop.

        The call runs in a copy of the caller's context, as Starlette's threadpool does:
        the audit log reads the request's actor from it.
        """
        self._live += 1
        try:
            return await self._hop(fn, *args)
        finally:
            self._live -= 1

    async def _hop(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(
            self._worker, context.run, fn, *args
        )

    async def run_behind(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        """`run` for background work: one such call in the gate at a time, and only once
        no live write (`run`) is waiting or running, so a live write waits for one piece
        of background work at most, not for every island's queue sent at once (the gate's
        thread takes its work first come, first served)."""
        while self._behind or self._live:
            await asyncio.sleep(BEHIND_POLL_SECONDS)
        self._behind = True  # no await since the check: the loop runs one task at a time
        try:
            return await self._hop(fn, *args)
        finally:
            self._behind = False

    def group(self, fn: Callable[[list[I]], list[Outcome[R]]]) -> GroupCommit[I, R]:
        """The group commit of `fn` (made on first use): items submitted while the gate is
        busy are handed to `fn` together, in one hop (`app.group_commit`)."""
        found: GroupCommit[I, R] | None = self._groups.get(fn)
        if found is None:

            async def hop(items: list[I]) -> list[Outcome[R]]:
                return await self.run(fn, items)

            found = self._groups[fn] = GroupCommit(run=hop)
        return found

    def call(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        """Run `fn(*args)` through the gate from a worker thread, waiting for the answer.

        Never call it inside a write transaction: on SQLite the gate's thread may be
        waiting for that very lock.
        """
        if self._worker is None or threading.get_ident() == self._worker_ident:
            return fn(*args)  # parallel writers, or already inside the gate
        return self._worker.submit(fn, *args).result()

    def close(self) -> None:
        """Let queued writes finish, then stop the worker thread."""
        if self._worker is not None:
            self._worker.shutdown(wait=True)


async def get_write_gate(request: Request) -> WriteGate:
    """The write gate of the running app (async: resolving it costs no thread hop)."""
    gate: WriteGate = request.app.state.write_gate
    return gate


WriteGateDep = Annotated[WriteGate, Depends(get_write_gate)]


def utcnow() -> datetime:
    """Now in UTC, timezone-aware (stored as UTC, shown in Asia/Ho_Chi_Minh)."""
    return datetime.now(UTC)


#: Where the organisers are: "today" (which conference is live) is their calendar day.
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local_today() -> date:
    """Today's date in Vietnam."""
    return utcnow().astimezone(LOCAL_TZ).date()


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


P = TypeVar("P")


class PerPool(Generic[P]):
    """One object per database, made on first use: keyed by the engine's connection pool,
    so the read and write engines of one database share it and a disposed engine's object
    goes with it (tests run several databases in one process)."""

    def __init__(self, factory: Callable[[], P]) -> None:
        self._factory = factory
        self._items: weakref.WeakKeyDictionary[Any, P] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, bind: Any) -> P:
        """The object of `bind`'s database (an Engine or a Connection)."""
        with self._lock:
            item = self._items.get(bind.pool)
            if item is None:
                item = self._items[bind.pool] = self._factory()
            return item
