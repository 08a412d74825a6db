"""Websocket plumbing every socket shares: close codes, the error renderer, handshake, reading.

Close codes (sent after accepting, so the page can tell the user why): 4400 bad
request (malformed message or query, bad or future `since`), 4401 no, bad or
revoked token, 4403 foreign Origin (refused before accepting) or out of scope,
4404 unknown item, 4408 too slow to keep up, 4429 too many messages, 1013 the
database is unreachable (try again later: the page reconnects by itself). Commands
never come this way: they are HTTP requests; a socket only delivers.

Everything here reads the ASGI scope rather than ``WebSocket.headers``/``.url``:
those are cached on the socket object for its whole life, times every open socket.
"""

import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Final, Literal

from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.datastructures import Headers, QueryParams
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState

from app.config import Settings
from app.errors import AppError
from app.security import TokenClaims, origin_allowed, read_access_token
from app.unknown_tokens import UnknownTokens

CLOSE_BAD_REQUEST: Final = 4400
CLOSE_UNAUTHORIZED: Final = 4401
CLOSE_FORBIDDEN: Final = 4403
CLOSE_NOT_FOUND: Final = 4404
CLOSE_TOO_SLOW: Final = 4408
CLOSE_RATE: Final = 4429
CLOSE_TRY_AGAIN: Final = 1013

#: Longest text frame a client may send; clients only send heartbeats and pings.
MAX_MESSAGE_CHARS: Final = 1024

#: What :func:`query_int` returns for a value that is present but not a number.
BAD: Final = "bad"
QueryInt = int | Literal["bad"] | None

_CLOSE_CODES: Final = {401: CLOSE_UNAUTHORIZED, 403: CLOSE_FORBIDDEN, 404: CLOSE_NOT_FOUND}


def close_code(exc: AppError) -> int:
    """The close code that renders an application error on a websocket."""
    return _CLOSE_CODES.get(exc.status_code, CLOSE_BAD_REQUEST)


def origin_ok(websocket: WebSocket, allowed: list[str]) -> bool:
    """The handshake's Origin is this server or one of the allowed origins."""
    headers = Headers(scope=websocket.scope)
    return origin_allowed(
        headers.get("origin"),
        host=headers.get("host"),
        scheme=websocket.scope.get("scheme", "ws"),
        allowed=allowed,
    )


async def refuse_foreign_origin(websocket: WebSocket, allowed: list[str]) -> bool:
    """Close 4403 before accepting when the Origin is foreign; True when refused."""
    if origin_ok(websocket, allowed):
        return False
    await websocket.close(code=CLOSE_FORBIDDEN)
    return True


def query_of(websocket: WebSocket) -> QueryParams:
    """The handshake's query parameters, parsed from the scope (not cached on the socket)."""
    return QueryParams(websocket.scope.get("query_string", b""))


def query_int(query: QueryParams, name: str, *, max_digits: int = 18) -> QueryInt:
    """A non-negative integer query value: None when absent or empty, :data:`BAD` when malformed."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > max_digits:
        return BAD
    return int(raw)


def query_token(query: QueryParams, *, fallback: str | None = None, max_chars: int = 2000) -> str:
    """The `token` query value (else `fallback`, e.g. a login cookie), cut to `max_chars`."""
    return (query.get("token") or fallback or "")[:max_chars]


def resumed_message(version: int) -> str:
    """What a client resuming at the current version gets instead of a snapshot."""
    return json.dumps({"type": "resumed", "version": version})


async def receive_loop(
    websocket: WebSocket, *, per_minute: int, accept: Callable[[str], bool] | None = None
) -> None:
    """Read until the client leaves, closing 4429 on a flood and 4400 on a bad message.

    A message is bad when binary, over :data:`MAX_MESSAGE_CHARS`, or refused by
    `accept`. Reading is also what notices a vanished client (starlette #759), so
    every socket keeps reading, even one that expects nothing from the client.
    """
    window_start, count = time.monotonic(), 0
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        now = time.monotonic()
        if now - window_start > 60:
            window_start, count = now, 0
        count += 1
        if count > per_minute:
            await websocket.close(code=CLOSE_RATE, reason="too_many_messages")
            return
        text = message.get("text")
        if text is None or len(text) > MAX_MESSAGE_CHARS or (accept and not accept(text)):
            await websocket.close(code=CLOSE_BAD_REQUEST, reason="bad_message")
            return


# ------------------------------------------------------------ login sockets

#: How long a signed login token refused lately (logged out, disabled) is refused again
#: without a lookup.
UNKNOWN_LOGIN_SECONDS = 5.0


def unknown_logins(connection: HTTPConnection) -> UnknownTokens:
    """This app's memory of refused login tokens (per app, made on first use on the event
    loop, so two apps in one process, as in tests, never share it)."""
    state = connection.app.state
    memo: UnknownTokens | None = getattr(state, "unknown_logins", None)
    if memo is None:
        memo = state.unknown_logins = UnknownTokens(ttl=UNKNOWN_LOGIN_SECONDS)
    return memo


def login_claims(settings: Settings, token: str, unknown: UnknownTokens) -> TokenClaims | None:
    """The claims of a signed, unexpired login token not refused lately: anything else is
    refused without a database lookup or thread hop (made-up tokens cost almost nothing)."""
    if not token or token in unknown:
        return None
    return read_access_token(secret=settings.secret_key, token=token,
                             max_age_seconds=settings.access_token_minutes * 60)


async def close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    """Close a socket that may already be gone (a revocation, a slow reader)."""
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code=code, reason=reason)


log = logging.getLogger(__name__)


#: What an unreachable database raises (PostgreSQL restarting, a pool that cannot connect).
DATABASE_DOWN = (OperationalError, DisconnectionError, PoolTimeout)


async def database_guarded(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run a websocket handler; if the database is unreachable (PostgreSQL restarting),
    close with 1013 instead of an unhandled error: the page retries with its backoff.

    `send` is passed on as it is (no wrapper): the screens' fast writer
    (`app.wsfast.DirectSocket.find`) follows it to uvicorn's protocol."""
    try:
        await app(scope, receive, send)
    except DATABASE_DOWN as exc:
        await database_down(exc, scope, send)


async def database_down(exc: Exception, scope: Scope, send: Send) -> None:
    """Log the outage and close the socket with 1013 (HTTP 403 before the handshake);
    a socket the handler already closed, or a client already gone, is left as it is."""
    log.warning("database unavailable on %s: %s", scope.get("path"), type(exc).__name__)
    with contextlib.suppress(Exception):
        await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN,
                    "reason": "database_unavailable"})
