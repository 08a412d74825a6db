"""Throttle counts shared by several app instances: through the database and through Redis."""

import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.throttle import MemoryLimiter, Rule
from app.throttle_store import DatabaseLimiter, RedisLimiter, make_limiter
from tests.app.test_realtime import redis_url
from tests.conftest import make_settings

PASSWORD = "right-password-123"


def _two_apps_share_counts(database_url: str, **extra: object) -> list[int]:
    """Wrong passwords for one account, alternating between two app instances (two
    workers); the statuses seen."""
    username = f"u{uuid.uuid4().hex[:10]}"  # its own keys, whatever else uses the store
    settings = make_settings(database_url, login_failures_per_client=1000, **extra).model_copy(
        update={"admin_username": username, "admin_password": PASSWORD})
    statuses: list[int] = []
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        for i in range(12):
            client = (one, two)[i % 2]
            r = client.post("/api/v1/auth/token", data={"username": username, "password": "x"})
            statuses.append(r.status_code)
            if r.status_code == 429:
                break
    return statuses


def test_database_counts_are_shared_by_two_app_instances(database_url: str) -> None:
    statuses = _two_apps_share_counts(database_url, throttle_backend="database")
    # Five free failures per account in all, not five per instance.
    assert statuses[-1] == 429 and len(statuses) <= 7, statuses


def test_redis_counts_are_shared_by_two_app_instances(sqlite_url: str) -> None:
    url = redis_url()
    statuses = _two_apps_share_counts(sqlite_url, throttle_backend="redis", broker_url=url)
    assert statuses[-1] == 429 and len(statuses) <= 7, statuses


def test_auto_backend_follows_the_broker(sqlite_url: str) -> None:
    from app.db import create_db_engine

    engine = create_db_engine(sqlite_url, pool_size=1)
    try:
        chosen: Callable[..., object] = make_limiter
        assert isinstance(chosen(make_settings(sqlite_url), engine), DatabaseLimiter)
        redis_settings = make_settings(sqlite_url, broker_url="redis://127.0.0.1:6379/0")
        limiter = make_limiter(redis_settings, engine)
        assert isinstance(limiter, RedisLimiter)
        limiter.close()
        memory = make_settings(sqlite_url, throttle_backend="memory")
        assert isinstance(make_limiter(memory, engine), MemoryLimiter)
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["database", "redis"])
def test_store_counts_waits_and_forgets(kind: str, database_url: str) -> None:
    from app.db import create_db_engine

    engine = create_db_engine(database_url, pool_size=1)
    limiter = DatabaseLimiter(engine) if kind == "database" else RedisLimiter(redis_url())
    rule = Rule("t", free=2, first_delay=10, max_delay=40, forget=100)
    key = rule.key(uuid.uuid4().hex)
    try:
        assert [limiter.fail(key, rule, 1000.0) for _ in range(5)] == [0, 0, 10, 20, 40]
        assert limiter.wait([key, "t:other"], 1000.0) == pytest.approx(40)
        assert limiter.wait([key], 1030.0) == pytest.approx(10)
        assert limiter.wait([key], 1041.0) == 0
        if kind == "database":  # Redis forgets by its own clock (key expiry)
            assert limiter.fail(key, rule, 1000.0 + 40 + 101) == 0  # counted afresh
        limiter.clear(key)
        assert limiter.wait([key], 1000.0) == 0
    finally:
        if isinstance(limiter, RedisLimiter):
            limiter.clear(key)
            limiter.close()
        engine.dispose()
