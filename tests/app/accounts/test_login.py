"""Login throttling through both doors (/login and the token endpoint), on both databases."""

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from app import security
from app.accounts import service as accounts_service
from app.accounts.models import User
from app.config import Settings
from app.main import create_app
from tests.conftest import ADMIN_PASSWORD, make_settings
from tests.endpoints.support import csrf

# argon2's real cost is part of what these tests watch (one check at a time, none inside a
# write transaction).
pytestmark = pytest.mark.real_argon2


def _token(client: TestClient, password: str, username: str = "admin") -> int:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    if r.status_code == 429:
        assert r.json()["code"] == "too_many_attempts"
        assert int(r.headers["retry-after"]) >= 1
    return int(r.status_code)


def _form(client: TestClient, password: str, username: str = "admin") -> int:
    r = client.post("/login", data={"username": username, "password": password,
                                    "csrf_token": csrf(client)}, follow_redirects=False)
    if r.status_code == 429:
        assert int(r.headers["retry-after"]) >= 1
        assert "Thử sai quá nhiều lần" in r.text
    return int(r.status_code)


@pytest.mark.parametrize("door", [_token, _form], ids=["token", "form"])
def test_forty_wrong_passwords_meet_a_429(client: TestClient, admin: User, door: object) -> None:
    assert callable(door)
    statuses = [door(client, f"wrong-{i}") for i in range(40)]
    assert 429 in statuses
    first = statuses.index(429)
    assert first <= 6  # five free failures per account, then the wait starts
    assert set(statuses[:first]) == {401}
    # While the wait runs, even the right password is refused without being checked.
    assert door(client, ADMIN_PASSWORD) == 429


def test_one_client_guessing_many_accounts_is_stopped(
    client: TestClient, admin: User
) -> None:
    statuses = [_token(client, "guess", username=f"user{i}") for i in range(40)]
    assert 429 in statuses
    assert statuses.index(429) <= 11  # ten free failures per client address


def test_good_password_clears_the_account_count(client: TestClient, admin: User) -> None:
    for _ in range(4):
        assert _token(client, "wrong") == 401
    assert _token(client, ADMIN_PASSWORD) == 200
    for _ in range(5):
        assert _token(client, "wrong") == 401  # a fresh count of five


def test_password_is_checked_outside_any_write_transaction(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While argon2 runs, another writer can take SQLite's write lock at once."""
    settings: Settings = make_settings(sqlite_url)
    path = sqlite_url.removeprefix("sqlite:///")
    seen: list[bool] = []
    real = security.verify_password

    def verify(password: str, password_hash: str | None) -> bool:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            seen.append(True)
        except sqlite3.OperationalError:
            seen.append(False)  # the login holds the write lock
        finally:
            other.close()
        return real(password, password_hash)

    monkeypatch.setattr(accounts_service, "verify_password", verify)
    with TestClient(create_app(settings)) as client:
        assert _token(client, "wrong") == 401
        assert _token(client, ADMIN_PASSWORD) == 200
        assert _form(client, "wrong") == 401
    assert seen == [True, True, True]


def test_a_burst_of_guesses_gets_its_free_failures_and_no_more(
    client: TestClient, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty wrong passwords at the same moment: only the free ones (and the one that
    starts the wait) reach argon2, one at a time."""
    checked: list[int] = []
    running = [0]
    real = security.verify_password

    def verify(password: str, password_hash: str | None) -> bool:
        running[0] += 1
        checked.append(running[0])
        try:
            return real(password, password_hash)
        finally:
            running[0] -= 1

    monkeypatch.setattr(accounts_service, "verify_password", verify)
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda i: _token(client, f"wrong-{i}"), range(20)))
    assert statuses.count(401) == len(checked) <= 6, statuses
    assert max(checked) == 1  # never two at once
    assert statuses.count(429) >= 14
