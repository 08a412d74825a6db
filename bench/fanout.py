"""Fan-out benchmark: N site screens following one `diemcau serve`, against the reference.

In one run, with the same load client (bench/fanout_client.py):

1. reference — bench/fanout_reference.py, a bare `websockets` server broadcasting with
   `websockets.broadcast()` (no framework), triggered by a plain HTTP GET;
2. diemcau — `diemcau serve` on a fresh SQLite file; N clients on `/ws/screen`, the
   presenter moves the slide with `PUT /api/v1/sessions/{id}/state`.

Latency is measured the same way for both: from the moment the trigger's HTTP request
is sent to the message arriving at each client. Resident memory per connection is the
server's RSS growth from idle to N connected, divided by N. A late joiner's time to its
snapshot is measured on diemcau after the run.

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
from dataclasses import dataclass
from pathlib import Path

import httpx
from websockets.sync.client import connect as ws_connect

from app.db import local_today
from bench.fanout_client import FanoutConfig, FanoutResult, percentile, run_fanout
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


def prepare_diemcau(base: str, slides: int) -> Stage:
    """Conference, site, session, one agenda item with a deck, and a screen token."""
    today = local_today().isoformat()
    with httpx.Client(base_url=base, timeout=60) as http:
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
    parser.add_argument("--smoke", action="store_true", help="200 clients, 5 changes (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.clients, args.changes, args.interval = 200, 5, 0.2
    return args


def _reference(args: argparse.Namespace, env: dict[str, str], tmpdir: Path) -> Run:
    """The bare `websockets.broadcast()` server under the same clients."""
    port = free_port()
    cmd = [sys.executable, "-m", "bench.fanout_reference", "--port", str(port),
           "--mode", "broadcast"]
    with process(cmd, env, tmpdir / "reference.log") as ref:
        wait_http(f"http://127.0.0.1:{port}/broadcast", 15)
        cfg = FanoutConfig(url=f"ws://127.0.0.1:{port}/", clients=args.clients,
                           changes=args.changes, interval=args.interval, ts_field="")
        with httpx.Client(timeout=30) as http:
            return measured("reference (websockets.broadcast)", cfg, ref.pid, http,
                            ("GET", f"http://127.0.0.1:{port}/broadcast", None))


def _diemcau(args: argparse.Namespace, env: dict[str, str],
             tmpdir: Path) -> tuple[Run, list[float]]:
    """`diemcau serve` with N screens on /ws/screen, then the late joiners."""
    port = free_port()
    denv = {**env, "DIEMCAU_DATABASE_URL": f"sqlite:///{tmpdir / 'bench.db'}",
            "DIEMCAU_DATA_DIR": str(tmpdir / "var"), "DIEMCAU_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "DIEMCAU_ENV": "development",
            # Every client comes from 127.0.0.1: lift the per-address socket cap.
            "DIEMCAU_WS_CONNECTIONS_PER_CLIENT": "0"}
    cmd = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    with process(cmd, denv, tmpdir / "diemcau.log") as srv:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz", 60)
        stage = prepare_diemcau(base, slides=args.changes + 2)
        ws_url = f"ws://127.0.0.1:{port}/ws/screen?token={stage.screen_token}"
        cfg = FanoutConfig(url=ws_url, clients=args.clients, changes=args.changes,
                           interval=args.interval, ts_field="")
        with httpx.Client(timeout=30, headers=stage.headers) as http:
            run = measured("diemcau serve (/ws/screen)", cfg, srv.pid, http,
                           ("PUT", f"{base}/api/v1/sessions/{stage.session_id}/state",
                            {"slide": 1}))
        # The N clients have just closed: let the server finish their closing
        # handshakes first, or the first joiners measure a mass disconnect
        # (5,000 closes ≈ 0.5-1 s of server work on 2 cores), not a late join.
        time.sleep(3.0)
        return run, sorted(late_joiners(ws_url, 20 if args.smoke else 100))


def _report(args: argparse.Namespace, runs: list[Run], joins: list[float]) -> int:
    print(f"\nFan-out: {args.clients} clients, {args.changes} changes, "
          f"latency from HTTP command sent to message received (ms)")
    print(f"{'server':36} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} {'missing':>8} "
          f"{'disorder':>8} {'KB/conn':>8}")
    for run in runs:
        r = run.result
        print(f"{run.name:36} {r.p50_ms:7.1f} {r.p95_ms:7.1f} {r.p99_ms:7.1f} {r.max_ms:7.1f} "
              f"{r.missing:8d} {r.out_of_order:8d} {run.per_connection_kb:8.1f}")
    ref_run, app_run = runs
    ratio = app_run.result.p99_ms / ref_run.result.p99_ms
    print(f"\np99 ratio diemcau / reference: {ratio:.2f} (target ≤ 1.25)")
    print(f"memory per screen: {app_run.per_connection_kb:.1f} KB (target ≤ 30; reference "
          f"{ref_run.per_connection_kb:.1f} KB)")
    print(f"late joiner to snapshot: p50 {statistics.median(joins):.1f} ms, "
          f"p99 {percentile(joins, 0.99):.1f} ms, max {joins[-1]:.1f} ms (target ≤ 100)")
    complete = all(run.result.ok() for run in runs)
    print("every screen received every change in order:", "yes" if complete else "NO")
    for run in runs:
        if run.result.errors:
            print(f"{run.name} errors: {run.result.errors}")
    if args.smoke:
        return 0 if complete else 1
    met = complete and ratio <= 1.25 and app_run.per_connection_kb <= 30 and joins[-1] <= 100
    print("targets met:", "yes" if met else "NO")
    return 0 if met else 1


def main() -> int:
    args = _arguments()
    with tempfile.TemporaryDirectory(prefix="diemcau-fanout-") as tmp:
        tmpdir = Path(tmp)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        reference = _reference(args, env, tmpdir)
        app_run, joins = _diemcau(args, env, tmpdir)
    return _report(args, [reference, app_run], joins)


if __name__ == "__main__":
    sys.exit(main())
