"""Check-in benchmark: `diemcau serve` on SQLite against a bare Starlette reference, same run.

1. Starts `diemcau serve` (subprocess, fresh SQLite file in a temp folder) and loads a
   conference of 500 ward sites and 200,000 attendees through the service's own bulk path
   (`checkin.service.create_attendees`, the same rules as the API: validation, search
   words, short codes), then signs their passes with the server's key.
2. Throughput: `wrk` (Debian package; `apt-get install wrk`) posts check-ins with a
   bearer token for `--seconds`, 30% of them repeats of earlier passes; sustained rate,
   p50/p95/p99, answers by status.
3. Latency at a steady 375/s for `--steady-seconds`: an open-loop generator (httpx,
   asyncio) sends on a fixed schedule and measures from the scheduled time, so a
   stalled server cannot hide its queue (no coordinated omission).
4. Name search p95 over the roster: 400 queries through `GET …/attendees?q=` (surname
   prefixes like "ngu", full names, "van an", short codes, misses).
5. Reference, same generator and uvicorn settings: a bare Starlette route doing one
   `INSERT … ON CONFLICT DO NOTHING` into SQLite (WAL, synchronous=NORMAL).

Prints the ratio (target ≥ 0.3× the reference), p99 at 375/s (≤ 25 ms) and search p95
(≤ 50 ms); exit code 1 when a target is missed or any answer is a 5xx.

    .venv/bin/python -m bench.checkin                 # full run, ~3 minutes
    .venv/bin/python -m bench.checkin --smoke         # CI: 5,000 attendees, a few seconds
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from bench.procs import free_port, fresh_pg, pct, process, wait_http
from checkin import roster

SECRET = "bench-secret-" + "z" * 40
ADMIN_PASSWORD = "bench-admin-password"
REPEAT_SHARE = 0.30
STEADY_RATE = 375
TARGET_RATIO = 0.3  # issue 16
TARGET_P99_MS = 25.0  # issue 16
TARGET_SEARCH_P95_MS = 50.0

SURNAMES = [("Nguyễn", 38), ("Trần", 11), ("Lê", 9.5), ("Phạm", 7), ("Hoàng", 5.1),
            ("Huỳnh", 4), ("Phan", 4.5), ("Vũ", 3.9), ("Võ", 3), ("Đặng", 2.1), ("Bùi", 2),
            ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3), ("Dương", 1), ("Lý", 0.5), ("Đinh", 0.6),
            ("Lương", 0.4), ("Trịnh", 0.4), ("Mai", 0.3), ("Tô", 0.2), ("Quách", 0.1)]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quốc", "Thu", "Xuân", "Hoài",
          "Kim", "Bảo", "Gia", "Công", "Đình", "Trọng", "Thế", "Mỹ", "Phương"]
GIVEN = ["An", "Anh", "Bình", "Cường", "Dũng", "Dung", "Đạt", "Giang", "Hà", "Hải", "Hạnh",
         "Hiếu", "Hoa", "Hòa", "Hùng", "Hương", "Huy", "Khánh", "Lan", "Linh", "Long", "Mai",
         "Minh", "Nam", "Nga", "Ngân", "Nhung", "Phong", "Phúc", "Phương", "Quang", "Quân",
         "Sơn", "Tâm", "Thảo", "Thắng", "Thành", "Thủy", "Tiến", "Trang", "Trung", "Tú",
         "Tuấn", "Vân", "Việt", "Vinh", "Yến", "Khoa", "Lộc", "Ánh", "Châu", "Diệp", "Đông",
         "Hậu", "Kiên", "Lâm", "Luân", "Nhân", "Oanh", "Quyên", "Sang", "Tài", "Uyên", "Xuyến"]

WRK_SCRIPT = r"""
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  local nthreads = tonumber(args[2])
  bodies = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % nthreads == id then table.insert(bodies, line) end
    i = i + 1
  end
  idx = 0
  created, already, other = 0, 0, 0
  headers = {["Content-Type"] = "application/json", ["Authorization"] = args[3]}
  path = args[4]
end
function request()
  idx = idx + 1
  if idx > #bodies then idx = 1 end
  return wrk.format("POST", path, headers, bodies[idx])
end
function response(status, hdrs, body)
  if status == 201 then created = created + 1
  elseif status == 200 then already = already + 1
  else other = other + 1 end
end
function done(summary, latency, requests)
  local c, a, o = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created"); a = a + t:get("already"); o = o + t:get("other")
  end
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.3f,"p50":%.3f,"p95":%.3f,"p99":%.3f,"max":%.3f,' ..
    '"created":%d,"already":%d,"other":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    c, a, o, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout))
end
"""


# ------------------------------------------------------------------ helpers


def _names(n: int, rng: random.Random) -> list[str]:
    surnames = [s for s, _ in SURNAMES]
    weights = [w for _, w in SURNAMES]
    return [
        f"{rng.choices(surnames, weights)[0]} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        for _ in range(n)
    ]


@dataclass
class Loaded:
    conference_id: int
    codes: list[tuple[str, int, str]]  # (pass code, home site, short code)
    names: list[str]
    seconds: float


def load(db_url: str, attendees: int, wards: int, rng: random.Random) -> Loaded:
    """Conference, sites and roster through the service's own bulk path; passes signed."""
    from sqlalchemy import select as sa_select
    from sqlmodel import Session, col

    from app.config import Settings
    from app.db import create_db_engine
    from checkin import keys, qr
    from checkin.models import Attendee, AttendeeCreate
    from endpoints import imports
    from endpoints import service as endpoints_service
    from endpoints.models import Conference, ConferenceCreate, SiteCreate, SiteKind

    settings = Settings(database_url=db_url, secret_key=SECRET, admin_password=ADMIN_PASSWORD)
    engine = create_db_engine(db_url, pool_size=2)
    clock = time.perf_counter()
    with Session(engine, expire_on_commit=False) as db:
        admin = imports.admin_account(db)
        conference = endpoints_service.create_conference(
            db, data=ConferenceCreate(title="Hội nghị toàn quốc (bench)",
                                      starts_on=date.today(), ends_on=date.today()),
            actor=admin)
        assert conference.id is not None
        cid = conference.id

        def site(name: str, kind: SiteKind, parent: int | None) -> int:
            made = endpoints_service.create_site(
                db, conference_id=cid, data=SiteCreate(name=name, kind=kind, parent_id=parent),
                actor=admin).site  # a registry site, invited to the conference
            assert made.id is not None
            return made.id

        central = site("Hội trường Trung ương", SiteKind.central, None)
        hub = site("Điểm cầu Thành phố", SiteKind.hub, central)
        ward_ids = [site(f"Đảng ủy phường {i + 1}", SiteKind.ward, hub) for i in range(wards)]
        names = _names(attendees, rng)
        chunk = 20_000
        for start in range(0, attendees, chunk):
            items = [AttendeeCreate(full_name=n, site_id=ward_ids[(start + i) % wards])
                     for i, n in enumerate(names[start : start + chunk])]
            roster.create_attendees(db, conference_id=cid, items=items, actor=admin,
                                     load=False)
        rows = db.execute(
            sa_select(col(Attendee.id), col(Attendee.site_id), col(Attendee.pass_version),
                      col(Attendee.short_code))
            .where(col(Attendee.conference_id) == cid).order_by(col(Attendee.id))
        ).all()
        stored = db.get(Conference, cid)
        assert stored is not None
        expires = roster.pass_expiry(stored, settings)
        db.rollback()
    ring = keys.key_ring(engine, secret_key=SECRET, need_signer=True)
    assert ring.signer is not None and ring.signer_kid is not None
    codes = [
        (qr.sign_pass(qr.PassClaims(ring.signer_kid, cid, r[0], r[2], expires), ring.signer),
         r[1], r[3])
        for r in rows
    ]
    engine.dispose()
    return Loaded(cid, codes, names, time.perf_counter() - clock)


def scan_bodies(codes: list[tuple[str, int, str]], count: int, rng: random.Random,
                nonce_prefix: str) -> list[str]:
    """`count` check-in bodies; 30% repeat a pass already sent earlier in the list."""
    out: list[str] = []
    sent: list[tuple[str, int]] = []
    fresh = iter(codes)
    for i in range(count):
        if sent and rng.random() < REPEAT_SHARE:
            code, site_id = rng.choice(sent)
        else:
            try:
                code, site_id, _ = next(fresh)
            except StopIteration:
                code, site_id = rng.choice(sent)
            sent.append((code, site_id))
        out.append(json.dumps({"code": code, "site_id": site_id,
                               "nonce": f"{nonce_prefix}-{i}", "device": f"desk-{i % 50}"}))
    return out


def run_wrk(url: str, bodies: list[str], auth: str, path: str, seconds: int,
            connections: int, workdir: Path) -> dict[str, Any]:
    """Closed-loop maximum rate with wrk; its Lua script reports percentiles and statuses."""
    script = workdir / "checkin.lua"
    script.write_text(WRK_SCRIPT)
    body_file = workdir / f"bodies-{time.monotonic_ns()}.jsonl"
    body_file.write_text("\n".join(bodies) + "\n")
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
           "-s", str(script), url, "--", str(body_file), "1", auth, path]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT "):])
    result["rate"] = result["requests"] / result["seconds"]
    return result


async def _steady(url: str, bodies: list[str], headers: dict[str, str], rate: float,
                  seconds: float, connections: int = 16) -> dict[str, Any]:
    """Open loop: request i is due at start + i/rate whatever happened before; latency is
    measured from the due time, so queueing anywhere (generator included) counts."""
    loop = asyncio.get_running_loop()
    host, port = url.removeprefix("http://").split(":")
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    latencies: list[float] = []
    dues: list[float] = []
    statuses: Counter[int] = Counter()
    queue: asyncio.Queue[tuple[bytes, float] | None] = asyncio.Queue()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        while (job := await queue.get()) is not None:
            payload, due = job
            writer.write(payload)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            statuses[int(status_line.split()[1])] += 1
            latencies.append((loop.time() - due) * 1000)
            dues.append(due)
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    total = int(rate * seconds)
    late: list[float] = []
    start = loop.time() + 0.3
    for i in range(total):
        body = bodies[i % len(bodies)].encode()
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            late.append(-delay * 1000)
        request = (f"POST /api/v1/checkins HTTP/1.1\r\nHost: {host}\r\n{head}"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        queue.put_nowait((request, due))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = loop.time() - start
    offset = time.time() - loop.time()
    return {
        "sent": total, "seconds": elapsed, "rate": total / elapsed,
        "p50": pct(latencies, 50), "p95": pct(latencies, 95), "p99": pct(latencies, 99),
        "max": max(latencies), "statuses": dict(statuses),
        "generator_late_p99": pct(late, 99) if late else 0.0,
        "latencies": latencies,
        # When each of `latencies` was due, in time.time() seconds (bench/offline.py
        # splits them around the moment a sync ran).
        "dues": [d + offset for d in dues],
    }


def search_latency(url: str, headers: dict[str, str], loaded: Loaded, count: int,
                   rng: random.Random) -> dict[str, Any]:
    """p50/p95 of name searches through the API, sequential, varied queries."""
    from app.text import search_key

    queries: list[str] = []
    for i in range(count):
        name = rng.choice(loaded.names)
        words = search_key(name).split()
        kind = i % 8
        if kind == 0:
            queries.append(words[0][:3])  # "ngu": the commonest prefix there is
        elif kind == 1:
            queries.append(name)  # full name with accents
        elif kind == 2:
            queries.append(" ".join(words))  # no accents
        elif kind == 3:
            queries.append(f"{words[1]} {words[2]}")  # "van an"
        elif kind == 4:
            queries.append(words[2])  # given name alone
        elif kind == 5:
            queries.append(rng.choice(loaded.codes)[2])  # short code
        elif kind == 6:
            queries.append(f"{words[0][:2]} {words[2][:2]}")  # "ng an"
        else:
            queries.append("xyzq")  # no match: the whole word index says so
    times: list[float] = []
    hits = 0
    with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        for q in queries[:20]:  # warm-up
            client.get(f"/api/v1/conferences/{loaded.conference_id}/attendees", params={"q": q})
        for q in queries:
            t = time.perf_counter()
            r = client.get(f"/api/v1/conferences/{loaded.conference_id}/attendees",
                           params={"q": q, "limit": 20})
            times.append((time.perf_counter() - t) * 1000)
            if r.status_code != 200:
                raise RuntimeError(f"search {q!r}: {r.status_code} {r.text[:200]}")
            hits += bool(r.json())
    return {"queries": len(times), "p50": pct(times, 50), "p95": pct(times, 95),
            "p99": pct(times, 99), "max": max(times), "with_results": hits}


# --------------------------------------------------------------------- main


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attendees", type=int, default=200_000)
    parser.add_argument("--wards", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=20, help="wrk run length")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--steady-seconds", type=int, default=45)
    parser.add_argument("--searches", type=int, default=400)
    parser.add_argument("--smoke", action="store_true", help="CI: small and quick")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument("--postgres", action="store_true",
                        help="diemcau on PostgreSQL (a fresh database on 127.0.0.1) with "
                             "--workers and Redis; the reference stays SQLite")
    parser.add_argument("--workers", type=int, default=2, help="with --postgres")
    args = parser.parse_args()
    if args.smoke:
        args.attendees, args.wards, args.seconds = 5_000, 20, 3
        args.steady_seconds, args.searches = 3, 60
    return args


@dataclass
class Figures:
    """What one run measured: diemcau and the reference under wrk, steady rate, search."""

    attendees: int
    app_max: dict[str, Any]
    ref_max: dict[str, Any]
    steady: dict[str, Any]
    search: dict[str, Any]


def _measure_app(args: argparse.Namespace, work: Path, env: dict[str, str],
                 rng: random.Random) -> tuple[Figures, list[tuple[str, int, str]], int, str]:
    """Load the roster into a real `diemcau serve`, then wrk, the steady rate and search."""
    port = free_port()
    diemcau = str(Path(sys.executable).parent / "diemcau")
    cmd = [diemcau, "serve", "--port", str(port)]
    if args.postgres:
        cmd += ["--workers", str(args.workers)]
    with process(cmd, env, work / "serve.log", cwd=work) as server:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz", 60, server)
        loaded = load(env["DIEMCAU_DATABASE_URL"], args.attendees, args.wards, rng)
        print(f"loaded {len(loaded.codes):,} attendees in {args.wards} sites "
              f"in {loaded.seconds:.1f} s (service bulk path, passes signed)")
        token = httpx.post(url + "/api/v1/auth/token",
                           data={"username": "admin", "password": ADMIN_PASSWORD}).json()
        auth = f"Bearer {token['access_token']}"
        # Disjoint passes per phase: every phase's first scans are really first.
        split = int(len(loaded.codes) * 0.75)
        max_codes, steady_codes = loaded.codes[:split], loaded.codes[split:]
        wrk_bodies = scan_bodies(max_codes, int(len(max_codes) / (1 - REPEAT_SHARE)), rng, "w")
        steady_bodies = scan_bodies(steady_codes, STEADY_RATE * args.steady_seconds, rng, "s")
        app_max = run_wrk(url + "/api/v1/checkins", wrk_bodies, auth, "/api/v1/checkins",
                          args.seconds, args.connections, work)
        headers = {"Authorization": auth, "Content-Type": "application/json"}
        steady = asyncio.run(_steady(url, steady_bodies, headers, STEADY_RATE,
                                     args.steady_seconds))
        search = search_latency(url, {"Authorization": auth}, loaded, args.searches, rng)
    figures = Figures(len(loaded.codes), app_max, {}, steady, search)
    return figures, max_codes, len(wrk_bodies), auth


def _measure_reference(args: argparse.Namespace, work: Path, env: dict[str, str],
                       codes: list[tuple[str, int, str]], count: int, auth: str) -> dict[str, Any]:
    """The same wrk load against the bare Starlette + INSERT reference."""
    port = free_port()
    cmd = [sys.executable, "-m", "bench.checkin_reference", str(port), str(work / "reference.db")]
    with process(cmd, env, work / "reference.log") as reference:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz", 60, reference)
        bodies = scan_bodies(codes, count, random.Random(7), "r")
        return run_wrk(url + "/checkins", bodies, auth, "/checkins", args.seconds,
                       args.connections, work)


def _report(args: argparse.Namespace, f: Figures) -> dict[str, bool]:
    """Print the figures beside the reference; which targets were met."""
    app_max, ref_max, steady, search = f.app_max, f.ref_max, f.steady, f.search
    ratio = app_max["rate"] / ref_max["rate"]
    print(f"\nCheck-in throughput (wrk -t1 -c{args.connections}, {args.seconds} s, "
          f"{int(REPEAT_SHARE * 100)}% repeats; {os.cpu_count()} cores shared with the generator)")
    store = f"PostgreSQL, {args.workers} workers" if args.postgres else "SQLite"
    for label, r in ((f"diemcau ({store})", app_max), ("reference Starlette+INSERT", ref_max)):
        print(f"  {label:<28} {r['rate']:>8,.0f}/s  p50 {r['p50']:6.1f} ms  p95 {r['p95']:6.1f} ms"
              f"  p99 {r['p99']:6.1f} ms  (201: {r['created']:,}, 200: {r['already']:,}, "
              f"other: {r['other']:,}, socket errors: {r['socket_errors']})")
    print(f"  ratio {ratio:.2f}× the reference (target ≥ {TARGET_RATIO}×)\n")
    print(f"Steady {STEADY_RATE}/s for {steady['seconds']:.0f} s "
          "(open loop, 16 keep-alive connections): "
          f"achieved {steady['rate']:.0f}/s, p50 {steady['p50']:.1f} ms, "
          f"p95 {steady['p95']:.1f} ms, p99 {steady['p99']:.1f} ms, max {steady['max']:.1f} ms "
          f"(target p99 ≤ {TARGET_P99_MS:.0f} ms); statuses {steady['statuses']}; "
          f"generator late p99 {steady['generator_late_p99']:.1f} ms\n")
    print(f"Name search over {f.attendees:,} attendees ({search['queries']} queries via "
          f"HTTP): p50 {search['p50']:.1f} ms, p95 {search['p95']:.1f} ms, "
          f"p99 {search['p99']:.1f} ms, max {search['max']:.1f} ms "
          f"(target p95 ≤ {TARGET_SEARCH_P95_MS:.0f} ms); {search['with_results']} with results")
    print("SQL statements per first check-in: see tests/checkin/test_routes.py "
          "(≤ 5, auth included)")
    served = app_max["created"] + app_max["already"]
    checks = {
        "ratio": ratio >= TARGET_RATIO,
        "p99_at_375": steady["p99"] <= TARGET_P99_MS,
        "search_p95": search["p95"] <= TARGET_SEARCH_P95_MS,
        "all_answers_2xx": app_max["other"] == 0 and served > 0
        and set(steady["statuses"]) <= {200, 201},
    }
    print("targets: " + ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in checks.items()))
    return checks


def main() -> int:
    args = _arguments()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="diemcau-bench-checkin-"))
    env = {**os.environ, "DIEMCAU_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
           "DIEMCAU_SECRET_KEY": SECRET, "DIEMCAU_ADMIN_PASSWORD": ADMIN_PASSWORD,
           "DIEMCAU_ENV": "development", "DIEMCAU_BROKER_URL": "memory://"}
    if args.postgres:
        env |= {"DIEMCAU_DATABASE_URL": fresh_pg("diemcau_bench_checkin"),
                "DIEMCAU_BROKER_URL": "redis://127.0.0.1:6379/12"}
    figures, codes, count, auth = _measure_app(args, work, env, random.Random(20251009))
    figures.ref_max = _measure_reference(args, work, env, codes, count, auth)
    checks = _report(args, figures)
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    if args.smoke:
        # Smoke mode checks the machinery, not the figures (CI machines vary).
        return 0 if checks["all_answers_2xx"] else 1
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
