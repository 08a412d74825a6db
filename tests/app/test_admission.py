"""Admission control: a storm of new sockets is shed with 1013 and when to come back."""

import asyncio
import contextlib
import re
import resource
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.admission import (
    CLOSE_TRY_AGAIN_LATER,
    FULL_WAIT,
    Admission,
    LagWatch,
    Ticket,
    automatic_max_open,
    queued_seconds,
    raise_open_file_limit,
    request_age,
)
from app.db import local_today
from app.main import create_app
from app.serve import granted_backlog, run_server
from tests.browser import _free_port, _wait_healthy
from tests.conftest import ADMIN_PASSWORD, make_settings


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _gate(clock: Clock, *, per_second: float = 10, burst: int = 5, max_pending: int = 0,
          max_open: int = 0, retry_max: int = 60) -> Admission:
    return Admission(per_second=per_second, burst=burst, max_pending=max_pending,
                     max_open=max_open, retry_max=retry_max, clock=clock)


def _waits(gate: Admission, n: int) -> list[int | None]:
    """What n new sockets are told: None when admitted (settled at once), else the wait."""
    told: list[int | None] = []
    for _ in range(n):
        ticket = gate.admit()
        if isinstance(ticket, Ticket):
            ticket.settle()
            told.append(None)
        else:
            told.append(ticket)
    return told


def test_burst_is_admitted_then_the_excess_is_told_later_and_later() -> None:
    clock = Clock()
    gate = _gate(clock)
    assert _waits(gate, 5) == [None] * 5
    told = _waits(gate, 35)
    waits = [w for w in told if w is not None]
    assert len(waits) == 35
    # One admission slot (0.1 s) further each: spread at the admitted rate, not one wave.
    assert waits == sorted(waits) and waits[0] == 1 and waits[-1] == 4
    assert (gate.admitted, gate.shed, gate.open, gate.pending) == (5, 35, 5, 0)


def test_bucket_refills_at_the_rate() -> None:
    clock = Clock()
    gate = _gate(clock)
    _waits(gate, 5)
    assert _waits(gate, 1) != [None]
    clock.now += 0.35
    assert _waits(gate, 3) == [None] * 3
    assert _waits(gate, 1) != [None]


def test_retry_after_is_capped() -> None:
    gate = _gate(Clock(), per_second=1, burst=1, retry_max=7)
    _waits(gate, 1)
    assert max(w or 0 for w in _waits(gate, 50)) == 7


def test_handshakes_under_way_are_capped_until_one_settles() -> None:
    clock = Clock()
    gate = _gate(clock, per_second=0, max_pending=2)
    first, second = gate.admit(), gate.admit()
    assert isinstance(first, Ticket) and isinstance(second, Ticket)
    assert isinstance(gate.admit(), int)  # a slow worker sheds, whatever the rate
    first.settle()
    first.settle()  # once only
    third = gate.admit()
    assert isinstance(third, Ticket) and gate.pending == 2
    second.leave()  # ended before its first message: its place is free too
    assert (gate.pending, gate.open) == (1, 2)


def test_shed_sockets_return_at_the_rate_handshakes_complete() -> None:
    clock = Clock()
    gate = _gate(clock, per_second=0, max_pending=1)
    for _ in range(50):  # 50 handshakes in one second
        ticket = gate.admit()
        assert isinstance(ticket, Ticket)
        ticket.settle()
        clock.now += 0.02
    clock.now += 0.01
    held = gate.admit()
    assert isinstance(held, Ticket)
    waits = _waits(gate, 100)  # 100 more in a burst: two seconds of handshakes
    assert waits[0] == 1 and waits[-1] in (2, 3), waits


def test_a_worker_that_keeps_up_is_offered_more_returns() -> None:
    clock = Clock()
    gate = _gate(clock, per_second=0, max_pending=64)
    for _ in range(50):  # 50 handshakes in one second, none left under way
        ticket = gate.admit()
        assert isinstance(ticket, Ticket)
        ticket.settle()
        clock.now += 0.02
    clock.now += 0.01
    waits = _waits_shed(gate, 300)
    # 300 returns at 1.5 × ~50/s: within 5 s (7 s at the completed rate alone).
    assert waits[0] == 1 and waits[-1] == 5, waits


def _waits_shed(gate: Admission, n: int) -> list[int]:
    """n sockets that each waited too long in the listen queue: all shed."""
    gate.max_wait = 1.0
    told = [gate.admit(waited=5.0) for _ in range(n)]
    assert all(isinstance(t, int) for t in told)
    return [t for t in told if isinstance(t, int)]


def test_open_cap_sheds_until_a_socket_leaves() -> None:
    gate = _gate(Clock(), per_second=0, max_open=3)
    tickets = [gate.admit() for _ in range(3)]
    wait = gate.admit()
    assert isinstance(wait, int) and wait >= FULL_WAIT
    ticket = tickets[0]
    assert isinstance(ticket, Ticket)
    ticket.leave()
    assert isinstance(gate.admit(), Ticket)


def test_limits_at_zero_admit_everything() -> None:
    gate = _gate(Clock(), per_second=0, max_pending=0, max_open=0)
    assert all(isinstance(gate.admit(), Ticket) for _ in range(10_000))


def test_a_request_that_waited_long_in_the_listen_queue_is_shed() -> None:
    gate = _gate(Clock(), per_second=0, max_pending=0)
    gate.max_wait = 1.0
    assert isinstance(gate.admit(waited=0.4), Ticket)
    assert isinstance(gate.admit(waited=1.5), int)


def test_queue_wait_is_read_from_the_kernel() -> None:
    """tcpi_last_data_recv of a real connection whose request sat unread for 0.3 s."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()) as client:
            client.sendall(b"GET /ws/screen HTTP/1.1\r\n\r\n")
            time.sleep(0.3)
            conn, _ = server.accept()
            with conn:
                assert 0.25 <= request_age(conn) < 2.0
    assert queued_seconds(print) == 0.0  # not uvicorn's: unknown


def test_rate_falls_while_the_loop_lags_and_climbs_back() -> None:
    gate = _gate(Clock(), per_second=600, burst=1)
    for _ in range(3):
        gate.observe_lag(0.5, max_lag=0.2)
    assert gate.rate == pytest.approx(600 * 0.7**3)
    for _ in range(30):
        gate.observe_lag(0.5, max_lag=0.2)
    assert gate.rate == 20  # never stops admitting
    gate.observe_lag(0.15, max_lag=0.2)  # between: holds
    assert gate.rate == 20
    for _ in range(40):
        gate.observe_lag(0.01, max_lag=0.2)
    assert gate.rate == 600


def test_lag_watch_lowers_the_rate_of_a_blocked_loop() -> None:
    gate = Admission(per_second=600, burst=1, max_pending=0, max_open=0)
    watch = LagWatch(gate, max_lag=0.05)

    async def blocked() -> None:
        await watch.start()
        for _ in range(4):
            await asyncio.sleep(0.15)
            time.sleep(0.3)  # the overload under test
        await watch.stop()

    asyncio.run(blocked())
    assert watch.lag > 0.05 and gate.rate < 600 * 0.7


def test_socket_cap_follows_the_open_file_limit() -> None:
    assert automatic_max_open(20_000) == 19_000
    assert automatic_max_open(1024) == 102  # a tiny limit still leaves room for sockets


@pytest.fixture
def low_file_limit() -> Iterator[int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard <= 256:
        pytest.skip("the hard open-file limit is unlimited or too low to lower and raise")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    yield hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_open_file_limit_is_raised_to_the_hard_limit(low_file_limit: int) -> None:
    assert raise_open_file_limit() == (256, low_file_limit)
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == low_file_limit


def test_serve_raises_the_file_limit_and_asks_for_a_long_listen_queue(
    low_file_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(kw))
    said: list[str] = []
    run_server(host="127.0.0.1", port=1, workers=2, backlog=8192, access_log=False,
               echo=said.append)
    assert calls[0]["backlog"] == 8192 and calls[0]["workers"] == 2
    # A worker slow to start or busy in a storm is not killed as hung after uvicorn's 5 s.
    assert calls[0]["timeout_worker_healthcheck"] >= 30
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == low_file_limit
    queue, capped = granted_backlog(8192)
    assert str(low_file_limit) in said[0] and str(queue) in said[0]
    assert ("somaxconn" in said[0]) is capped


# -- a real server under a burst of real sockets ---------------------------------------


@dataclass
class Served:
    url: str
    app: Any


@contextlib.contextmanager
def serve_storm_app(sqlite_url: str, ws: str) -> Iterator[Served]:
    """The app under uvicorn (websocket protocol `ws`) admitting 60 new sockets a second
    after a burst of 30."""
    settings = make_settings(sqlite_url, ws_admit_per_second=60, ws_admit_burst=30,
                             ws_connections_per_client=0, ws_admit_max_lag_ms=0)
    app = create_app(settings)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, ws=ws,
                            ws_per_message_deflate=False, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, thread)
        yield Served(f"ws://127.0.0.1:{port}/ws/screen?token={_screen_token(base)}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def served(sqlite_url: str) -> Iterator[Served]:
    """uvicorn's own sansio protocol: the app sheds (app.admission.shed)."""
    with serve_storm_app(sqlite_url, "websockets-sansio") as served:
        yield served


def _screen_token(base: str) -> str:
    today = local_today().isoformat()
    with httpx.Client(base_url=base, timeout=10) as http:
        r = http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        cid = http.post("/api/v1/conferences", json={
            "title": "Bão kết nối", "starts_on": today, "ends_on": today}).json()["id"]
        site = http.post(f"/api/v1/conferences/{cid}/sites",
                         json={"name": "Điểm cầu 1", "kind": "hub"}).json()["id"]
        return str(http.post(f"/api/v1/sites/{site}/screen-token").json()["token"])


async def _screen(url: str, sheds: list[str]) -> dict[str, Any]:
    """Connect until the first message arrives, waiting as told after each 1013."""
    while True:
        async with connect(url, compression=None, proxy=None, open_timeout=10) as ws:
            try:
                first = await asyncio.wait_for(ws.recv(), 10)
                return {"first": first}
            except ConnectionClosed as closed:
                if closed.rcvd is None or closed.rcvd.code != CLOSE_TRY_AGAIN_LATER:
                    raise
                sheds.append(closed.rcvd.reason)
                match = re.fullmatch(r"retry_after=(\d+)", closed.rcvd.reason)
                assert match, closed.rcvd.reason
                await asyncio.sleep(int(match[1]))


async def storm(url: str, count: int, sheds: list[str]) -> list[dict[str, Any]]:
    return await asyncio.gather(*(_screen(url, sheds) for _ in range(count)))


def test_a_burst_past_the_rate_is_shed_with_1013_and_everyone_connects(served: Served) -> None:
    sheds: list[str] = []
    started = time.monotonic()
    results = asyncio.run(storm(served.url, 150, sheds))
    assert len(results) == 150 and all(r["first"] for r in results)  # none failed
    admission = served.app.state.admission
    assert len(sheds) >= 60 and admission.shed == len(sheds)
    assert admission.admitted == 150
    waits = sorted(int(s.removeprefix("retry_after=")) for s in sheds)
    assert waits[0] >= 1 and waits[-1] <= 5, waits  # spread over the seconds it takes
    assert time.monotonic() - started < 12
