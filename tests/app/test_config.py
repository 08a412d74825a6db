"""Settings: defaults for development, refusals outside it, values read from DIEMCAU_*."""

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.config import DEV_ADMIN_PASSWORD, DEV_SECRET, Settings

STRONG_SECRET = "s" * 48


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No DIEMCAU_* value of the developer's leaks into these tests; a generated secret
    lands in a temporary working folder."""
    for key in list(os.environ):
        if key.startswith("DIEMCAU_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    yield


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_settings_default_to_embedded_development(tmp_path: Path) -> None:
    s = _settings(data_dir=tmp_path)
    assert s.env == "development"
    assert s.database_url == "sqlite:///./diemcau.db" and s.is_sqlite
    assert s.broker_url == "memory://"
    assert (s.admin_username, s.admin_password) == ("admin", "admin")


def test_unset_secret_is_generated_in_the_data_folder_0600_and_reused(tmp_path: Path) -> None:
    first = _settings(data_dir=tmp_path)
    assert first.secret_key != DEV_SECRET and not first.uses_default_secret
    path = tmp_path / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first.secret_key
    assert _settings(data_dir=tmp_path).secret_key == first.secret_key  # the next start


def test_set_secret_writes_no_file(tmp_path: Path) -> None:
    assert _settings(data_dir=tmp_path, secret_key=STRONG_SECRET).secret_key == STRONG_SECRET
    assert not (tmp_path / "secret_key").exists()


def test_production_does_not_generate_a_secret(tmp_path: Path) -> None:
    # Several hosts must share one secret: production needs it set explicitly.
    with pytest.raises(ValidationError, match="DIEMCAU_SECRET_KEY"):
        _settings(env="production", data_dir=tmp_path, admin_password="mat-khau-rieng-123")
    assert not (tmp_path / "secret_key").exists()


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
