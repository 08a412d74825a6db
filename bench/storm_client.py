"""Storm load client: N screens connecting at R a second, as the site screens' page does.

Clients are spread over ``procs`` processes and over several 127.x source addresses
(one source address runs out of ephemeral ports near 28,000 connections to one server
port). Client i starts its first try at ``t0 + i / rate``. Like app/static/screen.js it
honours 1013 Try Again Later: it waits the ``retry_after=N`` seconds plus up to a second
of jitter, then tries again. Any other outcome before the first message (refused,
reset, handshake timeout, another close code) is a bare failure.

Once every process reports its clients connected (or failed), the caller triggers the
changes; each client records every versioned message it gets with its arrival time
(``time.time_ns()``), for the caller to check order and latency.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import random
import re
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.admission import CLOSE_TRY_AGAIN_LATER, raise_open_file_limit

RETRY = re.compile(r"retry_after=(\d+)")


@dataclass(frozen=True)
class StormConfig:
    url: str
    clients: int
    rate: float
    procs: int
    sources: tuple[str, ...]
    open_timeout: float = 10.0


@dataclass
class Screen:
    """One client's story: its tries, its first version, what it received when."""

    sheds: int = 0
    failed: str = ""
    lag_ms: float = 0.0  # first try started this late (a busy client process)
    connect_ms: float = 0.0  # first try to snapshot held, waits after sheds included
    received: list[tuple[int, int]] = field(default_factory=list)  # (version, time_ns)
    ws: ClientConnection | None = None


async def _first_message(cfg: StormConfig, source: str, screen: Screen) -> float | None:
    """One try: None when connected (snapshot held), the seconds to wait when shed;
    a bare failure sets ``screen.failed``."""
    try:
        ws = await connect(cfg.url, compression=None, proxy=None, open_timeout=cfg.open_timeout,
                           local_addr=(source, 0), max_queue=None)
    except Exception as exc:
        screen.failed = f"connect: {type(exc).__name__}"
        return None
    try:
        first = json.loads(await asyncio.wait_for(ws.recv(), cfg.open_timeout))
    except ConnectionClosed as closed:
        rcvd = closed.rcvd
        match = RETRY.fullmatch(rcvd.reason) if rcvd else None
        if rcvd is not None and rcvd.code == CLOSE_TRY_AGAIN_LATER and match:
            screen.sheds += 1
            return int(match[1]) + random.random()
        screen.failed = f"closed {rcvd.code if rcvd else 'without code'}"
        return None
    except Exception as exc:
        screen.failed = f"first message: {type(exc).__name__}"
        await ws.close()
        return None
    del first  # a snapshot, a waiting screen or `resumed`: connected either way
    screen.ws = ws
    return None


async def _screen(cfg: StormConfig, index: int, t0: float, screen: Screen) -> None:
    scheduled = t0 + index / cfg.rate
    await asyncio.sleep(max(0.0, scheduled - time.time()))
    started = time.time()
    screen.lag_ms = (started - scheduled) * 1000
    source = cfg.sources[index % len(cfg.sources)]
    while True:
        wait = await _first_message(cfg, source, screen)
        if wait is None:
            screen.connect_ms = (time.time() - started) * 1000
            return
        await asyncio.sleep(wait)


async def _read(screen: Screen) -> None:
    """Record every versioned change (snapshots after a resync included) until closed."""
    assert screen.ws is not None
    try:
        async for raw in screen.ws:
            msg = json.loads(raw)
            if msg.get("type") in ("state", "snapshot") and "version" in msg:
                screen.received.append((int(msg["version"]), time.time_ns()))
    except ConnectionClosed:
        return


async def _worker_main(cfg: StormConfig, proc: int, t0: float, pipe: Connection) -> None:
    indexes = range(proc, cfg.clients, cfg.procs)
    screens = [Screen() for _ in indexes]
    await asyncio.gather(*(_screen(cfg, i, t0, s) for i, s in zip(indexes, screens, strict=True)))
    readers = [asyncio.ensure_future(_read(s)) for s in screens if s.ws is not None]
    loop = asyncio.get_running_loop()
    pipe.send(("ready", None))
    await loop.run_in_executor(None, pipe.recv)  # "collect": the changes are done
    for s in screens:
        if s.ws is not None:
            s.ws.transport.abort()
    await asyncio.gather(*readers, return_exceptions=True)
    pipe.send(("result", [(s.sheds, s.failed, s.lag_ms, s.connect_ms, s.received)
                          for s in screens]))


def _worker(cfg: StormConfig, proc: int, t0: float, pipe: Connection) -> None:
    raise_open_file_limit()
    try:
        import uvloop
    except ImportError:  # the plain loop works too, a little slower
        asyncio.run(_worker_main(cfg, proc, t0, pipe))
    else:
        uvloop.run(_worker_main(cfg, proc, t0, pipe))


@dataclass
class Storm:
    """The running client processes; :meth:`collect` after the changes."""

    pipes: list[Connection]
    procs: list[Any]
    connect_seconds: float

    def collect(self, linger: float) -> list[tuple[int, str, float, float, list[tuple[int, int]]]]:
        """Wait ``linger`` s for the last messages, then every client's story."""
        time.sleep(linger)
        for pipe in self.pipes:
            pipe.send("collect")
        screens = []
        for pipe in self.pipes:
            kind, data = pipe.recv()
            assert kind == "result"
            screens.extend(data)
        for proc in self.procs:
            proc.join(timeout=30)
        return screens


def start_storm(cfg: StormConfig) -> Storm:
    """Start the client processes; returns once every client is connected or failed."""
    ctx = mp.get_context("fork")
    t0 = time.time() + 0.5 + 0.1 * cfg.procs  # every process is up before the first try
    pipes, procs = [], []
    for proc in range(cfg.procs):
        mine, theirs = ctx.Pipe()
        p = ctx.Process(target=_worker, args=(cfg, proc, t0, theirs), daemon=True)
        p.start()
        pipes.append(mine)
        procs.append(p)
    for pipe in pipes:
        kind, _ = pipe.recv()
        assert kind == "ready"
    return Storm(pipes=pipes, procs=procs, connect_seconds=time.time() - t0)
