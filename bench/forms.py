"""The forms bench: 150,000 attendees answer a 10-question test within 5 minutes (500
answers a second) while 3,354 site screens show live counts, against a real
`diemcau serve` and a bare reference, same schedule, same clients, same checks.

1. Starts `diemcau serve` (subprocess; a fresh SQLite file, `--pg` a fresh PostgreSQL
   database, `--workers N` with Redis as the hub) and seeds it (bench/forms_world.py:
   4,000 invited sites, a session on stage, a bank of 10 single-choice questions and a
   pre-test, 150,000 attendees with personal codes, one enrolled screen on each of
   3,354 sites). The presenter opens the form: `POST /api/v1/forms/{id}/open`.
2. The screens (bench/forms_client.py `screens`, `--screen-procs` processes) hold
   `/ws/screen` and record every `form_count` of the form with its arrival time.
3. The phones (bench/forms_client.py `answers`, `--clients` processes, open loop) send
   `POST /api/v1/forms/{id}/answers` signed with the attendee's personal code and the
   site's answer code, on a rate profile peaking at `--rate`; a share resends the same
   answer (same nonce: 200), a share answers again from another phone (409).
4. Checks (exit 1 on a failure): stored answers = 201s = attendees, no attendee twice,
   10 choice rows each, every 200 a resend of an answered nonce and every 409 another
   nonce, nothing else; every screen's last count = its site's stored count, every
   answer shown. Lag: for the k-th answer acknowledged at a site, the time from its
   201 to the site's screen showing a count ≥ k.
5. Reference, same world and schedule: bench/forms_reference.py (bare Starlette, one
   INSERT of the answer and its choices into SQLite, a per-site counter to screens).

    .venv/bin/python -m bench.forms                   # the full scenario (≈ 15 min)
    .venv/bin/python -m bench.forms --attendees 30000 --seconds 60 --rate 600
    .venv/bin/python -m bench.forms --pg --workers 2  # PostgreSQL, 2 workers, Redis hub
    .venv/bin/python -m bench.forms --smoke           # CI: 300 answers, 80 screens
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.floor import ADMIN_PASSWORD, REDIS_BENCH_URL, SECRET, _fresh_redis
from bench.forms_checks import Stored, checks, figures, stored
from bench.forms_world import Item, World, address, schedule, seed, synthetic
from bench.procs import free_port, fresh_pg, process, wait_http

PG_BENCH_DB = "diemcau_bench_forms"
SETTLE = 1.5  # seconds after the last answer for the last counts to reach the screens


@dataclass
class Run:
    """What one server gave: the answers' results, the screens' counts, the database."""

    name: str
    items: list[Item]
    results: list[list[float]] = field(default_factory=list)
    screens: list[list[Any]] = field(default_factory=list)
    connected: int = 0
    start: float = 0.0
    stored: Stored | None = None


def _spawn(role: str, plan: dict[str, Any], work: Path, tag: str) -> tuple[Any, Path]:
    (work / f"{tag}.json").write_text(json.dumps(plan))
    out = work / f"{tag}-result.json"
    return subprocess.Popen([sys.executable, "-m", "bench.forms_client", role,
                             str(work / f"{tag}.json"), str(out)]), out


def _hold_screens(ws_url: str, world: World, procs: int, work: Path,
                  tag: str) -> tuple[list[tuple[Any, Path]], int]:
    """Start the screen processes and wait until every screen holds its snapshot."""
    started = []
    for n in range(procs):
        plan = {"url": ws_url, "form_id": world.form_id, "screens": world.screens[n::procs],
                "ready": str(work / f"{tag}-ready-{n}"), "stop": str(work / f"{tag}-stop")}
        started.append(_spawn("screens", plan, work, f"{tag}-screens-{n}"))
    deadline = time.monotonic() + 360
    ready = [work / f"{tag}-ready-{n}" for n in range(procs)]
    while not all(p.exists() for p in ready) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.1)  # the files are written in one go; let the last one land
    return started, sum(int(p.read_text() or 0) for p in ready if p.exists())


def load(base: str, ws_url: str, world: World, run: Run, args: argparse.Namespace,
         work: Path) -> None:
    """Hold the screens, send the schedule from the answer processes, collect."""
    screens, run.connected = _hold_screens(ws_url, world, args.screen_procs, work, run.name)
    print(f"  {run.name}: {run.connected:,} of {len(world.screens):,} screens hold the stage")
    host, port = base.removeprefix("http://").split(":")
    run.start = time.time() + 2.0  # the answer processes start and connect meanwhile
    path = f"/api/v1/forms/{world.form_id}/answers"
    answering = []
    for n in range(args.clients):
        plan = {"host": host, "port": int(port), "start": run.start, "connections": 64,
                "items": [[i.index, i.at, path, i.body, address(i.site)]
                          for i in run.items[n::args.clients]]}
        answering.append(_spawn("answers", plan, work, f"{run.name}-answers-{n}"))
    for proc, out in answering:
        proc.wait(timeout=args.seconds * 20 + 600)  # a slow server drains its queue
        run.results += json.loads(out.read_text())
    time.sleep(SETTLE)
    (work / f"{run.name}-stop").write_text("stop")
    for proc, out in screens:
        proc.wait(timeout=120)
        run.screens += json.loads(out.read_text())


def _no_route(r: httpx.Response) -> bool:
    """A 404/405 of the router itself (no such route), not of a use case."""
    code = r.json().get("code") if r.headers.get("content-type", "").startswith(
        "application/json") else None
    return r.status_code == 405 or (r.status_code == 404 and code in (None, "not_found"))


def _open_form(base: str, world: World) -> str:
    """The presenter opens the form; "" when done, else why diemcau cannot be measured."""
    headers = {"Authorization": f"Bearer {world.admin_token}"}
    if _no_route(httpx.post(f"{base}/api/v1/forms/{world.form_id}/answers", json={},
                            timeout=30)):
        return "no answer endpoint (POST /api/v1/forms/{id}/answers) in this tree"
    r = httpx.post(f"{base}/api/v1/forms/{world.form_id}/open", headers=headers, timeout=30)
    if _no_route(r):
        return "no POST /api/v1/forms/{id}/open in this tree"
    r.raise_for_status()
    return ""


def measure_app(args: argparse.Namespace, work: Path,
                env: dict[str, str]) -> tuple[World, Run | None]:
    """Seed a real `diemcau serve`, open the form, run the load, count what is stored
    (no run when this tree cannot take answers yet)."""
    port = free_port()
    cmd = [str(Path(sys.executable).parent / "diemcau"), "serve", "--port", str(port),
           "--workers", str(args.workers)]
    with process(cmd, env, work / "serve.log", cwd=work) as server:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthz", 120, server)
        world = seed(env["DIEMCAU_DATABASE_URL"], sites=args.sites, attendees=args.attendees,
                     screens=args.screens, questions=args.questions)
        print(f"seeded {len(world.sites):,} sites, {len(world.attendees):,} attendees with "
              f"personal codes, {len(world.screens):,} screens, a {args.questions}-question "
              f"pre-test, in {world.seconds:.1f} s")
        missing = _open_form(base, world)
        if missing:
            print(f"  diemcau serve NOT MEASURED: {missing}")
            return world, None
        run = Run("app", _schedule(world, args))
        load(base, f"ws://127.0.0.1:{port}/ws/screen", world, run, args, work)
        run.stored = stored(env["DIEMCAU_DATABASE_URL"], world.form_id)
        return world, run


def measure_reference(args: argparse.Namespace, work: Path, env: dict[str, str],
                      world: World) -> Run:
    """The same world and schedule against the bare Starlette + SQLite reference."""
    from bench.forms_reference import load_attendees

    db = work / "reference.db"
    load_attendees(db, world.attendees)
    (work / "reference-screens.json").write_text(json.dumps(world.screens))
    port = free_port()
    cmd = [sys.executable, "-m", "bench.forms_reference", str(port), str(db),
           str(work / "reference-screens.json"), str(world.form_id)]
    with process(cmd, env, work / "reference.log") as reference:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthz", 60, reference)
        run = Run("reference", _schedule(world, args))
        load(base, f"ws://127.0.0.1:{port}/ws/screen", world, run, args, work)
    run.stored = stored(f"sqlite:///{db}", world.form_id)
    return run


def _schedule(world: World, args: argparse.Namespace) -> list[Item]:
    return schedule(world, seconds=args.seconds, rate=args.rate,
                    replay_share=args.replay_share, second_share=args.second_share,
                    rng=random.Random(20261208))


def _line(label: str, f: dict[str, Any]) -> None:
    print(f"  {label:<30} {f['requests']:>7,} answers at {f['rate']:6,.0f}/s "
          f"(busiest second {f['peak']:,} 201s)  p50 {f['p50']:6.1f} ms  p95 {f['p95']:6.1f} ms  "
          f"p99 {f['p99']:6.1f} ms  max {f['max']:7.1f} ms  statuses {f['statuses']}  "
          f"retried {f['retried']}")
    print(f"  {'':<30} screens: {f['screens']:,} held, {f['drops']} drops, "
          f"{f['messages']:,} counts, max {f['max_per_second']} per site in any 1 s; lag "
          f"201 -> screen shows it ({f['lags']:,} answers): p50 {f['lag_p50']:.0f} ms  "
          f"p99 {f['lag_p99']:.0f} ms  max {f['lag_max']:.0f} ms  never shown "
          f"{f['never_shown']}")


def report(args: argparse.Namespace, backend: str, runs: list[Run]) -> bool:
    """Print each server's figures and checks, the ratio; True when every check holds."""
    print(f"\nForms: {args.attendees:,} attendees answer {args.questions} questions over "
          f"{args.seconds:g} s (peak {args.rate:g}/s; {args.replay_share:.0%} resend, "
          f"{args.second_share:.0%} answer twice), {args.screens:,} screens, "
          f"{args.clients} + {args.screen_procs} client processes; {os.cpu_count()} cores "
          f"shared, load average {os.getloadavg()[0]:.1f}")
    ok, found = True, {}
    for run in runs:
        label = f"diemcau serve ({backend})" if run.name == "app" else "reference Starlette"
        found[run.name] = f = figures(run.items, run.results, run.screens, run.start)
        _line(label, f)
        assert run.stored is not None
        held = checks(run.items, run.results, run.screens, run.stored, run.connected, f)
        if not args.smoke:  # targets: the issue's, on a shared 2-core host
            held["answer_p99_le_100ms"] = f["p99"] <= 100
            held["screen_lag_p99_le_1s"] = f["lag_p99"] <= 1000
        print(f"  {'':<30} stored {run.stored.answers:,} answers, {run.stored.choices:,} "
              f"choices; checks: " + ", ".join(f"{k} {'ok' if v else 'FAILED'}"
                                                for k, v in held.items()))
        ok = ok and all(held.values())
    if "app" in found and "reference" in found:
        app, ref = found["app"], found["reference"]
        print(f"  ratio to the reference: answer p50 {app['p50'] / ref['p50']:.1f}×, "
              f"p99 {app['p99'] / ref['p99']:.1f}×, screen lag p99 "
              f"{app['lag_p99'] / max(ref['lag_p99'], 1.0):.1f}×")
    return ok


def _arguments() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--attendees", type=int, default=150_000)
    p.add_argument("--seconds", type=float, default=300.0)
    p.add_argument("--rate", type=float, default=500.0, help="peak answers per second")
    p.add_argument("--sites", type=int, default=4000, help="invited sites")
    p.add_argument("--screens", type=int, default=3354, help="sites with a screen")
    p.add_argument("--questions", type=int, default=10)
    p.add_argument("--replay-share", type=float, default=0.02)
    p.add_argument("--second-share", type=float, default=0.01)
    p.add_argument("--clients", type=int, default=2, help="answer client processes")
    p.add_argument("--screen-procs", type=int, default=2, help="screen client processes")
    p.add_argument("--target", choices=("both", "app", "reference"), default="both")
    p.add_argument("--pg", action="store_true", help=f"a fresh {PG_BENCH_DB} on 127.0.0.1")
    p.add_argument("--workers", type=int, default=1,
                   help="serve --workers N (N > 1: Redis on 127.0.0.1:6379, db 7, as hub)")
    p.add_argument("--smoke", action="store_true", help="CI: 300 answers, 80 screens")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    args = p.parse_args()
    if args.smoke:
        args.attendees, args.seconds, args.rate = 300, 2.0, 300.0
        args.sites, args.screens = 120, 80
    return args


def main() -> int:
    args = _arguments()
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    work = Path(tempfile.mkdtemp(prefix="diemcau-bench-forms-"))
    url = fresh_pg(PG_BENCH_DB) if args.pg else f"sqlite:///{work / 'bench.db'}"
    env = {**os.environ, "DIEMCAU_DATABASE_URL": url, "DIEMCAU_SECRET_KEY": SECRET,
           "DIEMCAU_ADMIN_PASSWORD": ADMIN_PASSWORD, "DIEMCAU_ENV": "development",
           "DIEMCAU_BROKER_URL": "memory://", "DIEMCAU_DATA_DIR": str(work / "var"),
           # Every screen comes from 127.0.0.1: lift the per-address socket cap.
           "DIEMCAU_WS_CONNECTIONS_PER_CLIENT": "0"}
    if args.workers > 1:  # workers share the hub and the rates through Redis
        env["DIEMCAU_BROKER_URL"] = _fresh_redis(REDIS_BENCH_URL)
    try:
        runs: list[Run] = []
        world: World | None = None
        if args.target != "reference":
            world, app_run = measure_app(args, work, env)
            runs += [app_run] if app_run is not None else []
        if args.target != "app":
            world = world or synthetic(sites=args.sites, attendees=args.attendees,
                                       screens=args.screens, questions=args.questions)
            runs.append(measure_reference(args, work, env, world))
        backend = ("PostgreSQL" if args.pg else "SQLite") + (
            f", {args.workers} workers, Redis" if args.workers > 1 else "")
        ok = report(args, backend, runs)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok and runs else 1


if __name__ == "__main__":
    sys.exit(main())
