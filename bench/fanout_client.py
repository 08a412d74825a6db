"""Fan-out load client: N websocket clients, one trigger, latency and gaps.

What it expects from the server under test
------------------------------------------
* Every message is a JSON object (text or bytes) with an integer version
  (``--version-field``, default ``version``) and a send timestamp in
  nanoseconds since the epoch, ``time.time_ns()`` on the server
  (``--ts-field``, default ``sent_ns``).
* The first message on each connection is a snapshot carrying the current
  version (its timestamp is ignored). A client counts as connected only after
  it; triggers start once every client has one.
* Each trigger causes exactly one change message, with version = previous + 1.
  Anything else in between is counted as out-of-order (gap or repeat); a
  change that never arrives within ``--timeout`` is missing.

Latency = receipt time (``time.time_ns()`` in the client process) minus the
embedded ``sent_ns``; client and server share the host clock (127.0.0.1).
Clients are spread over several processes (``--procs``) so the client side is
not the bottleneck; on a 2-core host server and clients still share CPUs.

Triggers: ``--reference URL`` (``GET URL/broadcast`` of bench/fanout_reference.py)
or ``--trigger-url`` with ``--trigger-method``, ``--trigger-header 'K: V'`` and
``--trigger-body JSON`` where ``{n}`` is replaced by the change number. From
Python, pass any ``trigger(n)`` callable to :func:`run_fanout`.

Example: ``python -m bench.fanout_client ws://127.0.0.1:8765/ --reference
http://127.0.0.1:8765 --clients 1000 --changes 20``; ``--smoke`` = 200
clients, 5 changes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.fanout_node import start_node_workers

Trigger = Callable[[int], None]


@dataclass
class FanoutConfig:
    """What to connect to and how to read messages."""

    url: str
    clients: int = 1000
    changes: int = 20
    interval: float = 0.25  # seconds between triggers
    procs: int = 0  # 0: one per CPU, at most 4
    timeout: float = 15.0  # wait for stragglers after the last trigger
    connect_concurrency: int = 100  # per process; avoids SYN backlog drops
    headers: dict[str, str] = field(default_factory=dict)
    origin: str | None = None
    version_field: str = "version"
    ts_field: str = "sent_ns"  # "": latency from the trigger's start (HTTP command sent)
    client: str = "python"  # or "node": bench/node/fanout_client.mjs (bench/fanout_node.py)
    settle: float = 0.0  # seconds between the last client's snapshot and the first trigger


@dataclass
class FanoutResult:
    """Figures for one run; latencies in milliseconds."""

    clients: int
    connected: int
    changes: int
    expected: int
    received: int
    missing: int
    out_of_order: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    last_client_p50_ms: float  # per change: time until the LAST client had it
    last_client_max_ms: float
    connect_s: float
    errors: list[str]

    def ok(self) -> bool:
        return self.connected == self.clients and self.missing == 0 and self.out_of_order == 0

    def summary(self) -> str:
        return (
            f"clients={self.connected}/{self.clients} changes={self.changes} "
            f"received={self.received}/{self.expected} missing={self.missing} "
            f"out_of_order={self.out_of_order} | latency p50={self.p50_ms:.1f} "
            f"p95={self.p95_ms:.1f} p99={self.p99_ms:.1f} max={self.max_ms:.1f} ms | "
            f"last-client p50={self.last_client_p50_ms:.1f} max={self.last_client_max_ms:.1f} ms"
            f" | connect {self.connect_s:.1f}s"
        )


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed + 100, soft)), hard))


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


# -- worker process ---------------------------------------------------------


class _Client:
    __slots__ = ("base", "errors", "last", "latencies", "out_of_order", "ready", "versions")

    def __init__(self) -> None:
        self.base: int | None = None
        self.last = 0
        self.versions: list[int] = []
        self.latencies: list[int] = []  # ns
        self.out_of_order = 0
        self.ready = asyncio.Event()
        self.errors: list[str] = []


async def _run_client(cfg: FanoutConfig, client: _Client, gate: asyncio.Semaphore) -> None:
    vfield, tfield = cfg.version_field, cfg.ts_field
    ws: ClientConnection | None = None
    try:
        async with gate:
            ws = await connect(
                cfg.url,
                additional_headers=cfg.headers or None,
                origin=cfg.origin,  # type: ignore[arg-type]
                compression=None,
                ping_interval=None,
                open_timeout=30,
                max_queue=None,  # never let the client push back on the server
                proxy=None,
            )
        async for raw in ws:
            now = time.time_ns()
            data = json.loads(raw)
            version = int(data[vfield])
            if client.base is None:
                client.base = client.last = version
                client.ready.set()
                continue
            if version != client.last + 1:
                client.out_of_order += 1
            client.last = version
            client.versions.append(version)
            # Without a server timestamp, keep the arrival time; the parent subtracts
            # the moment it sent the command that caused this change.
            client.latencies.append(now - int(data[tfield]) if tfield else now)
    except asyncio.CancelledError:
        pass
    except Exception as exc:
        client.errors.append(repr(exc))
    finally:
        client.ready.set()
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 1)


async def _worker_main(cfg: FanoutConfig, count: int, pipe: Connection) -> None:
    gate = asyncio.Semaphore(cfg.connect_concurrency)
    clients = [_Client() for _ in range(count)]
    tasks = [asyncio.create_task(_run_client(cfg, c, gate)) for c in clients]
    await asyncio.gather(*(c.ready.wait() for c in clients))
    connected = sum(1 for c in clients if c.base is not None)
    pipe.send(("ready", connected))
    loop = asyncio.get_running_loop()
    # The parent says when to stop: after its last trigger plus patience.
    stop_after: float = await loop.run_in_executor(None, pipe.recv)
    deadline = loop.time() + stop_after
    while loop.time() < deadline:
        if all(len(c.versions) >= cfg.changes for c in clients if c.base is not None):
            break
        await asyncio.sleep(0.05)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    report = {
        "connected": connected,
        "received": sum(len(c.versions) for c in clients),
        "out_of_order": sum(c.out_of_order for c in clients),
        # latency of change k (1-based, relative to snapshot) per client, ns
        "by_change": [
            [(v - c.base, lat) for v, lat in zip(c.versions, c.latencies, strict=True)]
            for c in clients
            if c.base is not None
        ],
        "errors": sorted({e for c in clients for e in c.errors})[:5],
    }
    pipe.send(("done", report))


def _worker(cfg: FanoutConfig, count: int, pipe: Connection) -> None:
    raise_fd_limit(count + 50)
    asyncio.run(_worker_main(cfg, count, pipe))


# -- parent -----------------------------------------------------------------


def _start_workers(cfg: FanoutConfig) -> tuple[list[Any], list[Any]]:
    """One client process per share of the clients, each with a pipe back to us."""
    procs = cfg.procs or min(4, os.cpu_count() or 1)
    procs = max(1, min(procs, cfg.clients))
    shares = [cfg.clients // procs + (1 if i < cfg.clients % procs else 0) for i in range(procs)]
    if cfg.client == "node":
        node = start_node_workers(cfg, shares)
        return list(node), list(node)
    # fork: cheap, and the parent has no event loop or threads yet.
    ctx = mp.get_context("fork") if sys.platform == "linux" else mp.get_context("spawn")
    pipes: list[Connection] = []
    workers = []
    for share in shares:
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(cfg, share, child_end), daemon=True)
        proc.start()
        pipes.append(parent_end)
        workers.append(proc)
    return pipes, workers


@dataclass
class _Drive:
    connected: int = 0
    connect_s: float = 0.0
    trigger_ns: dict[int, int] = field(default_factory=dict)
    reports: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _drive(cfg: FanoutConfig, pipes: list[Any], trigger: Trigger,
           started: float) -> _Drive:
    """Wait for every client, fire the triggers, collect each process's report."""
    run = _Drive()
    for pipe in pipes:
        if not pipe.poll(120):
            raise TimeoutError("clients did not connect within 120 s")
        _, n = pipe.recv()
        run.connected += n
    run.connect_s = time.monotonic() - started
    time.sleep(cfg.settle)
    for n in range(1, cfg.changes + 1):
        run.trigger_ns[n] = time.time_ns()
        try:
            trigger(n)
        except Exception as exc:
            run.errors.append(f"trigger {n}: {exc!r}")
        time.sleep(cfg.interval)
    for pipe in pipes:
        pipe.send(cfg.timeout)
    for pipe in pipes:
        if not pipe.poll(cfg.timeout + 60):
            raise TimeoutError("client process did not report")
        run.reports.append(pipe.recv()[1])
    return run


def _summary(cfg: FanoutConfig, run: _Drive) -> FanoutResult:
    latencies: list[float] = []
    last_by_change: dict[int, float] = {}
    errors = list(run.errors)
    for report in run.reports:
        errors.extend(report["errors"])
        for per_client in report["by_change"]:
            for k, lat in per_client:
                if not cfg.ts_field:
                    lat -= run.trigger_ns.get(k, lat)
                ms = lat / 1e6
                latencies.append(ms)
                if ms > last_by_change.get(k, float("-inf")):
                    last_by_change[k] = ms
    latencies.sort()
    last = sorted(last_by_change.values())
    expected = run.connected * cfg.changes
    received = sum(r["received"] for r in run.reports)
    return FanoutResult(
        clients=cfg.clients, connected=run.connected, changes=cfg.changes, expected=expected,
        received=received, missing=max(0, expected - received),
        out_of_order=sum(r["out_of_order"] for r in run.reports),
        p50_ms=percentile(latencies, 0.50), p95_ms=percentile(latencies, 0.95),
        p99_ms=percentile(latencies, 0.99),
        max_ms=latencies[-1] if latencies else float("nan"),
        last_client_p50_ms=percentile(last, 0.50),
        last_client_max_ms=last[-1] if last else float("nan"),
        connect_s=run.connect_s, errors=errors[:10],
    )


def run_fanout(cfg: FanoutConfig, trigger: Trigger) -> FanoutResult:
    """Connect ``cfg.clients`` clients, call ``trigger(n)`` for n = 1..changes."""
    started = time.monotonic()
    pipes, workers = _start_workers(cfg)
    try:
        run = _drive(cfg, pipes, trigger, started)
    finally:
        for proc in workers:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
    return _summary(cfg, run)


def http_trigger(
    url: str,
    method: str = "PUT",
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> Trigger:
    """A trigger doing one HTTP request; ``{n}`` in ``body`` is the change number."""
    client = httpx.Client(headers=headers or {}, timeout=10)

    def trigger(n: int) -> None:
        content = body.replace("{n}", str(n)) if body is not None else None
        extra = {"Content-Type": "application/json"} if content is not None else {}
        client.request(method, url, content=content, headers=extra).raise_for_status()

    return trigger


def reference_trigger(base_url: str) -> Trigger:
    """Trigger for bench/fanout_reference.py: ``GET {base_url}/broadcast``."""
    return http_trigger(base_url.rstrip("/") + "/broadcast", method="GET")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="websocket fan-out load client")
    parser.add_argument("url", help="websocket URL, e.g. ws://127.0.0.1:8765/")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.25)
    parser.add_argument("--procs", type=int, default=0)
    parser.add_argument("--client", choices=("python", "node"), default="python",
                        help="node: bench/node/fanout_client.mjs (npm ci in bench/node)")
    parser.add_argument("--timeout", type=float, default=15.0)
    parser.add_argument("--smoke", action="store_true", help="200 clients, 5 changes")
    parser.add_argument("--reference", metavar="HTTP_URL", help="fanout_reference base URL")
    parser.add_argument("--trigger-url")
    parser.add_argument("--trigger-method", default="PUT")
    parser.add_argument("--trigger-header", action="append", default=[], metavar="'K: V'")
    parser.add_argument("--trigger-body", help="JSON; {n} = change number")
    parser.add_argument("--ws-header", action="append", default=[], metavar="'K: V'")
    parser.add_argument("--origin")
    parser.add_argument("--version-field", default="version")
    parser.add_argument("--ts-field", default="sent_ns")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)

    def headers(items: list[str]) -> dict[str, str]:
        return dict((k.strip(), v.strip()) for k, v in (i.split(":", 1) for i in items))

    if args.smoke:
        args.clients, args.changes = 200, 5
    cfg = FanoutConfig(
        url=args.url,
        clients=args.clients,
        changes=args.changes,
        interval=args.interval,
        procs=args.procs,
        timeout=args.timeout,
        headers=headers(args.ws_header),
        origin=args.origin,
        version_field=args.version_field,
        ts_field=args.ts_field,
        client=args.client,
    )
    if args.reference:
        trigger = reference_trigger(args.reference)
    elif args.trigger_url:
        trigger = http_trigger(
            args.trigger_url, args.trigger_method, headers(args.trigger_header), args.trigger_body
        )
    else:
        parser.error("give --reference or --trigger-url")
    result = run_fanout(cfg, trigger)
    print(json.dumps(asdict(result), indent=2) if args.json else result.summary())
    for error in result.errors:
        print("error:", error, file=sys.stderr)
    return 0 if result.ok() else 1


if __name__ == "__main__":
    raise SystemExit(main())
