"""What the roof provides at start-up, the stage handlers read back typed."""

from typing import Any

from sqlalchemy import create_engine
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from app.realtime import MemoryHub
from sessions import deps
from sessions.deps import Closable
from sessions.stream import StageCache


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def connected(self, screen_id: int, socket: Closable) -> None:
        self.calls.append(("connected", screen_id))

    def seen(self, screen_id: int) -> None:
        self.calls.append(("seen", screen_id))

    def disconnected(self, screen_id: int, socket: Closable) -> None:
        self.calls.append(("disconnected", screen_id))


def test_provided_objects_are_read_back() -> None:
    app = Starlette()
    cache = StageCache(hub=MemoryHub(), engine=create_engine("sqlite://"))
    recorder = _Recorder()
    deps.provide(app.state, stage_cache=cache, presence=recorder)
    scope: dict[str, Any] = {"type": "websocket", "app": app}
    connection = HTTPConnection(scope)
    assert deps.stage_cache(connection) is cache
    assert deps.screen_presence(connection) is recorder
