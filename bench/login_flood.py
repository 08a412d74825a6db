"""Login-flood benchmark: check-in p99 at 375/s, quiet and while wrong logins hammer the server.

One `diemcau serve` (SQLite, fresh temp folder, the throttle in the database as in any
deployment without Redis), one run, three phases of the same length:

1. quiet: check-ins at a steady 375/s (open loop, bench.checkin's generator: latency
   counted from each request's scheduled time), nothing else;
2. flood: the same, while a separate attacker process sends 50 wrong logins a second
   (open loop, its own connections) from one address: `POST /api/v1/auth/token` and the
   `/login` form (with its CSRF cookie), cycling over the admin account and other names;
3. spread: the same, with every wrong login for the admin account coming from a new
   address (`X-Forwarded-For`, which uvicorn trusts from 127.0.0.1 as it trusts the
   reverse proxy): the per-address limit never triggers, the per-account one must.

Each phase uses passes no earlier phase used (every first scan is really first).
Target: p99 of each attack phase ≤ 1.5 × the quiet p99; no 5xx anywhere; the attacker
meets 429 (Retry-After) and almost never reaches argon2. Exit code 1 when missed.

    .venv/bin/python -m bench.login_flood            # full run, ~2 minutes
    .venv/bin/python -m bench.login_flood --smoke    # CI: a few seconds per phase
"""

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.checkin import ADMIN_PASSWORD, SECRET, STEADY_RATE, _steady, load, scan_bodies
from bench.procs import ROOT, free_port, pct, process, wait_http

ATTACK_RATE = 50
TARGET_FACTOR = 1.5
NAMES = ["admin", "root", "hcm", "hn", "dn", "operator", "test", "user", "btc", "vanphong"]


# ------------------------------------------------------------------ the attacker


async def _attack(url: str, rate: float, seconds: float, spread: bool) -> dict[str, Any]:
    """Open loop: wrong login i is due at start + i/rate, on its own task; statuses and
    answer times (from the due time)."""
    statuses: Counter[int] = Counter()
    times: list[float] = []
    retry_after: list[int] = []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        page = await client.get("/login")
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        form_token = match.group(1) if match else ""
        loop = asyncio.get_running_loop()

        async def one(i: int, due: float) -> None:
            name = "admin" if spread else NAMES[i % len(NAMES)]
            headers = {"X-Forwarded-For": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
                       } if spread else {}
            data = {"username": name, "password": f"guess-{i}"}
            if i % 4 == 3:  # a quarter through the HTML form, as a browser would
                r = await client.post("/login", data={**data, "csrf_token": form_token},
                                      headers=headers)
            else:
                r = await client.post("/api/v1/auth/token", data=data, headers=headers)
            statuses[r.status_code] += 1
            times.append((loop.time() - due) * 1000)
            if r.status_code == 429:
                retry_after.append(int(r.headers.get("retry-after", "0")))

        start = loop.time() + 0.2
        tasks = []
        for i in range(int(rate * seconds)):
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
    return {"sent": sum(statuses.values()), "statuses": dict(statuses),
            "p50": pct(times, 50), "p99": pct(times, 99),
            "retry_after_min": min(retry_after, default=0)}


def _attacker_main(argv: list[str]) -> int:
    url, rate, seconds, spread = argv[0], float(argv[1]), float(argv[2]), argv[3] == "spread"
    print("RESULT " + json.dumps(asyncio.run(_attack(url, rate, seconds, spread))), flush=True)
    return 0


# --------------------------------------------------------------------- phases


def _phase(url: str, bodies: list[str], headers: dict[str, str], seconds: int,
           attack: str | None, work: Path) -> dict[str, Any]:
    """Check-ins at 375/s for `seconds`, with an attacker process running alongside."""
    attacker = None
    if attack is not None:
        # The attacker starts first and runs a little longer: the whole check-in window
        # is under attack, its warm-up included.
        cmd = [sys.executable, "-m", "bench.login_flood", "--attacker", url,
               str(ATTACK_RATE), str(seconds + 2), attack]
        out = (work / f"attacker-{attack}.log").open("w")
        attacker = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                    env={**os.environ, "PYTHONPATH": str(ROOT)})
        time.sleep(1.0)
    result = asyncio.run(_steady(url, bodies, headers, STEADY_RATE, seconds))
    if attacker is not None:
        attacker.wait(timeout=120)
        text = (work / f"attacker-{attack}.log").read_text()
        line = next((x for x in text.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            raise RuntimeError(f"attacker failed:\n{text[-2000:]}")
        result["attack"] = json.loads(line[len("RESULT "):])
    return result


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attendees", type=int, default=40_000)
    parser.add_argument("--wards", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=25, help="length of each phase")
    parser.add_argument("--smoke", action="store_true", help="CI: small and quick")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    if args.smoke:
        args.attendees, args.wards, args.seconds = 4_000, 10, 3
    return args


def _line(label: str, r: dict[str, Any]) -> str:
    text = (f"  {label:<8} achieved {r['rate']:.0f}/s  p50 {r['p50']:6.1f} ms  "
            f"p95 {r['p95']:6.1f} ms  p99 {r['p99']:6.1f} ms  max {r['max']:7.1f} ms  "
            f"statuses {r['statuses']}")
    if "attack" in r:
        a = r["attack"]
        text += (f"\n           attacker: {a['sent']} wrong logins, statuses {a['statuses']}, "
                 f"answer p50 {a['p50']:.1f} ms p99 {a['p99']:.1f} ms, "
                 f"smallest Retry-After {a['retry_after_min']} s")
    return text


def _report(phases: dict[str, dict[str, Any]], seconds: int) -> dict[str, bool]:
    quiet = phases["quiet"]
    print(f"\nCheck-ins at {STEADY_RATE}/s for {seconds} s per phase (open loop, 16 keep-alive "
          f"connections); attack {ATTACK_RATE} wrong logins/s from a separate process")
    for label, r in phases.items():
        print(_line(label, r))
    checks: dict[str, bool] = {}
    for label in ("flood", "spread"):
        r = phases[label]
        factor = r["p99"] / quiet["p99"]
        print(f"  {label}: p99 {factor:.2f}× the quiet p99 (target ≤ {TARGET_FACTOR}×)")
        checks[f"{label}_p99"] = factor <= TARGET_FACTOR
        attack = r["attack"]["statuses"]
        checks[f"{label}_meets_429"] = attack.get("429", 0) > 0.9 * r["attack"]["sent"]
        checks[f"{label}_no_5xx"] = not any(int(s) >= 500 for s in attack)
    checks["checkins_2xx"] = all(set(r["statuses"]) <= {200, 201} for r in phases.values())
    print("targets: " + ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in checks.items()))
    return checks


def main() -> int:
    args = _arguments()
    work = Path(tempfile.mkdtemp(prefix="diemcau-bench-login-"))
    env = {**os.environ, "DIEMCAU_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
           "DIEMCAU_SECRET_KEY": SECRET, "DIEMCAU_ADMIN_PASSWORD": ADMIN_PASSWORD,
           "DIEMCAU_ENV": "development", "DIEMCAU_BROKER_URL": "memory://",
           "DIEMCAU_DATA_DIR": str(work / "var")}
    port = free_port()
    cmd = [str(Path(sys.executable).parent / "diemcau"), "serve", "--port", str(port)]
    rng = random.Random(20261202)
    with process(cmd, env, work / "serve.log", cwd=work) as server:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz", 60, server)
        loaded = load(env["DIEMCAU_DATABASE_URL"], args.attendees, args.wards, rng)
        print(f"loaded {len(loaded.codes):,} attendees in {loaded.seconds:.1f} s")
        token = httpx.post(url + "/api/v1/auth/token",
                           data={"username": "admin", "password": ADMIN_PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}",
                   "Content-Type": "application/json"}
        third = len(loaded.codes) // 3
        phases: dict[str, dict[str, Any]] = {}
        for n, (label, attack) in enumerate((("quiet", None), ("flood", "one"),
                                             ("spread", "spread"))):
            codes = loaded.codes[n * third:(n + 1) * third]
            bodies = scan_bodies(codes, STEADY_RATE * args.seconds, rng, label)
            phases[label] = _phase(url, bodies, headers, args.seconds, attack, work)
    checks = _report(phases, args.seconds)
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores; the generator and the attacker share them)")
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    if args.smoke:
        # Smoke mode checks the machinery, not the figures (CI machines vary).
        return 0 if checks["checkins_2xx"] and checks["flood_no_5xx"] else 1
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--attacker":
        sys.exit(_attacker_main(sys.argv[2:]))
    sys.exit(main())
