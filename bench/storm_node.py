"""The Node (`ws`) side of the storm load client: bench/node/storm_client.mjs processes.

The Python storm client (bench/storm_client.py) spends about as much CPU on a handshake
as the server it measures; on two shared cores its first tries started up to 1.8 s late
and it took CPU the server needed. A Node process opens and reads the same sockets for a
fraction of that. Each process here holds the screens i = proc, proc + procs, ... of the
storm (the same schedule as the Python client: screen i's first try at t0 + i / rate),
honours 1013 retry_after as app/static/retry.js does, and reports every screen's story
in the Python client's shape, so bench/storm.py checks both the same way.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from bench.fanout_node import NODE_DIR, node_available
from bench.storm_client import StormConfig

SCRIPT = NODE_DIR / "storm_client.mjs"

Story = tuple[int, str, float, float, list[tuple[int, int]]]


@dataclass
class NodeStorm:
    """The running Node client processes; :meth:`collect` after the changes."""

    procs: list[subprocess.Popen[str]]
    connect_seconds: float
    #: Per process: its screens, connected, failures by kind, CPU ms and wall ms of
    #: the connect phase (a process near 1 CPU second a second is the bottleneck).
    ready: list[dict[str, Any]] = field(default_factory=list)
    #: Close codes of connected screens the server closed before the collection.
    dropped: dict[str, int] = field(default_factory=dict)

    def collect(self, linger: float) -> list[Story]:
        """Wait ``linger`` s for the last messages, then every client's story."""
        time.sleep(linger)
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(json.dumps({"collect": True}) + "\n")
            proc.stdin.flush()
        stories: list[Story] = []
        for proc in self.procs:
            done = _line(proc)["done"]
            t0_ns = int(done["t0_ns"])
            for code, count in done["dropped"].items():
                self.dropped[code] = self.dropped.get(code, 0) + count
            stories.extend(
                (sheds, failed, lag, ms, [(int(v), t0_ns + int(ns)) for v, ns in received])
                for sheds, failed, lag, ms, received in done["stories"])
            proc.wait(timeout=30)
        return stories

    def cpu_share(self) -> float:
        """The busiest client process's CPU time over its connect phase's wall time."""
        return max((r["cpu_ms"] / max(1.0, r["wall_ms"]) for r in self.ready), default=0.0)


def _line(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"node storm client exited ({proc.wait()}) before reporting")
    msg: dict[str, Any] = json.loads(line)
    return msg


def start_node_storm(cfg: StormConfig, handshake: str = "raw") -> NodeStorm:
    """Start the Node client processes; returns once every screen is connected or failed."""
    why = node_available()
    if why is not None:
        raise RuntimeError(why)
    t0 = time.time() + 0.5 + 0.1 * cfg.procs  # every process is up before the first try
    procs = []
    for proc in range(cfg.procs):
        cmd = ["node", str(SCRIPT), "--url", cfg.url, "--clients", str(cfg.clients),
               "--rate", str(cfg.rate), "--procs", str(cfg.procs), "--proc", str(proc),
               "--t0-ms", f"{t0 * 1000:.3f}", "--sources", ",".join(cfg.sources),
               "--open-timeout", str(cfg.open_timeout), "--handshake", handshake]
        procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, bufsize=1))
    ready = [_line(p)["ready"] for p in procs]
    return NodeStorm(procs=procs, connect_seconds=time.time() - t0, ready=ready)
