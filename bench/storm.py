"""Connection storm: N screens connecting at R a second to `diemcau serve --workers 2`.

PostgreSQL (a fresh database on 127.0.0.1) and Redis (a spare db number) as in
production. The clients (the Node one, bench/node/storm_client.mjs via
bench/storm_node.py, when `npm ci` ran in bench/node; else bench/storm_client.py, which
--smoke always uses) come from several processes and 127.x source addresses and honour
1013 retry_after like the pages. --capacity-check runs the storm with 1 client process,
then --procs: the client is not the bottleneck if the figures hold. Counted: connected at the
first try, shed with 1013 (and connected after), bare failures (must be 0). Then
`--changes` slide changes: every screen must get each one, in order; latency from the
presenter's HTTP command sent to each screen's receipt (p50/p99/max). Last, late
joiners' time to their snapshot, one at a time.

Raise the open-file limit in the shell first (every socket is a file; the server and
the client processes raise their soft limit to the hard one themselves):

    ulimit -n 65536 && .venv/bin/python -m bench.storm --clients 31000 --rate 2000
    .venv/bin/python -m bench.storm --smoke       # CI: 300 screens, shedding on purpose
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app.admission import raise_open_file_limit
from bench.fanout import ADMIN_PASSWORD, late_joiners, prepare_diemcau
from bench.fanout_node import node_available
from bench.procs import ROOT, free_port, fresh_pg, pct, process, wait_http
from bench.storm_client import StormConfig, start_storm
from bench.storm_node import NodeStorm, start_node_storm

Stories = list[tuple[int, str, float, float, list[tuple[int, int]]]]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=1000, help="new screens a second")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--client", choices=("node", "python"), default=None,
                        help="load client: node (default when `npm ci` ran in bench/node; "
                             "python with --smoke)")
    parser.add_argument("--procs", type=int, default=None,
                        help="client processes (default: 2 Node, 4 Python)")
    parser.add_argument("--capacity-check", action="store_true",
                        help="run the storm twice, with 1 client process and with --procs, "
                             "each on a fresh server: the client is not the bottleneck if "
                             "the figures hold")
    parser.add_argument("--sources", type=int, default=4, help="127.0.0.x source addresses")
    parser.add_argument("--changes", type=int, default=3)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--joiners", type=int, default=50)
    parser.add_argument("--backlog", type=int, default=8192)
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--admit-per-second", type=float, default=None,
                        help="DIEMCAU_WS_ADMIT_PER_SECOND (per worker; default: the setting's)")
    parser.add_argument("--admit-burst", type=int, default=None)
    parser.add_argument("--admit-pending", type=int, default=None,
                        help="DIEMCAU_WS_ADMIT_PENDING (0 with --admit-per-second 0: no admission)")
    parser.add_argument("--admit-max-wait-ms", type=int, default=None,
                        help="DIEMCAU_WS_ADMIT_MAX_WAIT_MS (0: no shedding on queue wait)")
    parser.add_argument("--log", type=Path, default=None, help="keep the server's log here")
    parser.add_argument("--sqlite", action="store_true",
                        help="SQLite and the in-process broker, one worker (no PG or Redis)")
    parser.add_argument("--smoke", action="store_true",
                        help="CI: 300 screens shed on purpose, SQLite, one worker")
    args = parser.parse_args()
    if args.smoke:
        args.clients, args.rate, args.procs, args.sources = 300, 600, 2, 2
        args.changes, args.interval, args.joiners = 2, 0.3, 10
        # Well below what even a slow client offers (a loaded box spreads the 300 over
        # ~3 s): some are shed whatever the load.
        args.admit_per_second, args.admit_burst = 50, 25
        args.sqlite, args.workers = True, 1
    if args.client is None:
        args.client = "python" if args.smoke or node_available() else "node"
    if args.procs is None:
        args.procs = 2 if args.client == "node" else 4
    return args


def _server_env(args: argparse.Namespace, tmpdir: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "DIEMCAU_DATA_DIR": str(tmpdir / "var"), "DIEMCAU_ADMIN_PASSWORD": ADMIN_PASSWORD,
           "DIEMCAU_SECRET_KEY": "storm-bench-" + "s" * 40, "DIEMCAU_ENV": "development",
           # Every screen comes from a handful of addresses: lift the per-address cap.
           "DIEMCAU_WS_CONNECTIONS_PER_CLIENT": "0"}
    if args.sqlite:
        env["DIEMCAU_DATABASE_URL"] = f"sqlite:///{tmpdir / 'storm.db'}"
    else:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, db=args.redis_db).flushdb()
        env["DIEMCAU_DATABASE_URL"] = fresh_pg("diemcau_storm")
        env["DIEMCAU_BROKER_URL"] = f"redis://127.0.0.1:6379/{args.redis_db}"
    if args.admit_per_second is not None:
        env["DIEMCAU_WS_ADMIT_PER_SECOND"] = str(args.admit_per_second)
    if args.admit_burst is not None:
        env["DIEMCAU_WS_ADMIT_BURST"] = str(args.admit_burst)
    if args.admit_max_wait_ms is not None:
        env["DIEMCAU_WS_ADMIT_MAX_WAIT_MS"] = str(args.admit_max_wait_ms)
    if args.admit_pending is not None:
        env["DIEMCAU_WS_ADMIT_PENDING"] = str(args.admit_pending)
    return env


def _changes(http: httpx.Client, base: str, session_id: int,
             args: argparse.Namespace) -> dict[int, int]:
    """Move the slide `changes` times; the send time (ns) of each new version."""
    sent: dict[int, int] = {}
    for n in range(args.changes):
        started = time.time_ns()
        r = http.put(f"{base}/api/v1/sessions/{session_id}/state", json={"slide": 2 + n})
        r.raise_for_status()
        sent[int(r.json()["version"])] = started
        time.sleep(args.interval)
    return sent


def _check(stories: Stories, sent: dict[int, int]) -> dict[str, object]:
    """Counts, order and latency of the changes over every screen's story."""
    versions = sorted(sent)
    latencies: list[float] = []
    missing = disorder = 0
    for _, failed, _, _, received in stories:
        if failed:
            continue
        got = [v for v, _ in received if v in sent]
        disorder += sum(1 for a, b in itertools.pairwise(got) if b <= a)
        missing += len(set(versions) - set(got))
        latencies.extend((t - sent[v]) / 1e6 for v, t in received if v in sent)
    failures: dict[str, int] = {}
    for _, failed, _, _, _ in stories:
        if failed:
            failures[failed] = failures.get(failed, 0) + 1
    return {
        "first_try": sum(1 for s, f, _, _, _ in stories if not f and s == 0),
        "shed_clients": sum(1 for s, _, _, _, _ in stories if s),
        "shed_then_connected": sum(1 for s, f, _, _, _ in stories if s and not f),
        "sheds": sum(s for s, _, _, _, _ in stories),
        "lag": sorted(lag for _, _, lag, _, _ in stories),
        "first_try_ms": sorted(ms for s, f, _, ms, _ in stories if not f and s == 0),
        "connect_ms": sorted(ms for _, f, _, ms, _ in stories if not f),
        "failures": failures, "missing": missing, "disorder": disorder,
        "latencies": sorted(latencies),
    }


def _report(args: argparse.Namespace, outcome: Outcome) -> int:
    c, joins = outcome.checks, outcome.joins
    lat = c["latencies"]
    assert isinstance(lat, list)
    failures = c["failures"]
    assert isinstance(failures, dict)
    bare = sum(failures.values())
    store = "SQLite, memory broker" if args.sqlite else "PostgreSQL, Redis"
    print(f"\nStorm ({store}): {args.clients} screens at {args.rate:.0f}/s, "
          f"{args.workers} workers, {outcome.procs} {args.client} client processes, "
          f"{args.sources} source addresses")
    print(f"connect phase: {outcome.seconds:.1f} s; first try: {c['first_try']}; shed with 1013: "
          f"{c['shed_clients']} screens ({c['sheds']} sheds), connected after: "
          f"{c['shed_then_connected']}; bare failures: {bare} {failures or ''}")
    lag, first, conn = c["lag"], c["first_try_ms"], c["connect_ms"]
    assert isinstance(lag, list) and isinstance(first, list) and isinstance(conn, list)
    busy = "" if outcome.client_cpu is None else (
        f"; busiest client process used {outcome.client_cpu:.2f} CPU s per s connecting")
    print(f"client start lag ms (a busy client starts late): p50 {pct(lag, 50):.0f} "
          f"p99 {pct(lag, 99):.0f} max {pct(lag, 100):.0f}{busy}")
    print(f"kernel listen queue while connecting: {c['listen'] or 'nstat not available'}"
          + (f"; connected screens closed by the server: {outcome.dropped}"
             if outcome.dropped else ""))
    print(f"time to snapshot ms: first try p50 {pct(first, 50):.0f} p99 {pct(first, 99):.0f}; "
          f"all (waits after 1013 included) p99 {pct(conn, 99):.0f} max {pct(conn, 100):.0f}")
    p99 = pct(lat, 99)
    print(f"{args.changes} changes: {len(lat)} deliveries, missing {c['missing']}, out of order "
          f"{c['disorder']}; latency ms p50 {pct(lat, 50):.1f} p99 {p99:.1f} "
          f"max {lat[-1] if lat else float('nan'):.1f} (target p99 ≤ 1000)")
    print(f"late joiner to snapshot: p50 {statistics.median(joins):.1f} ms, "
          f"p99 {pct(joins, 99):.1f} ms, max {joins[-1]:.1f} ms (target ≤ 100)")
    complete = bare == 0 and c["missing"] == 0 and c["disorder"] == 0
    print("every screen connected and got every change in order:", "yes" if complete else "NO")
    if args.smoke:
        return 0 if complete and c["sheds"] else 1
    met = complete and p99 <= 1000 and pct(joins, 99) <= 100
    print("targets met:", "yes" if met else "NO")
    return 0 if met else 1


@dataclass
class Outcome:
    """One storm's figures: the connect phase, the checks, late joiners, the client."""

    procs: int
    seconds: float
    checks: dict[str, object]
    joins: list[float]
    client_cpu: float | None = None  # busiest Node process: CPU s per wall s, connecting
    dropped: dict[str, int] = field(default_factory=dict)


def _storm(args: argparse.Namespace, procs: int) -> Outcome:
    """Start a fresh server, storm it with `procs` client processes, change slides."""
    with tempfile.TemporaryDirectory(prefix="diemcau-storm-") as tmp:
        tmpdir = Path(tmp)
        port = free_port()
        cmd = [sys.executable, "-m", "app.cli", "serve", "--port", str(port),
               "--workers", str(args.workers), "--backlog", str(args.backlog)]
        try:
            with process(cmd, _server_env(args, tmpdir), tmpdir / "diemcau.log") as srv:
                base = f"http://127.0.0.1:{port}"
                wait_http(f"{base}/healthz", 60, srv)
                stage = prepare_diemcau(base, slides=args.changes + 2)
                url = f"ws://127.0.0.1:{port}/ws/screen?token={stage.screen_token}"
                sources = tuple(f"127.0.0.{2 + k}" for k in range(args.sources))
                cfg = StormConfig(url=url, clients=args.clients, rate=args.rate, procs=procs,
                                  sources=sources)
                overflows = _listen_counters()
                storm = start_node_storm(cfg) if args.client == "node" else start_storm(cfg)
                overflows = {k: v - overflows.get(k, 0) for k, v in _listen_counters().items()}
                with httpx.Client(timeout=30, headers=stage.headers) as http:
                    sent = _changes(http, base, stage.session_id, args)
                stories = storm.collect(linger=0.3 if args.smoke else 1.0)
                # The aborted clients' closes are server work, not a late join.
                time.sleep(0.5 if args.smoke else 3.0)
                joins = sorted(late_joiners(url, args.joiners))
        finally:
            if args.log is not None and (tmpdir / "diemcau.log").exists():
                shutil.copy(tmpdir / "diemcau.log", args.log)
    checks = _check(stories, sent)
    checks["listen"] = overflows
    if isinstance(storm, NodeStorm):
        return Outcome(procs, storm.connect_seconds, checks, joins,
                       client_cpu=storm.cpu_share(), dropped=storm.dropped)
    return Outcome(procs, storm.connect_seconds, checks, joins)


def _listen_counters() -> dict[str, int]:
    """The kernel's listen-queue drop counters (nstat; empty where it is missing): a
    connection dropped there is a bare failure the server never saw."""
    try:
        out = subprocess.run(["nstat", "-az", "TcpExtListenOverflows", "TcpExtListenDrops"],
                             capture_output=True, text=True, timeout=5, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return {f[0]: int(f[1]) for f in (ln.split() for ln in out.splitlines())
            if len(f) >= 2 and f[0].startswith("TcpExt")}


def main() -> int:
    args = _arguments()
    raise_open_file_limit()
    if not args.capacity_check:
        return _report(args, _storm(args, args.procs))
    one = _storm(args, 1)
    code = _report(args, one)
    many = _storm(args, args.procs)
    code = max(code, _report(args, many))
    print(f"\nclient capacity check ({args.client}): 1 process / {args.procs} processes: "
          f"first try {one.checks['first_try']} / {many.checks['first_try']}, "
          f"connect phase {one.seconds:.1f} / {many.seconds:.1f} s, change p99 "
          f"{_p99(one):.0f} / {_p99(many):.0f} ms (the client is not the bottleneck when "
          "these hold)")
    return code


def _p99(outcome: Outcome) -> float:
    lat = outcome.checks["latencies"]
    assert isinstance(lat, list)
    return pct(lat, 99)


if __name__ == "__main__":
    sys.exit(main())
