"""Settings: defaults for development, refusals outside it, values read from DIEMCAU_*."""

import os
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from app.config import DEV_ADMIN_PASSWORD, DEV_SECRET, Settings

STRONG_SECRET = "s" * 48


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No DIEMCAU_* value of the developer's leaks into these tests."""
    for key in list(os.environ):
        if key.startswith("DIEMCAU_"):
            monkeypatch.delenv(key)
    yield


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_settings_default_to_embedded_development() -> None:
    s = _settings()
    assert s.env == "development"
    assert s.database_url == "sqlite:///./diemcau.db" and s.is_sqlite
    assert s.broker_url == "memory://"
    assert (s.secret_key, s.admin_username, s.admin_password) == (DEV_SECRET, "admin", "admin")


def test_production_refuses_default_secret_key() -> None:
    with pytest.raises(ValidationError, match="DIEMCAU_SECRET_KEY"):
        _settings(env="production", admin_password="mat-khau-rieng-123")


def test_production_refuses_short_secret_key() -> None:
    with pytest.raises(ValidationError, match="32\\+ characters"):
        _settings(env="production", secret_key="x" * 31, admin_password="mat-khau-rieng-123")


def test_production_refuses_default_admin_password() -> None:
    with pytest.raises(ValidationError, match="DIEMCAU_ADMIN_PASSWORD"):
        _settings(env="production", secret_key=STRONG_SECRET, admin_password=DEV_ADMIN_PASSWORD)


def test_production_accepts_own_secrets_from_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DIEMCAU_ENV", "production")
    monkeypatch.setenv("DIEMCAU_SECRET_KEY", STRONG_SECRET)
    monkeypatch.setenv("DIEMCAU_ADMIN_PASSWORD", "mat-khau-rieng-123")
    monkeypatch.setenv("DIEMCAU_DATABASE_URL", "postgresql+psycopg://diemcau@db/diemcau")
    monkeypatch.setenv("DIEMCAU_BROKER_URL", "redis://redis:6379/0")
    s = _settings()
    assert (s.env, s.secret_key) == ("production", STRONG_SECRET)
    assert not s.is_sqlite
    assert s.broker_url == "redis://redis:6379/0"


@pytest.mark.parametrize(
    "url", ["mysql://root@localhost/diemcau", "diemcau.db", "", "postgres-ish"]
)
def test_unknown_database_url_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="DIEMCAU_DATABASE_URL"):
        _settings(database_url=url)


def test_unknown_broker_url_is_refused() -> None:
    with pytest.raises(ValidationError, match="DIEMCAU_BROKER_URL"):
        _settings(broker_url="amqp://guest@localhost")


def test_allowed_origins_comma_list_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "DIEMCAU_ALLOWED_ORIGINS", " https://hoinghi.gov.vn/ ,http://10.0.0.5:8000,, "
    )
    assert _settings().allowed_origins == ["https://hoinghi.gov.vn", "http://10.0.0.5:8000"]


def test_allowed_origins_default_is_empty() -> None:
    assert _settings().allowed_origins == []


def test_out_of_range_number_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIEMCAU_ACCESS_TOKEN_MINUTES", "1")
    with pytest.raises(ValidationError, match="access_token_minutes"):
        _settings()


def test_unknown_env_is_refused() -> None:
    with pytest.raises(ValidationError, match="env"):
        _settings(env="staging")
