"""Where throttle counts live when several workers serve: the database or Redis."""

import itertools
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import redis
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col

from app.audit.policy import audited
from app.config import Settings
from app.db import read_only
from app.throttle import Limiter, MemoryLimiter, Rule

log = logging.getLogger(__name__)
T = TypeVar("T")


class ThrottleEntry(SQLModel, table=True):
    """One throttled subject's failures (times are Unix seconds)."""

    __tablename__ = "throttle"

    key: str = Field(primary_key=True, max_length=255)
    failures: int = 0
    blocked_until: float = 0.0
    forget_at: float = Field(default=0.0, index=True)


def _direct(fn: Callable[[], T]) -> T:
    return fn()


class DatabaseLimiter:
    """Counts in the `throttle` table: one truth for every worker on one database.

    A check is one read (no lock on SQLite). A failure is one short write transaction,
    run through `write` (the app's write gate on SQLite, so it takes its turn with the
    check-ins instead of fighting them for the lock). Only failures before a subject is
    blocked are written: a blocked flood costs reads alone.
    """

    def __init__(self, engine: Engine, *, write: Callable[[Callable[[], Any]], Any] = _direct,
                 sweep_every: int = 500) -> None:
        self._engine = engine
        self._read = read_only(engine)
        self._write = write
        self._calls = itertools.count(1)
        self._sweep_every = sweep_every

    def wait(self, keys: Sequence[str], now: float) -> float:
        """Seconds until every key may try again."""
        # A bare connection, not a Session: this read runs before every guessable request.
        with self._read.connect() as conn:
            until = conn.execute(
                select(func.max(col(ThrottleEntry.blocked_until))).where(
                    col(ThrottleEntry.key).in_(list(keys)), col(ThrottleEntry.forget_at) > now
                )
            ).scalar()
        return max(0.0, float(until) - now) if until is not None else 0.0

    def fail(self, key: str, rule: Rule, now: float) -> float:
        """Count one failure (read-modify-write under a row lock)."""
        delay: float = self._write(lambda: self._fail(key, rule, now))
        return delay

    def _fail(self, key: str, rule: Rule, now: float) -> float:
        with Session(self._engine) as db:
            table = ThrottleEntry.__table__  # type: ignore[attr-defined]
            dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
            db.execute(dialect.insert(table).values(key=key, failures=0, blocked_until=0.0,
                                                    forget_at=0.0).on_conflict_do_nothing())
            row = db.execute(
                select(col(ThrottleEntry.failures), col(ThrottleEntry.forget_at))
                .where(col(ThrottleEntry.key) == key).with_for_update()
            ).one()
            count = row[0] + 1 if row[1] > now else 1
            delay = rule.delay(count)
            db.execute(update(ThrottleEntry).where(col(ThrottleEntry.key) == key).values(
                failures=count, blocked_until=now + delay, forget_at=now + delay + rule.forget))
            if next(self._calls) % self._sweep_every == 0:
                db.execute(delete(ThrottleEntry).where(col(ThrottleEntry.forget_at) < now))
            db.commit()
        return delay

    def clear(self, key: str) -> None:
        """Forget one key."""
        def run() -> None:
            with Session(self._engine) as db:
                db.execute(delete(ThrottleEntry).where(col(ThrottleEntry.key) == key))
                db.commit()
        self._write(run)


# Atomic in Redis: count, compute the doubling wait, store it, expire when forgotten.
_FAIL_SCRIPT = """
local now, free, first = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local ceiling, forget = tonumber(ARGV[4]), tonumber(ARGV[5])
local count = redis.call('HINCRBY', KEYS[1], 'c', 1)
local delay = 0
if count > free then
  delay = math.min(first * 2 ^ math.min(count - free - 1, 30), ceiling)
end
redis.call('HSET', KEYS[1], 'u', tostring(now + delay))
redis.call('PEXPIRE', KEYS[1], math.ceil((delay + forget) * 1000))
return tostring(delay)
"""


class RedisLimiter:
    """Counts in Redis (hashes that expire once forgotten): shared by every worker and host.

    Redis down: attempts are let through and a warning is logged, rather than every
    login and self check-in of the event refused while the broker restarts.
    """

    def __init__(self, url: str, *, prefix: str = "diemcau:throttle:") -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._prefix = prefix
        self._fail_script = self._redis.register_script(_FAIL_SCRIPT)

    def wait(self, keys: Sequence[str], now: float) -> float:
        """Seconds until every key may try again."""
        try:
            pipe = self._redis.pipeline(transaction=False)
            for key in keys:
                pipe.hget(self._prefix + key, "u")
            values = pipe.execute()
        except redis.RedisError as exc:
            log.warning("throttle: Redis unavailable, not limiting (%s)", type(exc).__name__)
            return 0.0
        return max([0.0, *(float(v) - now for v in values if v is not None)])

    def fail(self, key: str, rule: Rule, now: float) -> float:
        """Count one failure."""
        try:
            delay = self._fail_script(
                keys=[self._prefix + key],
                args=[repr(now), rule.free, rule.first_delay, rule.max_delay, rule.forget],
            )
        except redis.RedisError as exc:
            log.warning("throttle: Redis unavailable, failure not counted (%s)",
                        type(exc).__name__)
            return 0.0
        return float(delay)

    def clear(self, key: str) -> None:
        """Forget one key."""
        try:
            self._redis.delete(self._prefix + key)
        except redis.RedisError as exc:
            log.warning("throttle: Redis unavailable (%s)", type(exc).__name__)

    def close(self) -> None:
        """Close the connection pool."""
        self._redis.close()


def make_limiter(
    settings: Settings, engine: Engine, *, write: Callable[[Callable[[], Any]], Any] = _direct
) -> Limiter:
    """The limiter `settings` ask for; "auto" is Redis with a Redis broker, else the database
    (the embedded SQLite server runs one process, but nothing stops someone from starting
    several on one file, and the table costs one read per attempt)."""
    backend = settings.throttle_backend
    if backend == "auto":
        redis_broker = settings.broker_url.startswith(("redis://", "rediss://"))
        backend = "redis" if redis_broker else "database"
    if backend == "redis":
        return RedisLimiter(settings.broker_url)
    if backend == "memory":
        return MemoryLimiter()
    return DatabaseLimiter(engine, write=write)


# Attempt counts are machine bookkeeping, written on every login try: not logged row by row.
audited("throttle", skip=True)
