"""Fan-out benchmark: N site screens following one `diemcau serve`, against the reference.

In one run, with the same load client (the Node one, bench/node, when `npm ci` ran
there; else bench/fanout_client.py's Python one, which --smoke always uses):

1. reference — bench/fanout_reference.py, a bare `websockets` server broadcasting with
   `websockets.broadcast()` (no framework), triggered by a plain HTTP GET;
2. diemcau — `diemcau serve` on a fresh SQLite file; N clients on `/ws/screen`, the
   presenter moves the slide with `PUT /api/v1/sessions/{id}/state`.

Latency is measured the same way for both: from the moment the trigger's HTTP request
is sent to the message arriving at each client. Resident memory per connection is the
server's RSS growth from idle to N connected, divided by N. Each server first takes
--small screens (the command path: latency with little fan-out), then N; the reference
takes N twice, with one client process and with --procs, to show whether the client
limits what is measured. A late joiner's time to its snapshot is measured on diemcau
after the run.

    .venv/bin/python -m bench.fanout --clients 5000 --changes 20
    .venv/bin/python -m bench.fanout --smoke          # CI: 200 clients, 5 changes
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import httpx
from websockets.sync.client import connect as ws_connect

from app.db import local_today
from bench.fanout_client import FanoutConfig, FanoutResult, percentile, run_fanout
from bench.fanout_node import node_available
from bench.procs import ROOT, free_port, process, rss_kb, wait_http

ADMIN_PASSWORD = "bench-admin-password"


def make_pdf(pages: int) -> bytes:
    """A small PDF with numbered pages (pypdfium2 ships its own PDFium)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument.new()
    for _ in range(pages):
        doc.new_page(960, 540)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


@dataclass
class Stage:
    session_id: int
    screen_token: str
    headers: dict[str, str]


def prepare_diemcau(base: str, slides: int,
                    client: AbstractContextManager[httpx.Client] | None = None) -> Stage:
    """Conference, site, session, one agenda item with a deck, and a screen token
    (through `client` when given, e.g. an in-process TestClient)."""
    today = local_today().isoformat()
    with client or httpx.Client(base_url=base, timeout=60) as http:
        r = http.post(
            "/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}
        )
        r.raise_for_status()
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        http.headers.update(headers)
        cid = http.post(
            "/api/v1/conferences",
            # Today: a screen follows the conference live at its site (else it waits).
            json={"title": "Bench", "starts_on": today, "ends_on": today},
        ).json()["id"]
        site = http.post(
            f"/api/v1/conferences/{cid}/sites", json={"name": "Điểm cầu bench", "kind": "hub"}
        ).json()["id"]
        sid = http.post(
            f"/api/v1/conferences/{cid}/sessions",
            json={"title": "Phiên bench", "starts_at": "2025-09-09T01:00:00Z",
                  "ends_at": "2025-09-09T05:00:00Z"},
        ).json()["id"]
        item = http.post(
            f"/api/v1/sessions/{sid}/agenda", json={"title": "Báo cáo", "kind": "talk"}
        ).json()["id"]
        r = http.post(
            f"/api/v1/agenda-items/{item}/deck",
            files={"file": ("deck.pdf", make_pdf(slides), "application/pdf")},
        )
        r.raise_for_status()
        http.put(f"/api/v1/sessions/{sid}/state", json={"agenda_item_id": item, "slide": 1})
        token = http.post(f"/api/v1/sites/{site}/screen-token").json()["token"]
    return Stage(session_id=sid, screen_token=token, headers=headers)


@dataclass
class Run:
    name: str
    result: FanoutResult
    idle_kb: int
    connected_kb: int
    fresh: bool = True  # the first run on its server: only then is RSS growth per socket


    @property
    def per_connection_kb(self) -> float:
        return (self.connected_kb - self.idle_kb) / max(1, self.result.connected)


def measured(
    name: str,
    cfg: FanoutConfig,
    pid: int,
    send: httpx.Client,
    req: tuple[str, str, dict[str, int] | None],
) -> Run:
    """Run the fan-out, sampling the server's RSS once every client is connected."""
    time.sleep(1.0)
    idle = rss_kb(pid)
    connected: list[int] = []
    method, url, body_template = req

    def trigger(n: int) -> None:
        if n == 1:
            connected.append(rss_kb(pid))
        body = {k: (v + n if isinstance(v, int) else v) for k, v in (body_template or {}).items()}
        send.request(method, url, json=body or None).raise_for_status()

    result = run_fanout(cfg, trigger)
    return Run(
        name=name, result=result, idle_kb=idle, connected_kb=connected[0] if connected else idle
    )


def late_joiners(url: str, count: int) -> list[float]:
    """Milliseconds from opening a socket to holding the snapshot, one joiner at a time."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        with ws_connect(url, compression=None, proxy=None) as ws:
            ws.recv(timeout=5)
        times.append((time.perf_counter() - start) * 1000)
    return times


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--small", type=int, default=100,
                        help="also run both servers with this many screens (0: skip)")
    parser.add_argument("--client", choices=("node", "python"), default=None,
                        help="load client: node (default when `npm ci` ran in bench/node; "
                             "python with --smoke)")
    parser.add_argument("--procs", type=int, default=2,
                        help="client processes for the measured runs (the reference also "
                             "runs with one, to show the client is not the bottleneck)")
    parser.add_argument("--smoke", action="store_true", help="200 clients, 5 changes (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.clients, args.changes, args.interval, args.small = 200, 5, 0.2, 20
    if args.client is None:
        args.client = "python" if args.smoke or node_available() else "node"
        if not args.smoke and node_available():
            print(f"node client unavailable ({node_available()}): using the Python client")
    return args


def _config(args: argparse.Namespace, url: str, clients: int, procs: int) -> FanoutConfig:
    # settle: the first command should not land on the server's answer to the
    # connection burst (diemcau writes the screens' presence), on either server.
    return FanoutConfig(url=url, clients=clients, changes=args.changes,
                        interval=args.interval, ts_field="", client=args.client, procs=procs,
                        settle=0.0 if args.smoke else 1.0)


def _reference(args: argparse.Namespace, env: dict[str, str], tmpdir: Path) -> list[Run]:
    """The bare `websockets.broadcast()` server under the same clients: the small run,
    then N screens with one client process and with --procs of them."""
    port = free_port()
    cmd = [sys.executable, "-m", "bench.fanout_reference", "--port", str(port),
           "--mode", "broadcast"]
    url = f"ws://127.0.0.1:{port}/"
    trigger = ("GET", f"http://127.0.0.1:{port}/broadcast", None)
    runs = []
    with process(cmd, env, tmpdir / "reference.log") as ref:
        wait_http(f"http://127.0.0.1:{port}/broadcast", 15)
        with httpx.Client(timeout=30) as http:
            # The small run first on both servers: after N closing sockets a server
            # is busy for a while, which is not what the command path should measure.
            if args.small:
                cfg = _config(args, url, args.small, 1)
                runs.append(measured("reference, small", cfg, ref.pid, http, trigger))
                runs[-1].fresh = False
            for procs in sorted({1, args.procs}):
                cfg = _config(args, url, args.clients, procs)
                runs.append(measured(f"reference, {procs} client proc", cfg, ref.pid, http,
                                     trigger))
                # The growth from idle to N connected is only per socket the first time.
                runs[-1].fresh = procs == 1
    return runs


def _diemcau(args: argparse.Namespace, env: dict[str, str],
             tmpdir: Path) -> tuple[list[Run], list[float]]:
    """`diemcau serve`: the small run, N screens on /ws/screen, then late joiners."""
    port = free_port()
    denv = {**env, "DIEMCAU_DATABASE_URL": f"sqlite:///{tmpdir / 'bench.db'}",
            "DIEMCAU_DATA_DIR": str(tmpdir / "var"), "DIEMCAU_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "DIEMCAU_ENV": "development",
            # Every client comes from 127.0.0.x: lift the per-address socket cap.
            "DIEMCAU_WS_CONNECTIONS_PER_CLIENT": "0",
            # This bench measures the fan-out to screens already connected; shedding a
            # storm of new ones (1013 retry_after) is bench/storm.py's: admission off.
            "DIEMCAU_WS_ADMIT_PER_SECOND": "0", "DIEMCAU_WS_ADMIT_PENDING": "0",
            "DIEMCAU_WS_ADMIT_MAX_WAIT_MS": "0"}
    cmd = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    runs = []
    with process(cmd, denv, tmpdir / "diemcau.log") as srv:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz", 60)
        stage = prepare_diemcau(base, slides=2 * args.changes + 2)
        ws_url = f"ws://127.0.0.1:{port}/ws/screen?token={stage.screen_token}"
        put = f"{base}/api/v1/sessions/{stage.session_id}/state"
        with httpx.Client(timeout=30, headers=stage.headers) as http:
            if args.small:
                cfg = _config(args, ws_url, args.small, 1)
                runs.append(measured("diemcau, small", cfg, srv.pid, http,
                                     ("PUT", put, {"slide": 1 + args.changes})))
                runs[-1].fresh = False
            cfg = _config(args, ws_url, args.clients, args.procs)
            runs.append(measured("diemcau (/ws/screen)", cfg, srv.pid, http,
                                 ("PUT", put, {"slide": 1})))
        # The N clients have just closed: let the server finish their closing
        # handshakes first, or the first joiners measure a mass disconnect
        # (5,000 closes ≈ 0.5-1 s of server work on 2 cores), not a late join.
        time.sleep(3.0)
        return runs, sorted(late_joiners(ws_url, 20 if args.smoke else 100))


def _table(args: argparse.Namespace, runs: list[Run]) -> None:
    print(f"\nFan-out: {args.changes} changes, {args.client} client, latency from HTTP "
          f"command sent to message received (ms)")
    print(f"{'server':30} {'N':>6} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} "
          f"{'missing':>8} {'disorder':>8} {'KB/conn':>8}")
    for run in runs:
        r = run.result
        kb = f"{run.per_connection_kb:8.1f}" if run.fresh else f"{'':>8}"
        print(f"{run.name:30} {r.clients:6d} {r.p50_ms:7.1f} {r.p95_ms:7.1f} {r.p99_ms:7.1f} "
              f"{r.max_ms:7.1f} {r.missing:8d} {r.out_of_order:8d} {kb}")


def _report(args: argparse.Namespace, refs: list[Run], apps: list[Run],
            joins: list[float]) -> int:
    _table(args, refs + apps)
    small = 1 if args.small else 0
    ref_one, ref_big, app_big = refs[small], refs[-1], apps[-1]
    drift = ref_big.result.p99_ms / ref_one.result.p99_ms
    print(f"\nclient capacity check: reference p99 with 1 client process "
          f"{ref_one.result.p99_ms:.1f} ms, with {args.procs}: {ref_big.result.p99_ms:.1f} ms "
          f"({drift:.2f}x): " + ("within noise (0.8-1.25x), the client is not the bottleneck"
                                 if 0.8 <= drift <= 1.25 else
                                 "NOT within 0.8-1.25x: a busy box, or the client limits"))
    ratio = app_big.result.p99_ms / ref_big.result.p99_ms
    print(f"p99 ratio diemcau / reference at {args.clients}: {ratio:.2f} (target ≤ 1.25)")
    small_ratio = 0.0
    if args.small:
        small_ratio = apps[0].result.p99_ms / refs[0].result.p99_ms
        print(f"p99 ratio diemcau / reference at {args.small}: {small_ratio:.2f} "
              f"(target ≤ 3; the presenter's command path)")
    print(f"memory per screen: {app_big.per_connection_kb:.1f} KB (target ≤ 16 at 10,000; "
          f"reference {ref_one.per_connection_kb:.1f} KB)")
    print(f"late joiner to snapshot: p50 {statistics.median(joins):.1f} ms, "
          f"p99 {percentile(joins, 0.99):.1f} ms, max {joins[-1]:.1f} ms (target ≤ 100)")
    complete = all(run.result.ok() for run in refs + apps)
    print("every screen received every change in order:", "yes" if complete else "NO")
    for run in refs + apps:
        if run.result.errors:
            print(f"{run.name} errors: {run.result.errors}")
    if args.smoke:
        return 0 if complete else 1
    met = (complete and ratio <= 1.25 and small_ratio <= 3
           and app_big.per_connection_kb <= 16 and joins[-1] <= 100)
    print("targets met:", "yes" if met else "NO")
    return 0 if met else 1


def main() -> int:
    args = _arguments()
    with tempfile.TemporaryDirectory(prefix="diemcau-fanout-") as tmp:
        tmpdir = Path(tmp)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        references = _reference(args, env, tmpdir)
        apps, joins = _diemcau(args, env, tmpdir)
    return _report(args, references, apps, joins)


if __name__ == "__main__":
    sys.exit(main())
