"""Direct websocket writes: frame a message once, write the same bytes to many sockets.

A websocket send through ASGI walks a chain of coroutines per client (Starlette's
``WebSocket.send`` → its exception wrapper → uvicorn's protocol → ``websockets``'
``ServerProtocol.send_text`` → ``transport.write``) and frames the message again for
every client. ``websockets.broadcast()`` instead checks that each connection is OPEN
and hands the bytes to its transport. This module does the same under uvicorn's
``websockets-sansio`` protocol (the one ``diemcau serve`` pins), and only there:

* :meth:`DirectSocket.find` follows the ASGI ``send`` callable through known
  pass-through wrappers to uvicorn's protocol; anything else (TestClient, another
  server or websocket backend, an unknown middleware, a negotiated extension such as
  per-message compression) gives ``None`` and the caller keeps the ASGI send.
* Server frames are unmasked and we negotiate no extension, so a frame is the same
  bytes for every client: serialised once by ``websockets`` itself (:class:`FrameCache`).
* The ``ServerProtocol`` only tracks the frames it sent for the closing handshake;
  data frames written beside it are what ``broadcast()`` does too. Nothing is written
  once a close was sent or received, or while the connection is not OPEN.
* uvicorn never pushes back on a slow reader. :meth:`DirectSocket.send` refuses to
  queue more once the transport holds ``max_buffer`` bytes (or uvicorn paused
  writing): it raises :class:`SlowClient`, the caller drops that client, and
  :meth:`DirectSocket.close` closes it, aborting the TCP connection if the close frame
  cannot get out. A stuck client therefore holds at most ``max_buffer`` plus one frame.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final

from websockets.frames import Frame, Opcode
from websockets.protocol import OPEN
from websockets.server import ServerProtocol

__all__ = [
    "DEFAULT_MAX_BUFFER", "DirectSocket", "FrameCache", "SlowClient", "text_frame",
    "transport_socket",
]

#: Bytes a client may leave unread before it is dropped; uvicorn pauses writing at
#: the same mark (asyncio's default high-water mark), so both agree on "stuck".
DEFAULT_MAX_BUFFER: Final = 64 * 1024
#: How long a graceful close of a dropped client may take before the TCP connection
#: is aborted (a stuck client never reads the close frame).
CLOSE_TIMEOUT: Final = 1.0

# Wrappers between the endpoint and uvicorn that only look at HTTP messages and pass
# websocket messages through unchanged (module, qualified name).
_PASS_THROUGH: Final = frozenset(
    {
        (
            "starlette._exception_handler",
            "wrap_app_handling_exceptions.<locals>.wrapped_app.<locals>.sender",
        )
    }
)


class SlowClient(Exception):
    """The client leaves too much unread; it must be dropped."""


def text_frame(message: str | bytes) -> bytes:
    """One unmasked, unfragmented text frame carrying ``message`` (UTF-8)."""
    data = message.encode() if isinstance(message, str) else message
    return Frame(Opcode.TEXT, data).serialize(mask=False, extensions=[])


class FrameCache:
    """Remembers the frame of the last message, keyed by the message object itself.

    A hub hands the very same message object to every sender of a channel, so one
    entry frames each message once per fan-out. The entry is one tuple, replaced in
    a single assignment: safe even if two event loops share the cache.
    """

    __slots__ = ("_entry",)

    def __init__(self) -> None:
        self._entry: tuple[str | bytes, bytes] | None = None

    def frame(self, message: str | bytes) -> bytes:
        """The text frame of ``message``, serialised once."""
        entry = self._entry
        if entry is not None and entry[0] is message:
            return entry[1]
        frame = text_frame(message)
        self._entry = (message, frame)
        return frame


_shared_frames: Final = FrameCache()


def _uvicorn_protocol(send: Callable[..., Any]) -> Any | None:
    """uvicorn's websockets-sansio protocol behind an ASGI ``send``, or None."""
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import (
            WebSocketsSansIOProtocol,
        )
    except ImportError:  # uvicorn or websockets missing: nothing to shortcut
        return None
    for _ in range(4):  # a few known wrappers at most
        owner = getattr(send, "__self__", None)
        if owner is not None:
            if (
                isinstance(owner, WebSocketsSansIOProtocol)
                and getattr(send, "__func__", None) is WebSocketsSansIOProtocol.send
            ):
                return owner
            return None
        code = getattr(send, "__code__", None)
        key = (getattr(send, "__module__", None), getattr(send, "__qualname__", None))
        if code is None or key not in _PASS_THROUGH:
            return None
        cells = dict(zip(code.co_freevars, getattr(send, "__closure__", None) or (), strict=True))
        cell = cells.get("send")
        if cell is None:
            return None
        send = cell.cell_contents
    return None


def transport_socket(send: Callable[..., Any]) -> Any | None:
    """The TCP socket under uvicorn's websocket behind an ASGI ``send``, or None."""
    protocol = _uvicorn_protocol(send)
    transport = getattr(protocol, "transport", None)
    return None if transport is None else transport.get_extra_info("socket")


class DirectSocket:
    """Writes pre-framed text messages straight to one accepted uvicorn websocket."""

    __slots__ = ("_conn", "_frames", "_protocol", "_transport", "max_buffer")

    def __init__(
        self,
        protocol: Any,
        *,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        frames: FrameCache | None = None,
    ) -> None:
        self._protocol = protocol
        self._conn: ServerProtocol = protocol.conn
        self._transport: asyncio.Transport = protocol.transport
        self._frames = frames or _shared_frames
        self.max_buffer = max_buffer

    @classmethod
    def find(
        cls,
        websocket: object,
        *,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        frames: FrameCache | None = None,
    ) -> DirectSocket | None:
        """A direct writer for an accepted Starlette ``WebSocket``, or None when unsafe."""
        send = getattr(websocket, "_send", None)
        if send is None:
            return None
        protocol = _uvicorn_protocol(send)
        if protocol is None or not protocol.handshake_complete:
            return None
        conn = getattr(protocol, "conn", None)
        transport = getattr(protocol, "transport", None)
        if not isinstance(conn, ServerProtocol) or conn.extensions or transport is None:
            return None  # e.g. per-message deflate: frames would differ per client
        return cls(protocol, max_buffer=max_buffer, frames=frames)

    def release_handshake(self) -> None:
        """Let go of the parsed HTTP handshake uvicorn keeps after accepting (~3 KB).

        uvicorn reads ``request`` and ``response`` only until the handshake is
        complete; afterwards they are dead weight held by every open socket.
        """
        protocol = self._protocol
        if protocol.handshake_complete and getattr(protocol, "response", None) is not None:
            # websockets' parser generator keeps the request in a local for the life of
            # the connection, so dropping our reference alone frees nothing: empty its
            # headers (~1 KB; the scope has its own copy).
            request = getattr(protocol, "request", None)
            if request is not None:
                request.headers.clear()
            protocol.request = None
            protocol.response = None

    def stalled(self) -> bool:
        """True when the client leaves more than ``max_buffer`` bytes unread."""
        return (
            not self._protocol.writable.is_set()
            or self._transport.get_write_buffer_size() > self.max_buffer
        )

    def send(self, message: str | bytes) -> bool:
        """Write ``message`` as a text frame now; False if the socket is closing.

        Raises :class:`SlowClient` instead of buffering past ``max_buffer``.
        """
        protocol = self._protocol
        transport = self._transport
        if (
            protocol.close_sent
            or protocol.disconnected
            or self._conn.state is not OPEN
            or transport.is_closing()
        ):
            return False  # like broadcast(): skip sockets that are closing
        if self.stalled():
            raise SlowClient(f"more than {self.max_buffer} bytes unread")
        transport.write(self._frames.frame(message))
        return True

    def abort(self) -> None:
        """Drop the TCP connection now, discarding what is buffered."""
        self._transport.abort()

    async def close(self, close: Callable[[], Awaitable[object]]) -> None:
        """Close gracefully with ``close()`` (e.g. ``ws.close(code)``), else abort.

        A stalled client would never read the close frame, and uvicorn would hold
        its buffer until the peer drains it: abort at once, or after
        :data:`CLOSE_TIMEOUT` if the close does not get out.
        """
        if self.stalled():
            self.abort()
            return
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await close()
        except TimeoutError:
            self.abort()
        except Exception:  # already closed or closing: nothing left to do
            return
