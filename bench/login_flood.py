"""Login-flood benchmark: check-in p99 at 375/s, quiet and while wrong logins hammer the server.

One `diemcau serve` (SQLite, fresh temp folder, the throttle in the database as in any
deployment without Redis), one run, three kinds of phase of the same length, alternated
in rounds (quiet, flood, spread, quiet, flood, spread, ...) so that a slow spell of the
machine lands on every kind alike:

1. quiet: check-ins at a steady 375/s (open loop, bench.checkin's generator: latency
   counted from each request's scheduled time), nothing else;
2. flood: the same, while a separate attacker process sends 50 wrong logins a second
   (open loop, raw HTTP/1.1 on keep-alive connections) from one address:
   `POST /api/v1/auth/token` and the `/login` form (with its CSRF cookie), cycling over
   ten usernames;
3. spread: the same, with every wrong login for one account coming from a new address
   (`X-Forwarded-For`, which uvicorn trusts from 127.0.0.1 as it trusts the reverse
   proxy): the per-address limit never triggers, the per-account one must.

Every round attacks fresh subjects (its own source address and usernames), so each round
is a new attack with all its free failures and first waits. Each phase uses passes no
earlier phase used (every first scan is really first). The rounds of a kind are pooled.
Target: pooled p99 of each attack kind ≤ 1.5 × the pooled quiet p99; no 5xx anywhere;
the attacker meets 429 (Retry-After) and almost never reaches argon2. Exit code 1 when
missed.

    .venv/bin/python -m bench.login_flood            # 3 rounds of 3 × 10 s, ~2 minutes
    .venv/bin/python -m bench.login_flood --smoke    # CI: one round of 3 s phases
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


class _Answer:
    """One HTTP/1.1 answer read off a keep-alive connection: status and Retry-After."""

    @staticmethod
    async def read(reader: asyncio.StreamReader) -> tuple[int, int]:
        status_line = await reader.readline()
        length, retry_after = 0, 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "retry-after":
                retry_after = int(value)
        await reader.readexactly(length)
        return int(status_line.split()[1]), retry_after


def _request(host: str, path: str, body: str, extra: str) -> bytes:
    data = body.encode()
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"{extra}Content-Length: {len(data)}\r\n\r\n").encode() + data


async def _form_cookie(host: str, port: int, source: str) -> tuple[str, str]:
    """The login form's CSRF field and the cookie it is bound to, fetched once."""
    reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
    writer.write(f"GET /login HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    raw = (await reader.read()).decode("utf-8", "replace")
    writer.close()
    cookies = "; ".join(m.group(1) for m in re.finditer(r"(?im)^set-cookie: ([^;]+)", raw))
    match = re.search(r'name="csrf_token" value="([^"]+)"', raw)
    return (match.group(1) if match else ""), cookies


async def _attack(url: str, rate: float, seconds: float, mode: str, round_no: int,
                  connections: int = 8) -> dict[str, Any]:
    """Open loop: wrong login i is due at start + i/rate, sent on the next free keep-alive
    connection (raw HTTP/1.1, as cheap for this process as bench.checkin's generator, so
    the attacker's own CPU stays out of the server's figure); statuses and answer times
    (from the due time).

    Every round attacks fresh subjects, so each round is a new attack with its free
    failures: `one` sends from its own loopback address (127.0.0.(10 + round)) for ten
    usernames of its own; `spread` sends for one account of its own (`admin` in round 0),
    each attempt from a new forged address (`X-Forwarded-For`, trusted from 127.0.0.1)."""
    host, port = url.removeprefix("http://").split(":")
    source = f"127.0.0.{10 + round_no}" if mode == "one" else "127.0.0.1"
    suffix = f"-{round_no}" if round_no else ""
    names = [n + suffix for n in NAMES]
    csrf, cookie = await _form_cookie(host, int(port), source)
    loop = asyncio.get_running_loop()
    statuses: Counter[int] = Counter()
    times: list[float] = []
    retry_after: list[int] = []
    queue: asyncio.Queue[tuple[bytes, float] | None] = asyncio.Queue()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port), local_addr=(source, 0))
        while (job := await queue.get()) is not None:
            payload, due = job
            writer.write(payload)
            status, wait = await _Answer.read(reader)
            statuses[status] += 1
            times.append((loop.time() - due) * 1000)
            if status == 429:
                retry_after.append(wait)
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    start = loop.time() + 0.2
    for i in range(int(rate * seconds)):
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        name = names[0] if mode == "spread" else names[i % len(names)]
        extra = (f"X-Forwarded-For: 10.{round_no}.{i // 256 % 256}.{i % 256}\r\n"
                 if mode == "spread" else "")
        form = f"username={name}&password=guess-{i}"
        if i % 4 == 3:  # a quarter through the HTML form, as a browser would
            payload = _request(host, "/login", f"{form}&csrf_token={csrf}",
                               f"{extra}Cookie: {cookie}\r\n")
        else:
            payload = _request(host, "/api/v1/auth/token", form, extra)
        queue.put_nowait((payload, due))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return {"sent": sum(statuses.values()), "statuses": dict(statuses),
            "p50": pct(times, 50), "p99": pct(times, 99),
            "retry_after_min": min(retry_after, default=0)}


def _attacker_main(argv: list[str]) -> int:
    url, rate, seconds, mode, round_no = argv
    result = asyncio.run(_attack(url, float(rate), float(seconds), mode, int(round_no)))
    print("RESULT " + json.dumps(result), flush=True)
    return 0


# --------------------------------------------------------------------- phases


def _phase(url: str, bodies: list[str], headers: dict[str, str], seconds: int,
           attack: str | None, round_no: int, work: Path) -> dict[str, Any]:
    """Check-ins at 375/s for `seconds`, with an attacker process running alongside."""
    attacker = None
    log = work / f"attacker-{attack}-{round_no}.log"
    if attack is not None:
        # The attacker starts first and runs a little longer: the whole check-in window
        # is under attack, its warm-up included.
        cmd = [sys.executable, "-m", "bench.login_flood", "--attacker", url,
               str(ATTACK_RATE), str(seconds + 2), attack, str(round_no)]
        with log.open("w") as out:
            attacker = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                        env={**os.environ, "PYTHONPATH": str(ROOT)})
        time.sleep(1.0)
    result = asyncio.run(_steady(url, bodies, headers, STEADY_RATE, seconds))
    if attacker is not None:
        attacker.wait(timeout=120)
        text = log.read_text()
        line = next((x for x in text.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            raise RuntimeError(f"attacker failed:\n{text[-2000:]}")
        result["attack"] = json.loads(line[len("RESULT "):])
    return result


def _pool(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One phase's rounds as one sample: latencies, statuses and attack counts added up."""
    latencies = [x for r in rounds for x in r["latencies"]]
    statuses: Counter[int] = Counter()
    for r in rounds:
        statuses.update(r["statuses"])
    pooled = {"rate": sum(r["rate"] for r in rounds) / len(rounds),
              "p50": pct(latencies, 50), "p95": pct(latencies, 95), "p99": pct(latencies, 99),
              "max": max(latencies), "statuses": dict(statuses),
              "round_p99": [r["p99"] for r in rounds]}
    if "attack" in rounds[0]:
        attack: Counter[str] = Counter()
        for r in rounds:
            attack.update(r["attack"]["statuses"])
        pooled["attack"] = {
            "sent": sum(r["attack"]["sent"] for r in rounds), "statuses": dict(attack),
            "p50": max(r["attack"]["p50"] for r in rounds),
            "p99": max(r["attack"]["p99"] for r in rounds),
            "retry_after_min": min(r["attack"]["retry_after_min"] for r in rounds)}
    return pooled


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attendees", type=int, default=40_000)
    parser.add_argument("--wards", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=10, help="length of one phase")
    parser.add_argument("--rounds", type=int, default=3,
                        help="quiet, flood and spread phases run this many times, alternated")
    parser.add_argument("--smoke", action="store_true", help="CI: small and quick")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    if args.smoke:
        args.attendees, args.wards, args.seconds, args.rounds = 4_000, 10, 3, 1
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


def _report(phases: dict[str, dict[str, Any]], seconds: int, rounds: int) -> dict[str, bool]:
    quiet = phases["quiet"]
    print(f"\nCheck-ins at {STEADY_RATE}/s, {rounds} round(s) of quiet, flood and spread, "
          f"{seconds} s each (open loop, 16 keep-alive connections); attack "
          f"{ATTACK_RATE} wrong logins/s from a separate process, fresh subjects every round")
    for label, r in phases.items():
        print(_line(label, r))
        print(f"           p99 per round: {', '.join(f'{x:.1f}' for x in r['round_p99'])} ms")
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
        kinds = (("quiet", None), ("flood", "one"), ("spread", "spread"))
        share = len(loaded.codes) // (3 * args.rounds)
        runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in kinds}
        # Alternated rounds: a slow spell of the machine lands on every kind alike, not
        # on whichever phase happened to run then.
        for round_no in range(args.rounds):
            for k, (label, attack) in enumerate(kinds):
                n = round_no * 3 + k
                codes = loaded.codes[n * share:(n + 1) * share]
                bodies = scan_bodies(codes, STEADY_RATE * args.seconds, rng, f"{label}{round_no}")
                runs[label].append(_phase(url, bodies, headers, args.seconds, attack, round_no,
                                          work))
    phases = {label: _pool(r) for label, r in runs.items()}
    checks = _report(phases, args.seconds, args.rounds)
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
