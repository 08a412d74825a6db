"""The check-in objects the roof makes at start-up, read back typed."""

from typing import Any

from fastapi.testclient import TestClient
from starlette.requests import HTTPConnection

from checkin.dashboards import Dashboards
from checkin.deps import dashboards_of


def test_dashboards_are_those_of_the_running_app(client: TestClient) -> None:
    scope: dict[str, Any] = {"type": "websocket", "app": client.app}
    dashboards = dashboards_of(HTTPConnection(scope))
    assert isinstance(dashboards, Dashboards)
    assert dashboards is client.app.state.dashboards  # type: ignore[attr-defined]
