"""Published defaults are refused as soon as the server listens beyond loopback."""

import os
from pathlib import Path

import pytest

from app.config import DEV_SECRET, Settings
from app.exposure import exposure_problems, is_loopback

STRONG = "s" * 48


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No DIEMCAU_* value of the developer's leaks into these tests."""
    for key in list(os.environ):
        if key.startswith("DIEMCAU_"):
            monkeypatch.delenv(key)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.1.1", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.5", "diemcau.vn", ""])
def test_every_other_host_is_exposed(host: str) -> None:
    assert not is_loopback(host)


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("env", ["development", "test"])
def test_default_secret_is_refused_off_loopback_whatever_the_env(
    tmp_path: Path, env: str
) -> None:
    settings = _settings(tmp_path, env=env, secret_key=DEV_SECRET)
    problems = exposure_problems(settings, host="0.0.0.0", default_admin_works=False)
    assert len(problems) == 1 and "DIEMCAU_SECRET_KEY" in problems[0]
    assert exposure_problems(settings, host="127.0.0.1", default_admin_works=True) == []


def test_default_admin_password_is_refused_off_loopback(tmp_path: Path) -> None:
    settings = _settings(tmp_path, secret_key=STRONG)
    problems = exposure_problems(settings, host="0.0.0.0", default_admin_works=True)
    assert len(problems) == 1 and "DIEMCAU_ADMIN_PASSWORD" in problems[0]
    assert exposure_problems(settings, host="0.0.0.0", default_admin_works=False) == []


def test_generated_secret_is_accepted_off_loopback(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert not settings.uses_default_secret
    assert exposure_problems(settings, host="0.0.0.0", default_admin_works=False) == []
