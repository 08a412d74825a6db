"""DiemcauApp hands the screen socket to its handler ahead of the middleware stack."""

from typing import ClassVar

import pytest
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from app.admission import Admission
from app.direct_app import DiemcauApp
from app.throttle import ConnectionCap


def _open() -> Admission:
    """Admission with every limit off: these tests are about the route, not a storm."""
    return Admission(per_second=0, burst=1, max_pending=0, max_open=0)


class Seen:
    """A middleware noting the paths of the websockets that pass through it."""

    paths: ClassVar[list[str]] = []

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            Seen.paths.append(scope["path"])
        await self.app(scope, receive, send)


async def _greet(ws: WebSocket) -> None:
    await ws.accept()
    # scope["app"] is set as Starlette sets it: handlers read app.state through it.
    await ws.send_text(f"{ws.scope['path']} {ws.app.state.name}")
    await ws.close()


async def _hello(scope: Scope, receive: Receive, send: Send) -> None:
    await _greet(WebSocket(scope, receive, send))


def _app(cap: int = 0) -> DiemcauApp:
    app = DiemcauApp()
    app.state.name = "diemcau"
    app.add_middleware(Seen)
    app.websocket("/ws/other")(_greet)
    app.serve_directly({"/ws/screen": _hello}, cap=ConnectionCap(cap), admission=_open())
    return app


def test_the_direct_socket_skips_the_middleware_and_others_do_not() -> None:
    Seen.paths = []
    with TestClient(_app()) as client:
        for path in ("/ws/screen", "/ws/other"):
            with client.websocket_connect(path) as ws:
                assert ws.receive_text() == f"{path} diemcau"
    assert Seen.paths == ["/ws/other"]


async def _hold(scope: Scope, receive: Receive, send: Send) -> None:
    ws = WebSocket(scope, receive, send)
    await ws.accept()
    await ws.send_text("open")
    await ws.receive_text()  # open until the client says goodbye
    await ws.close()


def test_the_direct_socket_keeps_the_per_address_cap() -> None:
    app = DiemcauApp()
    app.serve_directly({"/ws/screen": _hold}, cap=ConnectionCap(1), admission=_open())
    with TestClient(app) as client:
        with client.websocket_connect("/ws/screen") as first:
            assert first.receive_text() == "open"
            with pytest.raises(WebSocketDisconnect) as refused, \
                    client.websocket_connect("/ws/screen") as second:
                second.receive_text()
            assert refused.value.code == 1008
            first.send_text("bye")
        with client.websocket_connect("/ws/screen") as again:  # the first one left
            assert again.receive_text() == "open"
            again.send_text("bye")
