"""Reference fan-out server: bare ``websockets``, no framework.

Clients connect to ``ws://HOST:PORT/`` and get a snapshot ``{"version": n,
"snapshot": true, "sent_ns": ...}`` first. Each ``GET /broadcast`` (plain HTTP
on the same port) bumps the version and sends one 200-byte JSON message
``{"version": n, "sent_ns": time.time_ns(), "pad": "..."}`` to every client,
then answers ``{"version": n, "clients": k}``.

``--mode`` picks the delivery strategy, so the hub design can be measured
against the bare library in the same harness:

* ``broadcast`` — ``websockets.broadcast()`` (the reference).
* ``hub``       — :class:`app.realtime.MemoryHub`, one ``attach(ws.send)`` per client.
* ``loop``      — ``for ws in clients: await ws.send(m)``.
* ``tasks``     — one ``asyncio`` task per client per message.

Run: ``python -m bench.fanout_reference --port 8765 --mode broadcast``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import http
import json
import resource
import signal
import time
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from app.realtime import MemoryHub

MESSAGE_SIZE = 200
CHANNEL = "bench:fanout"
MODES = ("broadcast", "hub", "loop", "tasks")


def make_message(version: int) -> str:
    """A JSON message of exactly MESSAGE_SIZE bytes, stamped now."""
    head = {"version": version, "sent_ns": time.time_ns(), "pad": ""}
    base = len(json.dumps(head, separators=(",", ":")))
    head["pad"] = "x" * max(0, MESSAGE_SIZE - base)
    return json.dumps(head, separators=(",", ":"))


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def http_response(status: http.HTTPStatus, body: dict[str, Any]) -> Response:
    data = json.dumps(body).encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return Response(status.value, status.phrase, headers, data)


class ReferenceServer:
    """Holds the clients and the current version; sends with one strategy."""

    def __init__(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode = mode
        self.version = 0
        self.clients: set[ServerConnection] = set()
        self.hub = MemoryHub()
        self._tasks: set[asyncio.Task[None]] = set()

    async def handler(self, ws: ServerConnection) -> None:
        await ws.send(json.dumps({"version": self.version, "snapshot": True, "sent_ns": 0}))
        if self.mode == "hub":
            with await self.hub.attach(CHANNEL, ws.send, on_drop=lambda reason: ws.close(1013)):
                await ws.wait_closed()
            return
        self.clients.add(ws)
        try:
            await ws.wait_closed()
        finally:
            self.clients.discard(ws)

    async def process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        if request.path.startswith("/broadcast"):
            version = await self.send_change()
            return http_response(http.HTTPStatus.OK, {"version": version, "clients": self.count()})
        if request.path.startswith("/stats"):
            return http_response(
                http.HTTPStatus.OK, {"version": self.version, "clients": self.count()}
            )
        return None  # websocket handshake

    def count(self) -> int:
        return self.hub.listeners(CHANNEL) if self.mode == "hub" else len(self.clients)

    async def send_change(self) -> int:
        self.version += 1
        message = make_message(self.version)
        if self.mode == "broadcast":
            broadcast(self.clients, message)
        elif self.mode == "hub":
            self.hub.publish(CHANNEL, message)
        elif self.mode == "loop":
            for ws in list(self.clients):
                with contextlib.suppress(Exception):
                    await ws.send(message)
        else:
            for ws in list(self.clients):
                task = asyncio.create_task(self._send_one(ws, message))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        return self.version

    @staticmethod
    async def _send_one(ws: ServerConnection, message: str) -> None:
        with contextlib.suppress(Exception):
            await ws.send(message)


async def serve_forever(
    host: str, port: int, mode: str, ready: asyncio.Event | None = None
) -> None:
    """Serve until cancelled (or SIGINT/SIGTERM when run as a script)."""
    raise_fd_limit()
    server = ReferenceServer(mode)
    await server.hub.start()
    async with serve(
        server.handler,
        host,
        port,
        process_request=server.process_request,
        compression=None,  # as diemcau will: no per-message deflate
        ping_interval=None,  # benchmark only; keeps timers out of the figures
        backlog=4096,
        max_queue=4,
    ) as ws_server:
        gc.collect()
        gc.freeze()  # FIELD-NOTES: avoids long GC pauses with many connections
        if ready is not None:
            ready.set()
        stop = asyncio.get_running_loop().create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            # RuntimeError: not the main thread (the smoke test runs the server in one).
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().add_signal_handler(sig, stop.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await stop
        ws_server.close()
    await server.hub.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--mode", choices=MODES, default="broadcast")
    args = parser.parse_args(argv)
    print(f"fanout_reference: ws://{args.host}:{args.port}/ mode={args.mode}", flush=True)
    asyncio.run(serve_forever(args.host, args.port, args.mode))


if __name__ == "__main__":
    main()
