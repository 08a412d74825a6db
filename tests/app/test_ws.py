"""The shared websocket plumbing: Origin, token and query handshake, error codes, the read loop."""

import json
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from app import ws
from app.errors import AppError, Forbidden, NotAuthenticated, NotFound

TOKEN = "good-token"


async def _echo_socket(websocket: WebSocket) -> None:
    """A socket built from app.ws alone: Origin, token, since, then the read loop."""
    if await ws.refuse_foreign_origin(websocket, ["https://allowed.example"]):
        return
    query = ws.query_of(websocket)
    token = ws.query_token(query, fallback=websocket.cookies.get("login"), max_chars=20)
    since = ws.query_int(query, "since")
    await websocket.accept()
    if token != TOKEN:
        await websocket.close(code=ws.close_code(NotAuthenticated()), reason="invalid_token")
        return
    if since == ws.BAD:
        await websocket.close(code=ws.CLOSE_BAD_REQUEST, reason="bad_since")
        return
    await websocket.send_text(ws.resumed_message(since if isinstance(since, int) else 0))
    await ws.receive_loop(websocket, per_minute=5, accept=lambda text: text != "refused")


@pytest.fixture
def client() -> TestClient:
    return TestClient(Starlette(routes=[WebSocketRoute("/ws", _echo_socket)]))


def _close_code(socket: Any) -> int:
    with pytest.raises(WebSocketDisconnect) as info:
        for _ in range(10):
            socket.receive_text()
    return info.value.code


def test_foreign_origin_is_refused_4403_before_accepting(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as info,
        client.websocket_connect(f"/ws?token={TOKEN}", headers={"Origin": "https://evil.example"}),
    ):
        pass
    assert info.value.code == 4403


@pytest.mark.parametrize("origin", ["http://testserver", "https://allowed.example"])
def test_own_or_allowed_origin_is_accepted(client: TestClient, origin: str) -> None:
    with client.websocket_connect(f"/ws?token={TOKEN}", headers={"Origin": origin}) as socket:
        assert json.loads(socket.receive_text()) == {"type": "resumed", "version": 0}


@pytest.mark.parametrize("query", ["", "token=forged", f"token={TOKEN}{'x' * 30}"])
def test_bad_token_is_closed_4401(client: TestClient, query: str) -> None:
    with client.websocket_connect(f"/ws?{query}") as socket:
        assert _close_code(socket) == 4401


def test_token_falls_back_to_the_cookie(client: TestClient) -> None:
    client.cookies.set("login", TOKEN)
    with client.websocket_connect("/ws?since=7") as socket:
        assert json.loads(socket.receive_text()) == {"type": "resumed", "version": 7}


@pytest.mark.parametrize("since", ["-1", "abc", "1" * 19])
def test_bad_since_is_closed_4400(client: TestClient, since: str) -> None:
    with client.websocket_connect(f"/ws?token={TOKEN}&since={since}") as socket:
        assert _close_code(socket) == 4400


@pytest.mark.parametrize(
    "frame",
    ["x" * (ws.MAX_MESSAGE_CHARS + 1), b"\x00\x01binary", "refused"],
    ids=["oversized", "binary", "refused"],
)
def test_bad_message_is_closed_4400(client: TestClient, frame: str | bytes) -> None:
    with client.websocket_connect(f"/ws?token={TOKEN}") as socket:
        socket.receive_text()
        if isinstance(frame, bytes):
            socket.send_bytes(frame)
        else:
            socket.send_text(frame)
        assert _close_code(socket) == 4400


def test_largest_allowed_message_keeps_the_socket_open(client: TestClient) -> None:
    with client.websocket_connect(f"/ws?token={TOKEN}") as socket:
        socket.receive_text()
        socket.send_text("x" * ws.MAX_MESSAGE_CHARS)
        for _ in range(5):
            socket.send_text("ping")  # the sixth message in a minute is one too many
        assert _close_code(socket) == 4429


def test_flood_is_closed_4429(client: TestClient) -> None:
    with client.websocket_connect(f"/ws?token={TOKEN}") as socket:
        socket.receive_text()
        for _ in range(10):
            socket.send_text("ping")
        assert _close_code(socket) == 4429


@pytest.mark.parametrize(
    ("error", "code"),
    [(NotAuthenticated(), 4401), (Forbidden(), 4403), (NotFound(), 4404), (AppError(), 4400)],
)
def test_app_error_renders_as_its_close_code(error: AppError, code: int) -> None:
    assert ws.close_code(error) == code


def test_close_codes_keep_their_numbers() -> None:
    codes = (ws.CLOSE_BAD_REQUEST, ws.CLOSE_UNAUTHORIZED, ws.CLOSE_FORBIDDEN,
             ws.CLOSE_NOT_FOUND, ws.CLOSE_TOO_SLOW, ws.CLOSE_RATE)
    assert codes == (4400, 4401, 4403, 4404, 4408, 4429)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", None), ("0", 0), ("123456789012", 123456789012), ("1234567890123", ws.BAD),
     ("1.5", ws.BAD), ("+1", ws.BAD)],
)
def test_query_int_parses_non_negative_integers(raw: str, expected: ws.QueryInt) -> None:
    assert ws.query_int(QueryParams({"n": raw}), "n", max_digits=12) == expected
    assert ws.query_int(QueryParams({}), "n") is None
