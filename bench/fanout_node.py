"""The Node (`ws`) side of the fan-out load client: bench/node/fanout_client.mjs processes.

A Python client process spends ~30-50 µs of CPU per received message (websockets'
frame parsing, asyncio, json); at 5,000 screens that is 150-250 ms of CPU per change on
a box with two cores it shares with the server, and it flattened the difference between
servers. One Node process parses the same messages several times faster. Each process
here holds a share of the clients, from its own 127.0.0.x source addresses, and talks
to the driver in bench/fanout_client.py through :class:`NodeWorker`, which answers the
same ``poll``/``recv``/``send`` calls as a multiprocessing pipe.
"""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.fanout_client import FanoutConfig

NODE_DIR = Path(__file__).resolve().parent / "node"
SCRIPT = NODE_DIR / "fanout_client.mjs"
ADDRESSES_PER_PROCESS = 16  # 127.0.0.x sources: ~28k ephemeral ports each


def node_available() -> str | None:
    """None when the Node client can run, else why not (a sentence)."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (NODE_DIR / "node_modules" / "ws").is_dir():
        return f"`ws` is not installed: run `npm ci` in {NODE_DIR}"
    return None


class NodeWorker:
    """One Node client process, seen through a pipe-like interface."""

    def __init__(self, cfg: FanoutConfig, count: int, index: int) -> None:
        cmd = ["node", str(SCRIPT), "--url", cfg.url, "--clients", str(count),
               "--changes", str(cfg.changes), "--version-field", cfg.version_field,
               "--ts-field", cfg.ts_field, "--concurrency", str(cfg.connect_concurrency),
               "--addresses", str(ADDRESSES_PER_PROCESS),
               "--address-base", str(1 + index * ADDRESSES_PER_PROCESS)]
        if cfg.origin:
            cmd += ["--origin", cfg.origin]
        for key, value in cfg.headers.items():
            cmd += ["--header", f"{key}: {value}"]
        self.ts_field = cfg.ts_field
        self.t0_ns = 0
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        self._lines: queue.Queue[str] = queue.Queue()
        self._next: tuple[str, Any] | None = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put("")  # end of output

    def poll(self, timeout: float) -> bool:
        if self._next is None:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                return False
            self._next = self._decode(line)
        return True

    def _decode(self, line: str) -> tuple[str, Any]:
        if not line:
            raise RuntimeError(f"node client exited ({self.proc.wait()}) before reporting")
        msg = json.loads(line)
        if "ready" in msg:
            self.t0_ns = int(msg["t0_ns"])
            return ("ready", int(msg["ready"]))
        report = msg["done"]
        if not self.ts_field:  # receipt times since t0 -> since the epoch, as Python's
            report["by_change"] = [[(k, self.t0_ns + ns) for k, ns in pairs]
                                   for pairs in report["by_change"]]
        return ("done", report)

    def recv(self) -> tuple[str, Any]:
        if not self.poll(3600):
            raise TimeoutError("node client said nothing")
        assert self._next is not None
        item, self._next = self._next, None
        return item

    def send(self, stop_after: float) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"stop_after": stop_after}) + "\n")
        self.proc.stdin.flush()

    # The driver joins its workers like multiprocessing.Process objects.
    def join(self, timeout: float) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout)

    def is_alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


def start_node_workers(cfg: FanoutConfig, shares: list[int]) -> list[NodeWorker]:
    """One Node process per share; raises when Node or `ws` is missing."""
    why = node_available()
    if why is not None:
        raise RuntimeError(why)
    return [NodeWorker(cfg, share, i) for i, share in enumerate(shares)]
