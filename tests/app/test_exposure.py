"""Published defaults are refused as soon as the server listens beyond loopback."""

import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

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


# -- the backstop for servers started without `diemcau serve` --------------------------


def _app_with(database_url: str, **values: object) -> Any:
    from app.main import create_app
    from tests.conftest import make_settings

    settings = make_settings(database_url).model_copy(update=values)
    return create_app(settings)


@pytest.mark.parametrize("values", [{"secret_key": DEV_SECRET}, {"admin_password": "admin"}])
def test_published_defaults_answer_503_off_loopback(
    database_url: str, values: dict[str, object]
) -> None:
    app = _app_with(database_url, **values)
    with TestClient(app, base_url="http://192.168.1.20:8000") as exposed:
        r = exposed.get("/healthz")
        assert (r.status_code, r.json()["code"]) == (503, "published_defaults_exposed")
        assert exposed.post("/api/v1/auth/token",
                            data={"username": "admin", "password": "admin"}).status_code == 503
        with pytest.raises(WebSocketDisconnect) as info, exposed.websocket_connect(
            "/ws/screen?token=scr_x"
        ) as ws:
            ws.receive_text()
        assert info.value.code == 1013
    with TestClient(app, base_url="http://127.0.0.1:8000") as local:
        assert local.get("/healthz").status_code == 200


def test_own_secret_and_password_serve_any_address(database_url: str) -> None:
    with TestClient(_app_with(database_url), base_url="http://192.168.1.20:8000") as exposed:
        assert exposed.get("/healthz").status_code == 200
