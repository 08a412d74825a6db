"""Where a connected screen's memory goes: tracemalloc of N screens on /ws/screen.

Runs diemcau in this process under uvicorn with `diemcau serve`'s websocket settings,
opens a conference with one screen token, warms up with 50 screens, then starts
tracemalloc and connects N screens with the Node client (bench/node, `npm ci` first).
Prints the Python memory held per screen and the source lines that allocated most of
it. RSS is printed too, but with tracemalloc on it counts tracemalloc's own records:
use bench/fanout.py for RSS per screen.

    .venv/bin/python -m bench.fanout_memory --clients 2000
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import uvicorn

from bench.fanout import ADMIN_PASSWORD, prepare_diemcau
from bench.fanout_client import FanoutConfig, raise_fd_limit
from bench.fanout_node import NodeWorker, start_node_workers
from bench.procs import free_port, rss_kb


def _connect(url: str, count: int) -> list[NodeWorker]:
    """`count` screens over two Node processes, once all hold their snapshot."""
    shares = [count // 2, count - count // 2] if count > 1 else [count]
    workers = start_node_workers(FanoutConfig(url=url, clients=count, changes=1,
                                              client="node"), shares)
    connected = sum(w.recv()[1] for w in workers)
    if connected != count:
        raise RuntimeError(f"only {connected} of {count} screens connected")
    return workers


def _close(workers: list[NodeWorker]) -> None:
    for w in workers:
        w.send(0.1)
    for w in workers:
        w.recv()
        w.join(5)


def _report(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, n: int,
            rss: int, top: int) -> None:
    diff = after.compare_to(before, "lineno")
    held = sum(d.size_diff for d in diff)
    print(f"{n} screens: tracemalloc {held / n / 1024:.2f} KB per screen "
          f"({sum(d.count_diff for d in diff) / n:.1f} blocks); RSS growth with "
          f"tracemalloc on {rss / n:.1f} KB")
    root = str(Path(__file__).resolve().parent.parent) + "/"
    for d in diff[:top]:
        frame = d.traceback[0]
        where = frame.filename.replace(root, "").split("site-packages/")[-1]
        print(f"  {d.size_diff / n:7.0f} B {d.count_diff / n:5.1f} blk  {where}:{frame.lineno}")


def _measure(server: uvicorn.Server, port: int, args: argparse.Namespace) -> None:
    while not server.started:
        time.sleep(0.1)
    stage = prepare_diemcau(f"http://127.0.0.1:{port}", slides=3)
    url = f"ws://127.0.0.1:{port}/ws/screen?token={stage.screen_token}"
    try:
        _close(_connect(url, 50))  # first-use caches, not per-screen memory
        time.sleep(1.0)
        gc.collect()
        tracemalloc.start()
        before, rss0 = tracemalloc.take_snapshot(), rss_kb(os.getpid())
        workers = _connect(url, args.clients)
        time.sleep(2.0)
        gc.collect()
        after, rss1 = tracemalloc.take_snapshot(), rss_kb(os.getpid())
        tracemalloc.stop()
        _report(before, after, args.clients, rss1 - rss0, args.top)
        _close(workers)
    finally:
        server.should_exit = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--top", type=int, default=15, help="source lines to show")
    args = parser.parse_args()
    raise_fd_limit(args.clients + 200)
    tmp = Path(tempfile.mkdtemp(prefix="diemcau-fanout-memory-"))
    os.environ.update({
        "DIEMCAU_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
        "DIEMCAU_DATA_DIR": str(tmp / "var"), "DIEMCAU_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "DIEMCAU_ENV": "development", "DIEMCAU_WS_CONNECTIONS_PER_CLIENT": "0"})
    from app.config import get_settings
    from app.migrate import upgrade

    get_settings.cache_clear()
    upgrade(get_settings().database_url)
    port = free_port()
    # As `diemcau serve` (app/cli.py) runs it.
    config = uvicorn.Config("app.main:create_app", factory=True, host="127.0.0.1",
                            port=port, proxy_headers=True,
                            ws="app.uvicorn_ws:LeanWebSocketProtocol",
                            ws_per_message_deflate=False, ws_max_size=64 * 1024,
                            log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    threading.Thread(target=_measure, args=(server, port, args), daemon=True).start()
    server.run()


if __name__ == "__main__":
    main()
