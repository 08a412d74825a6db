"""The floor's bench: 4,000 sites asking for the floor within 10 seconds, the chair reading
the queue meanwhile, against a real `diemcau serve` and a bare reference, same run.

1. Starts `diemcau serve` (subprocess; a fresh SQLite file, or `--database-url` naming an
   empty database, `--pg` a fresh one on 127.0.0.1) and seeds it through the service
   layer: a conference of today with a national-shaped tree (`bench.import_sites`'s
   `national_tree`, through `endpoints.imports.import_sites`), one coordinator account per
   asking site (rows written in bulk with one password hash; their bearer tokens are
   signed with the server's key, as `diemcau` would issue them: 4,000 logins would
   measure argon2, not the floor), a session on the stage.
2. The storm: every site asks once at a uniformly random moment of `--seconds`, and
   `--repeat-share` of them ask again 1-3 s later with another topic ("a second ask
   changes the first": 200, same place in the queue). Each ask is its own coordinator's
   (`Authorization: Bearer`), so the path measured is the real one: the token, the
   site's scope in the tree, the site's row lock, the upsert, the queue's version. The
   asks are spread over `--clients` processes (bench/floor_client.py, open loop:
   latency from the scheduled moment).
3. Meanwhile the chair polls GET /api/v1/sessions/{id}/floor (the head of the queue and
   how many wait) every `--poll` seconds, and holds /ws/floor: read latency, the
   socket's delivery lag and gaps, when it showed every site waiting.
4. Checks: no 5xx, every ask 201 or 200, one 201 per site; the queue (?limit=10000)
   holds exactly one open request per site, ordered by asked_at; `waiting` counts all.
5. Reference, same schedule, clients and uvicorn settings: bench/floor_reference.py, a
   bare Starlette route doing one SQLite upsert with the same partial unique index,
   and an ordered read of the open rows for the chair.

    .venv/bin/python -m bench.floor                       # 4,000 sites in 10 s, SQLite
    .venv/bin/python -m bench.floor --pg                  # the same on PostgreSQL
    .venv/bin/python -m bench.floor --smoke               # CI: 200 sites in 2 s
"""

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.procs import free_port, fresh_pg, pct, process, wait_http

SECRET = "bench-secret-" + "f" * 40
ADMIN_PASSWORD = "bench-admin-password"
PG_BENCH_DB = "diemcau_bench_floor"
CENTRAL_AND_HUBS = 1 + 34 + 13  # national_tree's central, hubs and special zones


@dataclass
class Seeded:
    conference_id: int
    session_id: int
    sites: list[tuple[int, str]]  # (site id, its coordinator's bearer token)
    admin_token: str
    seconds: float


@dataclass
class Storm:
    """What one run against one server gave: the asks' answers and the chair's reads."""

    results: list[list[float]] = field(default_factory=list)  # at, latency, service, status
    polls: list[tuple[float, int, int]] = field(default_factory=list)  # latency, status, size
    # The chair's socket: received, the server's `now`, version, waiting (epoch seconds).
    socket: list[tuple[float, float, int, int]] = field(default_factory=list)
    wall: float = 0.0
    last_answer: float = 0.0


def _tree_and_session(db: Any, admin: Any, sites: int) -> tuple[int, int, list[int]]:
    from sqlmodel import col, select

    from app.db import local_today
    from bench.import_sites import national_tree, to_csv
    from endpoints import imports
    from endpoints import service as endpoints_service
    from endpoints.models import ConferenceCreate, Participation, Site, SiteKind
    from sessions import service as sessions_service
    from sessions import stage
    from sessions.models import AgendaItemCreate, SessionCreate, StateUpdate

    today = local_today()
    conference = endpoints_service.create_conference(db, actor=admin, data=ConferenceCreate(
        title="Hội nghị toàn quốc (bench phát biểu)", starts_on=today, ends_on=today))
    assert conference.id is not None
    below = max(0, sites + 1 - CENTRAL_AND_HUBS)
    rows = national_tree(communes=below * 3 // 4, wards=below - below * 3 // 4)
    imports.import_sites(db, conference_id=conference.id, filename="cay.csv",
                         data=to_csv(rows), actor=admin)
    found = list(db.exec(select(Site.id).join(Participation).where(
        Participation.conference_id == conference.id, Site.kind != SiteKind.central)
        .order_by(col(Site.id))).all())
    start = datetime.now(UTC) - timedelta(minutes=5)
    session = sessions_service.create_session(
        db, conference_id=conference.id, actor=admin,
        data=SessionCreate(title="Thảo luận", starts_at=start, ends_at=start + timedelta(hours=4)))
    assert session.id is not None
    item = sessions_service.create_agenda_item(
        db, session_id=session.id, data=AgendaItemCreate(title="Thảo luận tại các điểm cầu"),
        actor=admin, publish=lambda channel, message: None)
    stage.set_state(db, session_id=session.id, data=StateUpdate(agenda_item_id=item.id),
                    actor=admin, publish=lambda channel, message: None)
    return conference.id, session.id, [int(i) for i in found[:sites]]


def _coordinators(db: Any, site_ids: list[int]) -> list[tuple[int, str]]:
    """One coordinator account per site, written in bulk; their bearer tokens."""
    from sqlalchemy import insert
    from sqlmodel import col, select

    from app.accounts.models import User
    from app.security import create_access_token, hash_password

    hashed = hash_password("bench-coordinator-password")
    db.execute(insert(User.__table__), [  # type: ignore[attr-defined]
        {"username": f"floor-{s}", "password_hash": hashed, "full_name": f"Cán bộ {s}",
         "role": "coordinator", "site_id": s, "status": "active", "token_version": 0,
         "created_at": datetime.now(UTC)} for s in site_ids])
    db.commit()
    ids = dict(db.exec(select(User.site_id, User.id).where(
        col(User.username).startswith("floor-"))).all())
    return [(s, create_access_token(secret=SECRET, user_id=int(ids[s]), version=0))
            for s in site_ids]


def seed(db_url: str, sites: int) -> Seeded:
    """The conference, its sites and coordinators, the session on stage."""
    from sqlmodel import Session

    from app.db import create_db_engine
    from app.security import create_access_token
    from endpoints import imports

    clock = time.perf_counter()
    engine = create_db_engine(db_url, pool_size=2)
    with Session(engine, expire_on_commit=False) as db:
        admin = imports.admin_account(db)
        assert admin.id is not None
        cid, sid, site_ids = _tree_and_session(db, admin, sites)
        tokens = _coordinators(db, site_ids)
        admin_token = create_access_token(secret=SECRET, user_id=admin.id,
                                          version=admin.token_version)
    engine.dispose()
    return Seeded(cid, sid, tokens, admin_token, time.perf_counter() - clock)


def schedule(sites: list[tuple[int, str]], *, seconds: float, repeat_share: float,
             path: str, rng: random.Random) -> list[list[Any]]:
    """Every site once in `seconds`, a share of them again 1-3 s later; sorted by time."""
    def body(site_id: int, n: int) -> dict[str, Any]:
        return {"site_id": site_id, "topic": f"Ý kiến {n} về chuyển đổi số cấp xã",
                "speaker_name": "Nguyễn Văn An", "speaker_position": "Bí thư Đảng ủy"}

    def address(site_id: int) -> str:  # each site's phone on a network of its own
        return f"10.{site_id >> 16 & 255}.{site_id >> 8 & 255}.{site_id & 255}"

    items: list[list[Any]] = []
    first: dict[int, float] = {}
    for site_id, token in sites:
        first[site_id] = rng.uniform(0, seconds)
        items.append([first[site_id], token, path, body(site_id, 1), address(site_id)])
    for site_id, token in rng.sample(sites, int(len(sites) * repeat_share)):
        items.append([first[site_id] + rng.uniform(1.0, 3.0), token, path, body(site_id, 2),
                      address(site_id)])
    return sorted(items, key=lambda item: item[0])


def _poll(url: str, headers: dict[str, str], every: float, stop: threading.Event,
          out: list[tuple[float, int, int]]) -> None:
    """The chair: read the whole queue every `every` s until told to stop."""
    with httpx.Client(headers=headers, timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                r = client.get(url)
                body = r.json() if r.status_code == 200 else {}
                size = int(body.get("waiting", len(body.get("requests", []))))
                out.append((time.perf_counter() - started, r.status_code, size))
            except httpx.HTTPError:
                out.append((time.perf_counter() - started, 0, 0))
            stop.wait(max(0.0, every - (time.perf_counter() - started)))


def _socket(url: str, stop: threading.Event, out: list[tuple[float, float, int, int]]) -> None:
    """The chair's tablet: hold /ws/floor; per message (received, the server's `now`,
    version, waiting). Epoch seconds: the host's clock is the server's."""
    from websockets.sync.client import connect

    with contextlib.suppress(OSError, websockets_closed()), \
            connect(url, open_timeout=30, max_size=2**24) as sock:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                message = json.loads(sock.recv(timeout=0.5))
                now = datetime.fromisoformat(message["now"]).timestamp()
                out.append((time.time(), now, int(message["version"]),
                            int(message.get("waiting", 0))))


def websockets_closed() -> type[Exception]:
    from websockets.exceptions import ConnectionClosed

    return ConnectionClosed


def storm(base: str, items: list[list[Any]], *, clients: int, poll_url: str,
          poll_headers: dict[str, str], poll_every: float, work: Path, tag: str,
          socket_url: str | None = None) -> Storm:
    """Run the schedule from `clients` processes while the chair polls; the figures."""
    host, port = base.removeprefix("http://").split(":")
    start = time.time() + 2.0  # the clients start and open their connections meanwhile
    procs = []
    for n in range(clients):
        plan = {"host": host, "port": int(port), "start": start, "connections": 48,
                "items": items[n::clients]}
        (work / f"{tag}-plan-{n}.json").write_text(json.dumps(plan))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "bench.floor_client", str(work / f"{tag}-plan-{n}.json"),
             str(work / f"{tag}-result-{n}.json")]))
    out = Storm()
    stop = threading.Event()
    time.sleep(max(0.0, start - time.time()))
    chair = threading.Thread(target=_poll, args=(poll_url, poll_headers, poll_every, stop,
                                                 out.polls), daemon=True)
    chair.start()
    tablet = threading.Thread(target=_socket, args=(socket_url, stop, out.socket),
                              daemon=True) if socket_url else None
    if tablet is not None:
        tablet.start()
    for proc in procs:
        proc.wait(timeout=600)
    out.wall = time.time() - start
    out.last_answer = start + max((r[0] + r[1] for r in _results(work, tag, clients)),
                                  default=0.0)
    time.sleep(2.0 if tablet is not None else 0.0)  # the socket's last states arrive
    stop.set()
    chair.join()
    if tablet is not None:
        tablet.join(timeout=10)
    out.results = _results(work, tag, clients)
    return out


def _results(work: Path, tag: str, clients: int) -> list[list[float]]:
    found: list[list[float]] = []
    for n in range(clients):
        found += json.loads((work / f"{tag}-result-{n}.json").read_text())
    return found


def figures(s: Storm) -> dict[str, Any]:
    """Rates and percentiles of one storm (ms)."""
    latencies = [r[1] * 1000 for r in s.results if r[3]]
    service = [r[2] * 1000 for r in s.results if r[3]]
    statuses: dict[int, int] = {}
    for r in s.results:
        statuses[int(r[3])] = statuses.get(int(r[3]), 0) + 1
    last = max((r[0] + r[1] for r in s.results), default=0.0)
    polls = [p[0] * 1000 for p in s.polls if p[1] == 200]
    return {
        "asks": len(s.results), "rate": len(s.results) / last if last else 0.0,
        "p50": pct(latencies, 50), "p99": pct(latencies, 99), "max": max(latencies, default=0),
        "service_p50": pct(service, 50), "service_p99": pct(service, 99),
        "statuses": dict(sorted(statuses.items())), "polls": len(s.polls),
        "poll_p50": pct(polls, 50), "poll_p99": pct(polls, 99),
        "poll_max": max(polls, default=0.0), "poll_bad": len(s.polls) - len(polls),
        "largest_queue": max((p[2] for p in s.polls), default=0),
        **_socket_figures(s),
    }


def _socket_figures(s: Storm) -> dict[str, Any]:
    """The chair socket's messages: delivery lag (received - the server's `now`), the
    gaps between them, and when it showed the whole queue after the last ask's answer."""
    if not s.socket:
        return {"socket_messages": 0}
    lag = [(r - now) * 1000 for r, now, _, _ in s.socket]
    gaps = [(b[0] - a[0]) * 1000 for a, b in zip(s.socket, s.socket[1:], strict=False)]
    full = max(w for _, _, _, w in s.socket)
    settled = next((r for r, _, _, w in s.socket if w == full), s.socket[-1][0])
    return {"socket_messages": len(s.socket), "socket_lag_p50": pct(lag, 50),
            "socket_lag_p99": pct(lag, 99), "socket_gap_p99": pct(gaps, 99),
            "socket_waiting": full,
            "socket_settle_ms": max(0.0, (settled - s.last_answer) * 1000)}


def verify(base: str, seeded: Seeded, f: dict[str, Any]) -> dict[str, bool]:
    """The rules after the storm: answers, one open request per site, in order."""
    r = httpx.get(f"{base}/api/v1/sessions/{seeded.session_id}/floor?limit=10000", timeout=120,
                  headers={"Authorization": f"Bearer {seeded.admin_token}"})
    requests = r.json()["requests"] if r.status_code == 200 else []
    sites = [q["site_id"] for q in requests]
    order = [(q["asked_at"], q["id"]) for q in requests]
    return {
        "no_5xx": not any(s >= 500 for s in f["statuses"]),
        "only_201_200": set(f["statuses"]) <= {200, 201},
        "one_201_per_site": f["statuses"].get(201, 0) == len(seeded.sites),
        "queue_one_per_site": len(sites) == len(set(sites)) == len(seeded.sites)
        and set(sites) == {s for s, _ in seeded.sites},
        "queue_in_order": order == sorted(order),
        "waiting_counts_all": r.status_code == 200 and r.json()["waiting"] == len(seeded.sites),
        "chair_never_failed": f["poll_bad"] == 0 and f["polls"] > 0,
    }


def _arguments() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sites", type=int, default=4000)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--repeat-share", type=float, default=0.10)
    p.add_argument("--clients", type=int, default=4, help="load client processes")
    p.add_argument("--poll", type=float, default=0.25, help="the chair's read interval (s)")
    p.add_argument("--database-url", default=None, help="an empty database (default: SQLite)")
    p.add_argument("--pg", action="store_true", help=f"a fresh {PG_BENCH_DB} on 127.0.0.1")
    p.add_argument("--smoke", action="store_true", help="CI: 200 sites in 2 s, 2 clients")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    p.add_argument("--workers", type=int, default=1,
                   help="serve --workers N (N > 1: Redis on 127.0.0.1:6379, db 7, as broker)")
    args = p.parse_args()
    if args.smoke:
        args.sites, args.seconds, args.clients = 200, 2.0, 2
    return args


def _database(args: argparse.Namespace, work: Path) -> str:
    if args.pg:
        return fresh_pg(PG_BENCH_DB)
    url = str(args.database_url or f"sqlite:///{work / 'bench.db'}")
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def measure_app(args: argparse.Namespace, work: Path, env: dict[str, str]
                ) -> tuple[Seeded, dict[str, Any], dict[str, bool]]:
    """Seed a real `diemcau serve`, run the storm, check the queue."""
    port = free_port()
    cmd = [str(Path(sys.executable).parent / "diemcau"), "serve", "--port", str(port),
           "--workers", str(args.workers)]
    with process(cmd, env, work / "serve.log", cwd=work) as server:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthz", 120, server)
        seeded = seed(env["DIEMCAU_DATABASE_URL"], args.sites)
        print(f"seeded {len(seeded.sites):,} asking sites with a coordinator each, a session "
              f"on stage, in {seeded.seconds:.1f} s")
        items = schedule(seeded.sites, seconds=args.seconds, repeat_share=args.repeat_share,
                         path=f"/api/v1/sessions/{seeded.session_id}/floor/requests",
                         rng=random.Random(20261207))
        run = storm(base, items, clients=args.clients,
                    poll_url=f"{base}/api/v1/sessions/{seeded.session_id}/floor",
                    poll_headers={"Authorization": f"Bearer {seeded.admin_token}"},
                    poll_every=args.poll, work=work, tag="app",
                    socket_url=f"ws://127.0.0.1:{port}/ws/floor?session_id={seeded.session_id}"
                    f"&token={seeded.admin_token}")
        f = figures(run)
        return seeded, f, verify(base, seeded, f)


def measure_reference(args: argparse.Namespace, work: Path, env: dict[str, str],
                      seeded: Seeded) -> dict[str, Any]:
    """The same schedule against the bare Starlette + SQLite upsert."""
    port = free_port()
    cmd = [sys.executable, "-m", "bench.floor_reference", str(port), str(work / "reference.db")]
    with process(cmd, env, work / "reference.log") as reference:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthz", 60, reference)
        items = schedule(seeded.sites, seconds=args.seconds, repeat_share=args.repeat_share,
                         path="/asks", rng=random.Random(20261207))
        return figures(storm(base, items, clients=args.clients, poll_url=f"{base}/queue",
                             poll_headers={}, poll_every=args.poll, work=work, tag="ref"))


def report(args: argparse.Namespace, backend: str, app: dict[str, Any],
           ref: dict[str, Any], checks: dict[str, bool]) -> None:
    """Print the figures beside the reference's, then the checks."""
    print(f"\nThe floor: {args.sites:,} sites asking within {args.seconds:g} s, "
          f"{int(args.repeat_share * 100)}% asking twice, {args.clients} client processes, "
          f"the chair reading every {args.poll:g} s; {os.cpu_count()} cores shared")
    for label, f in ((f"diemcau serve ({backend})", app), ("reference Starlette+upsert", ref)):
        print(f"  {label:<28} {f['asks']:>6,} asks at {f['rate']:>6,.0f}/s  "
              f"ask p50 {f['p50']:7.1f} ms  p99 {f['p99']:7.1f} ms  max {f['max']:7.1f} ms  "
              f"(service p50 {f['service_p50']:.1f}, p99 {f['service_p99']:.1f})  "
              f"statuses {f['statuses']}")
        print(f"  {'':<28} chair's queue read: {f['polls']} reads, p50 {f['poll_p50']:.1f} ms, "
              f"p99 {f['poll_p99']:.1f} ms, max {f['poll_max']:.1f} ms, "
              f"largest queue {f['largest_queue']:,}, failed {f['poll_bad']}")
    if app.get("socket_messages"):
        print(f"  chair's socket /ws/floor: {app['socket_messages']} messages, delivery lag "
              f"p50 {app['socket_lag_p50']:.1f} ms, p99 {app['socket_lag_p99']:.1f} ms, "
              f"gap p99 {app['socket_gap_p99']:.0f} ms; showed all {app['socket_waiting']:,} "
              f"waiting {app['socket_settle_ms']:.0f} ms after the last ask's answer")
    print(f"  ratio to the reference: ask p50 {app['p50'] / ref['p50']:.1f}×, "
          f"ask p99 {app['p99'] / ref['p99']:.1f}×, "
          f"queue read p50 {app['poll_p50'] / ref['poll_p50']:.1f}×")
    print("checks: " + ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in checks.items()))


REDIS_BENCH_URL = "redis://127.0.0.1:6379/7"


def _fresh_redis(url: str) -> str:
    """An empty Redis database for the run's hub and rates."""
    import redis

    redis.Redis.from_url(url).flushdb()
    return url


def main() -> int:
    args = _arguments()
    work = Path(tempfile.mkdtemp(prefix="diemcau-bench-floor-"))
    url = _database(args, work)
    env = {**os.environ, "DIEMCAU_DATABASE_URL": url, "DIEMCAU_SECRET_KEY": SECRET,
           "DIEMCAU_ADMIN_PASSWORD": ADMIN_PASSWORD, "DIEMCAU_ENV": "development",
           "DIEMCAU_BROKER_URL": "memory://", "DIEMCAU_DATA_DIR": str(work / "var")}
    if args.workers > 1:  # workers share the hub and the rates through Redis
        env["DIEMCAU_BROKER_URL"] = _fresh_redis(REDIS_BENCH_URL)
    try:
        seeded, app, checks = measure_app(args, work, env)
        ref = measure_reference(args, work, env, seeded)
        backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        if args.workers > 1:
            backend += f", {args.workers} workers, Redis"
        report(args, backend, app, ref, checks)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
