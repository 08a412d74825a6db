"""Screen fan-out: frames written once per change, and a stuck screen never holds up the rest."""

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.datastructures import Headers
from websockets.http11 import Request
from websockets.protocol import OPEN
from websockets.server import ServerProtocol

from app.db import local_today
from app.main import create_app
from app.realtime import MemoryHub
from app.wsfast import DirectSocket, SlowClient, text_frame
from sessions import events
from sessions.stream import Forwarder
from tests.conftest import ADMIN_PASSWORD, make_settings

# -- the direct path, on fake uvicorn protocols -------------------------------------


class FakeTransport:
    """What DirectSocket needs of an asyncio transport, with a settable backlog."""

    def __init__(self, unread: int = 0) -> None:
        self.unread = unread
        self.written: list[bytes] = []
        self.aborted = False

    def get_write_buffer_size(self) -> int:
        return self.unread

    def is_closing(self) -> bool:
        return self.aborted

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def abort(self) -> None:
        self.aborted = True


class FakeProtocol:
    """The attributes of uvicorn's websockets-sansio protocol that DirectSocket reads."""

    def __init__(self, transport: FakeTransport) -> None:
        self.transport = transport
        self.conn = ServerProtocol()
        self.conn.state = OPEN
        self.writable = asyncio.Event()
        self.writable.set()
        self.handshake_complete = True
        self.close_sent = False
        self.disconnected = False
        self.request: Request | None = Request(
            "/ws/screen", Headers([("Host", "127.0.0.1"), ("Upgrade", "websocket")]))
        self.response: object | None = object()


def _direct(unread: int = 0, max_buffer: int = 1000) -> tuple[DirectSocket, FakeTransport]:
    transport = FakeTransport(unread)
    return DirectSocket(FakeProtocol(transport), max_buffer=max_buffer), transport


def test_text_frame_matches_what_websockets_sends() -> None:
    protocol = ServerProtocol()
    protocol.state = OPEN
    for message in ("x", "ả" * 200, "y" * 70_000):
        protocol.send_text(message.encode())
        assert b"".join(protocol.data_to_send()) == text_frame(message)


def test_direct_send_writes_one_frame_object_to_every_socket() -> None:
    sockets = [_direct() for _ in range(3)]
    message = json.dumps({"type": "state", "version": 2})
    for direct, _ in sockets:
        assert direct.send(message) is True
    frames = [transport.written[0] for _, transport in sockets]
    assert frames[0] == text_frame(message)
    assert frames[1] is frames[0] and frames[2] is frames[0]  # framed once


def test_direct_send_skips_a_socket_that_is_closing() -> None:
    direct, transport = _direct()
    direct._protocol.close_sent = True
    assert direct.send("late") is False
    assert transport.written == []


def test_slow_socket_over_buffer_limit_is_dropped_while_others_get_the_frame() -> None:
    async def scenario() -> tuple[list[FakeTransport], FakeTransport, list[str]]:
        hub = MemoryHub()
        await hub.start()
        dropped: list[str] = []

        async def on_drop(reason: str) -> None:
            dropped.append(reason)
            await slow.close(lambda: asyncio.sleep(10))  # a close that would never finish

        async def never(_: str) -> None:
            raise AssertionError("the ASGI send is not used on the direct path")

        fast = [_direct() for _ in range(3)]
        slow, slow_transport = _direct(unread=5000, max_buffer=1000)
        for direct, _ in [*fast[:2], (slow, slow_transport), fast[2]]:
            forwarder = Forwarder(never, direct)
            await forwarder.open_after(0)
            await hub.attach("stage", forwarder, on_drop=on_drop if direct is slow else None)
        hub.publish("stage", '{"type":"state","version":1}')
        hub.publish("stage", '{"type":"state","version":2}')
        await asyncio.sleep(0.05)
        listeners = hub.listeners("stage")
        await hub.stop()
        assert listeners == 3
        return [t for _, t in fast], slow_transport, dropped

    fast, slow, dropped = asyncio.run(scenario())
    for transport in fast:
        assert transport.written == [
            text_frame('{"type":"state","version":1}'),
            text_frame('{"type":"state","version":2}'),
        ]
    assert slow.written == [] and slow.aborted  # never buffered more; cut off at once
    assert len(dropped) == 1 and "SlowClient" in dropped[0]


def test_direct_send_raises_when_uvicorn_paused_writing() -> None:
    direct, transport = _direct()
    direct._protocol.writable.clear()
    with pytest.raises(SlowClient):
        direct.send("x")
    assert transport.written == []


def test_find_falls_back_when_send_is_not_uvicorns() -> None:
    async def send(message: Any) -> None:
        return None

    class NotUvicorn:
        _send = send

    assert DirectSocket.find(NotUvicorn()) is None
    assert DirectSocket.find(object()) is None


def test_release_handshake_forgets_request_and_response() -> None:
    direct, _ = _direct()
    request = direct._protocol.request
    assert request is not None and request.headers
    direct.release_handshake()
    assert direct._protocol.request is None and direct._protocol.response is None
    # websockets' parser generator still holds the request: its headers are emptied.
    assert not request.headers


# -- end to end: real uvicorn, real websocket clients --------------------------------


@dataclass
class Served:
    base: str
    app: FastAPI
    headers: dict[str, str]
    session_id: int
    conference_id: int
    token: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(sqlite_url: str) -> Iterator[Served]:
    """diemcau under uvicorn (its websockets-sansio protocol, as `diemcau serve`) in a thread."""
    app = create_app(make_settings(sqlite_url))
    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, ws="app.uvicorn_ws:LeanWebSocketProtocol",
        ws_per_message_deflate=False, log_level="warning", lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    today = local_today().isoformat()
    with httpx.Client(base_url=base, timeout=10) as http:
        r = http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        http.headers.update(headers)
        cid = http.post(
            "/api/v1/conferences",
            json={"title": "Fan-out", "starts_on": today, "ends_on": today},  # live: followed
        ).json()["id"]
        site = http.post(
            f"/api/v1/conferences/{cid}/sites", json={"name": "Điểm cầu 1", "kind": "hub"}
        ).json()["id"]
        sid = http.post(
            f"/api/v1/conferences/{cid}/sessions",
            json={"title": "Phiên", "starts_at": "2025-09-09T01:00:00Z",
                  "ends_at": "2025-09-09T05:00:00Z"},
        ).json()["id"]
        r = http.put(f"/api/v1/sessions/{sid}/state", json={"notice": "Bắt đầu"})
        assert r.status_code == 200, r.text
        token = http.post(f"/api/v1/sites/{site}/screen-token").json()["token"]
    try:
        yield Served(base, app, headers, sid, cid, token)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _stuck_client(url: str) -> socket.socket:
    """A screen that completes the handshake and then never reads again."""
    host, port = url.removeprefix("ws://").split("/", 1)[0].split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills quickly
    sock.connect((host, int(port)))
    path = url.split(host + ":" + port, 1)[1]
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


async def _command_reaches_every_screen(served: Served, readers: list[ClientConnection]) -> None:
    """A real command still reaches every live screen at once."""
    async with httpx.AsyncClient(base_url=served.base, headers=served.headers) as http:
        started = time.monotonic()
        r = await http.put(
            f"/api/v1/sessions/{served.session_id}/state", json={"notice": "Tiếp tục"}
        )
        assert r.status_code == 200, r.text
        for ws in readers:
            change = json.loads(await asyncio.wait_for(ws.recv(), 2))
            assert (change["version"], change["notice"]) == (r.json()["version"], "Tiếp tục")
        assert time.monotonic() - started < 1.0


def _assert_aborted(stuck: socket.socket) -> None:
    """The stuck socket was aborted: reading it ends in a reset or EOF, not more data."""
    stuck.settimeout(5)
    with pytest.raises((ConnectionResetError, TimeoutError)):
        while stuck.recv(1 << 20):
            pass
        raise ConnectionResetError  # orderly EOF also means the server let go


def test_stuck_screen_is_cut_off_and_the_others_get_every_change_promptly(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    found: list[DirectSocket | None] = []
    original_find = DirectSocket.find

    def spy(websocket: object, **kwargs: Any) -> DirectSocket | None:
        direct = original_find(websocket, **kwargs)
        found.append(direct)
        return direct

    monkeypatch.setattr(DirectSocket, "find", staticmethod(spy))
    url = served.base.replace("http", "ws") + f"/ws/screen?token={served.token}"
    channel = events.stage_channel(served.conference_id)
    hub = served.app.state.hub

    async def scenario() -> None:
        readers: list[ClientConnection] = [
            await connect(url, compression=None, max_size=None, max_queue=None)
            for _ in range(3)
        ]
        versions = [json.loads(await ws.recv())["version"] for ws in readers]
        assert len(set(versions)) == 1
        version = versions[0]
        stuck = _stuck_client(url)
        deadline = time.monotonic() + 5
        while hub.listeners(channel) < 1 + 4:  # the stage cache + four screens
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        assert all(isinstance(d, DirectSocket) for d in found) and len(found) == 4

        # Big changes, each read by the live screens before the next, fill the stuck
        # screen's socket buffers, then the server's own: then it must be cut off.
        pad = "x" * 200_000
        for sent in range(1, 101):
            version += 1
            hub.publish(channel, json.dumps({"type": "state", "version": version, "pad": pad}))
            for ws in readers:
                got = json.loads(await asyncio.wait_for(ws.recv(), 5))["version"]
                assert got == version
            if hub.listeners(channel) == 1 + 3:
                break
        assert hub.listeners(channel) == 1 + 3, "stuck screen was not dropped"
        assert sent < 100

        await _command_reaches_every_screen(served, readers)
        _assert_aborted(stuck)
        stuck.close()
        for ws in readers:
            await ws.close()

    asyncio.run(scenario())
