"""Site pages and dashboard with 31,000 sites: the registry build against the build before it.

One run starts two `diemcau serve` subprocesses, each on a fresh SQLite file: (a) this tree,
(b) the build before the site registry (git revision 0976415, checked out by the bench with
`git worktree add --detach` into a temporary folder and removed at the end; same venv
python, PYTHONPATH and cwd = that tree). Both are loaded identically through HTTP contracts
they share: a conference, a site tree imported as one CSV (POST …/sites/import: central,
34 hubs, communes and wards under the hubs, departments below them; Vietnamese names),
attendees (POST …/attendees) and check-ins (POST /api/v1/checkins) so the dashboard has
numbers. In this tree the import creates registry sites and invites them.

Then every request below is sent N times per build, sequentially on one keep-alive httpx
client per build, after a warm-up, alternating the builds request by request so a busy
machine slows both alike: the JSON site list (first page, a name search, a hub's
subtree, a deep offset), one site, the HTML site tree (admin logged in with the cookie
flow the pages use) and site pages, attendance, the dashboard snapshot and its site rows,
and the time from opening /ws/dashboard to its first message. A request that does not
answer 200 on both builds is reported as not shared and not measured.

    .venv/bin/python -m bench.registry_pages                 # 31,000 sites, 50 requests each
    .venv/bin/python -m bench.registry_pages --sites 3356 --requests 20
    .venv/bin/python -m bench.registry_pages --smoke         # CI: 600 sites, 5 requests

Exit code 1 if a request fails, the builds disagree on the loaded data, or (full runs only)
a request's p50 after/before exceeds 1.5×.
"""

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import websockets

from app.db import local_today
from app.security import SESSION_COOKIE
from bench.import_sites import PROVINCES, SYLLABLES, to_csv
from bench.procs import ROOT, RssSampler, free_port, pct, process, rss_kb, wait_http

BEFORE_REVISION = "0976415"
ADMIN_PASSWORD = "bench-admin-password"
SEARCH_WORD = "phuoc"  # "Phước" without its accents: both builds search diacritics-free
RATIO_LIMIT = 1.5
COMMUNE_LEVEL = 3_321


def site_rows(total: int) -> list[list[str]]:
    """CSV rows: central, 34 hubs, communes and wards under the hubs, departments below."""
    rows = [["TW", "Hội trường Trung ương", "trung tâm", "", "Hội trường Diên Hồng",
             "Nguyễn Văn An", "0243 123 4567", "400"]]
    rows += [[code, f"Điểm cầu {name}", "tỉnh", "TW", "Hội trường Tỉnh ủy", "Trần Thị Bình",
              f"09{n:08d}", "150"] for n, (code, name) in enumerate(PROVINCES)]
    rest = max(0, total - len(rows))
    # The national share of communes and wards at 31,000 sites, the same share below.
    units = min(rest, COMMUNE_LEVEL, max(1, rest * COMMUNE_LEVEL // 30_965))
    width = len(SYLLABLES)
    unit_codes: list[str] = []
    for n in range(units):
        hub = PROVINCES[n % len(PROVINCES)][0]
        kind, label = ("phường", "phường") if n % 5 == 0 else ("xã", "xã")
        place = f"{SYLLABLES[n % width]} {SYLLABLES[(n // width) % width]}"
        code = f"{hub}-U{n:05d}"
        unit_codes.append(code)
        rows.append([code, f"Đảng ủy {label} {place} {n}", kind, hub, "Phòng họp trực tuyến",
                     "Lê Văn Cường", f"9{n:08d}", str(10 + n % 90)])
    for n in range(rest - units):
        # Two in three under a commune or ward, the rest straight under a hub.
        parent = (unit_codes[n % len(unit_codes)] if n % 3 and unit_codes
                  else PROVINCES[n % len(PROVINCES)][0])
        place = f"{SYLLABLES[(n * 7) % width]} {SYLLABLES[(n // width) % width]}"
        rows.append([f"D{n:06d}", f"Ban công tác {place} {n}", "department", parent,
                     "Phòng họp", "Phạm Thị Dung", f"8{n:08d}", "5"])
    return rows


# ------------------------------------------------------------------ servers


@dataclass
class Build:
    """One server under test and what the load left for the measurements."""

    name: str
    tree: Path
    base: str = ""
    pid: int = 0
    token: str = ""
    api: httpx.Client | None = None
    pages: httpx.Client | None = None
    conference_id: int = 0
    hub_id: int = 0
    leaf_id: int = 0
    totals: dict[str, Any] = field(default_factory=dict)
    load_seconds: float = 0.0
    rss_loaded_kb: int = 0
    rss: RssSampler | None = None


@contextmanager
def before_tree(tmp: Path) -> Iterator[Path]:
    """A detached worktree of the build before the registry, removed on the way out."""
    tree = tmp / "before"
    found = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e",
                            f"{BEFORE_REVISION}^{{commit}}"], capture_output=True, check=False)
    if found.returncode != 0:
        raise SystemExit(f"revision {BEFORE_REVISION} is not in this clone (shallow?)")
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree),
                    BEFORE_REVISION], check=True, capture_output=True)
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                       check=False, capture_output=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=False,
                       capture_output=True)


@contextmanager
def serve(build: Build, tmp: Path) -> Iterator[Build]:
    """`diemcau serve` of `build.tree` on its own SQLite file; logged in for API and pages."""
    port = free_port()
    data = tmp / build.name
    data.mkdir()
    env = {**os.environ, "PYTHONPATH": str(build.tree),
           "DIEMCAU_DATABASE_URL": f"sqlite:///{data / 'bench.db'}",
           "DIEMCAU_DATA_DIR": str(data / "var"), "DIEMCAU_ADMIN_PASSWORD": ADMIN_PASSWORD,
           "DIEMCAU_ENV": "development"}
    cmd = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    with process(cmd, env, data / "server.log", cwd=build.tree) as proc:
        build.base, build.pid = f"http://127.0.0.1:{port}", proc.pid
        wait_http(f"{build.base}/healthz", 60, proc)
        r = httpx.post(f"{build.base}/api/v1/auth/token",
                       data={"username": "admin", "password": ADMIN_PASSWORD})
        r.raise_for_status()
        build.token = r.json()["access_token"]
        with httpx.Client(base_url=build.base, timeout=600,
                          headers={"Authorization": f"Bearer {build.token}"}) as api, \
                httpx.Client(base_url=build.base, timeout=600) as pages:
            build.api, build.pages = api, pages
            _page_login(pages)
            yield build


def _page_login(pages: httpx.Client) -> None:
    """The browser's way in: the login form carries its CSRF token (bound to the
    anonymous cookie the page sets), the post sets the session cookie."""
    form = pages.get("/login")
    form.raise_for_status()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, "the login form carries its CSRF token"
    r = pages.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                   "csrf_token": token.group(1)})
    assert r.status_code == 303 and SESSION_COOKIE in pages.cookies, r.text[:300]


# ------------------------------------------------------------------ loading


def _ok(r: httpx.Response, status: int = 200) -> Any:
    if r.status_code != status:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} "
                           f"{r.text[:300]}")
    return r.json()


def load(build: Build, csv_data: bytes, *, attendees: int, checkins: int) -> None:
    """The same conference, sites, attendees and check-ins, through the shared API."""
    api = build.api
    assert api is not None
    started = time.perf_counter()
    today = local_today()  # live today: check-ins go to the conference current at a site
    conference = _ok(api.post("/api/v1/conferences", json={
        "title": "Hội nghị toàn quốc (đo trang điểm cầu)",
        "starts_on": (today - timedelta(days=1)).isoformat(),
        "ends_on": (today + timedelta(days=1)).isoformat()}), 201)
    cid = build.conference_id = conference["id"]
    _ok(api.post(f"/api/v1/conferences/{cid}/sites/import",
                 files={"file": ("diem-cau.csv", csv_data, "text/csv")}), 201)
    build.hub_id = _ok(api.get(f"/api/v1/conferences/{cid}/sites",
                               params={"kind": "hub", "limit": 100}))[0]["id"]
    units = _ok(api.get(f"/api/v1/conferences/{cid}/sites",
                        params={"kind": "commune", "limit": 500}))
    leaves = api.get(f"/api/v1/conferences/{cid}/sites", params={"kind": "department",
                                                                  "limit": 1})
    build.leaf_id = (_ok(leaves) or units)[0]["id"]
    people = [{"full_name": f"Nguyễn Văn Đại biểu {n}", "site_id": units[n % len(units)]["id"]}
              for n in range(attendees)]
    created: list[dict[str, Any]] = []
    for start in range(0, len(people), 5_000):
        created += _ok(api.post(f"/api/v1/conferences/{cid}/attendees",
                                json=people[start:start + 5_000]), 201)
    for person in created[:checkins]:
        _ok(api.post("/api/v1/checkins", json={"code": person["short_code"],
                                               "site_id": person["site_id"]}), 201)
    build.load_seconds = time.perf_counter() - started
    sites = api.get(f"/api/v1/conferences/{cid}/sites", params={"limit": 1})
    build.totals = {"sites": int(sites.headers["X-Total-Count"]),
                    **_ok(api.get(f"/api/v1/conferences/{cid}/dashboard"))["totals"]}


# ------------------------------------------------------------------ measuring


@dataclass
class Probe:
    label: str
    client: str  # "api" (bearer) or "pages" (login cookie)
    path: str  # {cid}, {hub}, {leaf} filled in per build


def probes(sites: int) -> list[Probe]:
    """The requests measured, in the order printed."""
    deep = max(0, min(30_000, sites - 100))
    return [
        Probe("API sites ?limit=100", "api", "/api/v1/conferences/{cid}/sites?limit=100"),
        Probe(f"API sites ?q={SEARCH_WORD}", "api",
              f"/api/v1/conferences/{{cid}}/sites?q={SEARCH_WORD}&limit=100"),
        Probe("API sites ?under_id=<hub>", "api",
              "/api/v1/conferences/{cid}/sites?under_id={hub}&limit=100"),
        Probe(f"API sites ?offset={deep}", "api",
              f"/api/v1/conferences/{{cid}}/sites?limit=100&offset={deep}"),
        Probe("API sites/{id} (department)", "api", "/api/v1/sites/{leaf}"),
        Probe("API sites/{id} (hub)", "api", "/api/v1/sites/{hub}"),
        Probe("page conferences/{id}/sites", "pages", "/conferences/{cid}/sites"),
        Probe(f"page …/sites?q={SEARCH_WORD}", "pages",
              f"/conferences/{{cid}}/sites?q={SEARCH_WORD}"),
        Probe("page sites/{id} (department)", "pages", "/sites/{leaf}"),
        Probe("page sites/{id} (hub)", "pages", "/sites/{hub}"),
        Probe("API attendance", "api", "/api/v1/conferences/{cid}/attendance"),
        Probe("API dashboard", "api", "/api/v1/conferences/{cid}/dashboard"),
        Probe("API dashboard/sites ?limit=500", "api",
              "/api/v1/conferences/{cid}/dashboard/sites?limit=500"),
    ]


@dataclass
class Row:
    label: str
    times: dict[str, list[float]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    skipped: str = ""


def _path(probe: Probe, build: Build) -> str:
    return probe.path.format(cid=build.conference_id, hub=build.hub_id, leaf=build.leaf_id)


def _client(probe: Probe, build: Build) -> httpx.Client:
    client = build.api if probe.client == "api" else build.pages
    assert client is not None
    return client


def measure_http(probe: Probe, builds: list[Build], n: int) -> Row:
    """Warm up, then `n` requests per build, alternating builds (and who goes first)."""
    row = Row(probe.label, {b.name: [] for b in builds})
    for b in builds:
        r = _client(probe, b).get(_path(probe, b))
        row.sizes[b.name] = len(r.content)
        if r.status_code != 200:
            row.skipped += f"{b.name}: {r.status_code} "
    if row.skipped:
        return row
    for i in range(n):
        for b in builds if i % 2 == 0 else builds[::-1]:
            client, path = _client(probe, b), _path(probe, b)
            t = time.perf_counter()
            r = client.get(path)
            row.times[b.name].append(time.perf_counter() - t)
            if r.status_code != 200:
                raise RuntimeError(f"{b.name} {path}: {r.status_code} {r.text[:200]}")
    return row


async def _first_message(url: str) -> float:
    t = time.perf_counter()
    async with websockets.connect(url, max_size=2**24) as ws:
        await asyncio.wait_for(ws.recv(), 30)
        return time.perf_counter() - t


async def _measure_ws(builds: list[Build], n: int) -> Row:
    row = Row("ws/dashboard open → first message", {b.name: [] for b in builds})
    urls = {b.name: f"{b.base.replace('http://', 'ws://')}/ws/dashboard?"
                    f"conference_id={b.conference_id}&token={b.token}" for b in builds}
    for b in builds:
        await _first_message(urls[b.name])  # warm-up
    for i in range(n):
        for b in builds if i % 2 == 0 else builds[::-1]:
            row.times[b.name].append(await _first_message(urls[b.name]))
    return row


# ------------------------------------------------------------------ report


def _ms(values: list[float], p: float) -> float:
    return pct(values, p) * 1000


def report(rows: list[Row], builds: list[Build], n: int) -> list[str]:
    """Print the table; the labels whose p50 after/before exceeds the limit."""
    before, after = builds[0].name, builds[1].name
    slow: list[str] = []
    print(f"\n{n} requests per build and request, sequential, keep-alive; ms")
    print(f"| request | {before} p50 | p95 | {after} p50 | p95 | after/before p50 | p95 |"
          " bytes before / after |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        if row.skipped:
            print(f"| {row.label} | not shared ({row.skipped.strip()}) | | | | | | |")
            continue
        b50, b95 = _ms(row.times[before], 50), _ms(row.times[before], 95)
        a50, a95 = _ms(row.times[after], 50), _ms(row.times[after], 95)
        ratio = a50 / b50 if b50 else float("inf")
        flag = " **" if ratio > RATIO_LIMIT else ""
        if flag:
            slow.append(row.label)
        sizes = (f"{row.sizes[before]:,} / {row.sizes[after]:,}" if row.sizes else "")
        print(f"| {row.label} | {b50:.1f} | {b95:.1f} | {a50:.1f} | {a95:.1f} | "
              f"{ratio:.2f}×{flag} | {a95 / b95 if b95 else float('inf'):.2f}× | {sizes} |")
    for b in builds:
        assert b.rss is not None
        peak = max((kb for _, kb in b.rss.samples), default=0)
        print(f"{b.name}: load {b.load_seconds:.1f} s; server RSS after load "
              f"{b.rss_loaded_kb / 1024:.1f} MiB, max while measured {peak / 1024:.1f} MiB")
    return slow


def run(args: argparse.Namespace) -> int:
    csv_data = to_csv(site_rows(args.sites))
    print(f"{args.sites:,} sites ({len(csv_data) / 1024:.0f} KiB CSV), {args.attendees:,} "
          f"attendees, {args.checkins:,} check-ins; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="diemcau-pagebench-") as tmp, ExitStack() as stack:
        tmpdir = Path(tmp)
        old = stack.enter_context(before_tree(tmpdir))
        builds = [stack.enter_context(serve(Build(f"before ({BEFORE_REVISION})", old), tmpdir)),
                  stack.enter_context(serve(Build("after (this tree)", ROOT), tmpdir))]
        for b in builds:
            load(b, csv_data, attendees=args.attendees, checkins=args.checkins)
            b.rss_loaded_kb = rss_kb(b.pid)
            print(f"{b.name}: loaded in {b.load_seconds:.1f} s: {b.totals}", flush=True)
        registry = [b.api.get("/api/v1/registry/sites?limit=1").status_code
                    for b in builds if b.api is not None]
        print(f"GET /api/v1/registry/sites: before {registry[0]}, after {registry[1]} "
              "(the before build is the code before the registry)")
        # Every total the old build gives must match; totals added since (e.g.
        # sites_ready_offline) are not in the old build to compare with.
        same = all(builds[1].totals.get(k) == v for k, v in builds[0].totals.items())
        for b in builds:
            b.rss = stack.enter_context(RssSampler(b.pid))
        rows = [measure_http(p, builds, args.requests) for p in probes(args.sites)]
        rows.append(asyncio.run(_measure_ws(builds, args.requests)))
        slow = report(rows, builds, args.requests)
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"both builds hold the same data: {same}")
    if slow:
        print(f"after/before p50 over {RATIO_LIMIT}×: {', '.join(slow)}")
    ok = same and (args.smoke or not slow)
    print("\nRESULT:", "all targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=31_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--attendees", type=int, default=3_000)
    parser.add_argument("--checkins", type=int, default=600)
    parser.add_argument("--smoke", action="store_true",
                        help="CI: 600 sites, 5 requests, 200 attendees, 50 check-ins")
    args = parser.parse_args()
    if args.smoke:
        args.sites, args.requests, args.attendees, args.checkins = 600, 5, 200, 50
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
