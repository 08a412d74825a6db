"""Typed reads of the running app's ground objects, for requests and websockets alike."""

from typing import Any

from fastapi.testclient import TestClient
from starlette.requests import HTTPConnection

from app.config import Settings
from app.deps import connection_hub, connection_read_engine, connection_settings
from app.realtime import Hub


def test_connection_accessors_return_the_apps_objects(
    client: TestClient, settings: Settings
) -> None:
    scope: dict[str, Any] = {"type": "websocket", "app": client.app}
    connection = HTTPConnection(scope)
    state = client.app.state  # type: ignore[attr-defined]
    assert connection_settings(connection) is settings
    assert isinstance(connection_hub(connection), Hub)
    assert connection_hub(connection) is state.hub
    assert connection_read_engine(connection) is state.read_engine
