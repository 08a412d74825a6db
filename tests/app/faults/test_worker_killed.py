"""A worker killed with SIGKILL under check-in load (two workers, one SQLite file): every
answered check-in is stored once, a scanner's retry with its nonce gets the same answer,
and the file passes `PRAGMA integrity_check`."""

import os
import signal
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import httpx

from app.db import local_today
from app.serve import WORKER_HEALTHCHECK_SECONDS
from tests.app.faults.serving import admin_client, redis_url, serve_env, served

PEOPLE = 150
SCANNERS = 6
PACE = 0.1  # seconds between a scanner's scans: ~3.5 s of load in all


@dataclass
class Scan:
    code: str
    nonce: str
    site_id: int
    status: int = 0
    body: dict[str, Any] = field(default_factory=dict)
    cut_off: int = 0  # answers lost to the killed worker, then retried with the nonce


def _post(http: httpx.Client, scan: Scan) -> httpx.Response:
    return http.post("/api/v1/checkins", json={
        "code": scan.code, "site_id": scan.site_id, "nonce": scan.nonce, "device": "may-quet"})


def _scanner(base: str, headers: dict[str, str], todo: "Queue[Scan]", busy: list[float],
             me: int) -> None:
    """One scanning phone on one kept-alive connection (so it sits on one worker, which
    a freeze then surely holds up); a scan cut off by the kill (or answered 503) is sent
    again with the same nonce, on a new connection, until answered."""
    with httpx.Client(base_url=base, headers=headers, timeout=5,
                      limits=httpx.Limits(max_keepalive_connections=1)) as http:
        while True:
            try:
                scan = todo.get_nowait()
            except Empty:
                return
            deadline = time.monotonic() + 30
            while not scan.status:
                busy[me] = time.monotonic()
                try:
                    r = _post(http, scan)
                    if r.status_code == 503:  # the database busy past its timeout: retry
                        raise httpx.TransportError(r.text)
                    scan.status, scan.body = r.status_code, r.json()
                except httpx.TransportError:
                    scan.cut_off += 1
                    assert time.monotonic() < deadline, "no answer 30 s after the kill"
                    time.sleep(0.1)
                finally:
                    busy[me] = 0.0
            # A scanning desk's pace: the burst outlasts a freeze of the worker that
            # holds none of the scanners (the other one would drain the queue meanwhile).
            time.sleep(PACE)


def _arrange(http: httpx.Client) -> list[Scan]:
    """Today's conference, one ward, PEOPLE attendees; every pass scanned once, and a
    third of them a second time by another phone (nonce of its own)."""
    today = local_today().isoformat()
    cid = http.post("/api/v1/conferences", json={
        "title": "Hội nghị", "starts_on": today, "ends_on": today}).json()["id"]
    site = http.post(f"/api/v1/conferences/{cid}/sites",
                     json={"name": "Phường Bến Nghé", "kind": "ward"}).json()["id"]
    r = http.post(f"/api/v1/conferences/{cid}/attendees", json=[
        {"full_name": f"Nguyễn Văn Số {i}", "site_id": site} for i in range(PEOPLE)])
    assert r.status_code == 201, r.text
    codes = [a["short_code"] for a in r.json()]
    scans = [Scan(code, f"a-{i}", site) for i, code in enumerate(codes)]
    scans += [Scan(code, f"b-{i}", site) for i, code in enumerate(codes) if i % 3 == 0]
    return scans


def _kill_one_worker_mid_load(pids: list[int], scans: list[Scan], busy: list[float]) -> int:
    """SIGKILL a worker while it holds a scan: freeze it first (SIGSTOP) until a scanner
    is seen waiting on it, so the kill surely cuts requests off mid-way. The workers are
    tried in turn (the scanners' kept-alive connections may all be on one); the killed
    worker's pid is returned."""
    deadline = time.monotonic() + 30
    while sum(1 for s in scans if s.status) < len(scans) // 10:
        assert time.monotonic() < deadline, "the load did not get going"
        time.sleep(0.005)
    for attempt in range(10):
        pid = pids[attempt % len(pids)]
        os.kill(pid, signal.SIGSTOP)
        frozen = time.monotonic()
        while time.monotonic() - frozen < 1.5:
            now = time.monotonic()
            if any(since and now - since > 0.5 for since in busy):
                os.kill(pid, signal.SIGKILL)  # the child, not the supervisor
                assert sum(1 for s in scans if s.status) < len(scans), "killed after the load"
                return pid
            time.sleep(0.01)
        os.kill(pid, signal.SIGCONT)  # it held no scan: let it work, try again
        time.sleep(0.05)
    raise AssertionError("no scan ever reached the worker to kill")


def test_worker_killed_mid_checkin_burst_loses_and_doubles_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    env = serve_env(sqlite_url, redis_url())
    with served(env, tmp_path, workers=2) as server, admin_client(server.url) as http:
        scans = _arrange(http)
        pids = server.worker_pids()
        assert len(pids) == 2, pids
        todo: Queue[Scan] = Queue()
        for scan in scans:
            todo.put(scan)
        busy = [0.0] * SCANNERS
        threads = [threading.Thread(target=_scanner,
                                    args=(server.url, dict(http.headers), todo, busy, me))
                   for me in range(SCANNERS)]
        for thread in threads:
            thread.start()
        killed = _kill_one_worker_mid_load(pids, scans, busy)
        for thread in threads:
            thread.join(timeout=60)
        assert all(s.status in (200, 201) for s in scans), Counter(s.status for s in scans)
        # Each pass counted once: one first answer, the other phone's scan "already".
        firsts = Counter(s.code for s in scans if s.status == 201)
        assert set(firsts.values()) == {1} and len(firsts) == PEOPLE
        # A scanner that retries with its nonce (lost answer, app restarted) gets the
        # same answer again: the same record, from either worker.
        for scan in scans:
            again = _post(http, scan)
            assert again.status_code == scan.status, (scan, again.text)
            for key in ("attendee", "checked_in_at", "site_id", "session_id"):
                assert again.json()[key] == scan.body[key], (key, scan, again.text)
        assert any(s.cut_off for s in scans)  # the kill did cut answers off
        assert server.healthy()  # the supervisor and the other worker serve on
        # The supervisor may first wait out a busy worker's health-check ping.
        deadline = time.monotonic() + WORKER_HEALTHCHECK_SECONDS + 20
        while len(set(server.worker_pids()) - {killed}) < 2:  # a new worker replaces it
            assert time.monotonic() < deadline, server.worker_pids()
            time.sleep(0.1)
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = db.execute("SELECT attendee_id, session_key FROM attendance").fetchall()
    answered = {s.body["attendee"]["id"] for s in scans}
    assert len(rows) == len(set(rows)) == PEOPLE  # none twice, none lost
    assert {attendee for attendee, _ in rows} == answered
