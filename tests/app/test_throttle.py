"""Throttle rules, the in-process limiter, and the websocket cap per client address."""

import json
from collections.abc import Sequence

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.main import create_app
from app.throttle import ConnectionCap, MemoryLimiter, Rate, Rule, Throttle, Throttled
from tests.conftest import ADMIN_PASSWORD, Tree, make_settings, token_for


def test_rule_waits_double_from_the_first_failure_past_the_free_ones() -> None:
    rule = Rule("r", free=3, first_delay=1, max_delay=10, forget=60)
    assert [rule.delay(n) for n in range(1, 9)] == [0, 0, 0, 1, 2, 4, 8, 10]
    assert rule.delay(10**6) == 10  # no overflow
    assert len(rule.key("x" * 10_000)) < 210


def test_throttle_refuses_while_waiting_with_retry_after() -> None:
    now = [1000.0]
    throttle = Throttle(MemoryLimiter(), clock=lambda: now[0])
    rule = Rule("r", free=1, first_delay=5, max_delay=60, forget=60)
    throttle.check((rule, "a"))
    assert throttle.failed((rule, "a")) == 0
    assert throttle.failed((rule, "a")) == 5
    with pytest.raises(Throttled) as refused:
        throttle.check((rule, "b"), (rule, "a"))
    assert refused.value.retry_after == 5 and refused.value.headers == {"Retry-After": "5"}
    assert refused.value.status_code == 429 and refused.value.code == "too_many_attempts"
    now[0] += 5
    throttle.check((rule, "a"))
    now[0] += 61  # forgotten: the count starts over
    assert throttle.failed((rule, "a")) == 0


def test_memory_limiter_stays_bounded() -> None:
    limiter = MemoryLimiter(max_keys=100)
    rule = Rule("r", free=0, first_delay=1, max_delay=1, forget=60)
    for i in range(1000):
        limiter.fail(f"k{i}", rule, 0.0)
    assert limiter.wait(["k999"], 0.0) == 1
    assert len(limiter._state) <= 100


def test_connection_cap_counts_per_client() -> None:
    cap = ConnectionCap(2)
    assert cap.enter("a") and cap.enter("a") and not cap.enter("a")
    assert cap.enter("b")
    cap.leave("a")
    assert cap.open_count("a") == 1 and cap.enter("a")
    off = ConnectionCap(0)
    assert all(off.enter("a") for _ in range(1000))


def _close_code(client: TestClient, path: str) -> int | None:
    """How the server ended a socket on `path` (None: it stayed open past a read)."""
    try:
        with client.websocket_connect(path) as socket:
            socket.receive_text()
            socket.close()
    except WebSocketDisconnect as refused:
        return refused.code
    return None


@pytest.mark.parametrize("path", ["/ws/screen?token=scr_x", "/ws/follow?token=x",
                                  "/ws/dashboard?conference_id=1&token=x"])
def test_websocket_cap_refuses_the_socket_past_the_cap(
    database_url: str, tree: Tree, path: str
) -> None:
    """N sockets from one address stay open; the N+1th is refused before the handshake
    (whatever its path and token), and a socket from another address still connects."""
    app = create_app(make_settings(database_url, ws_connections_per_client=3))
    with TestClient(app) as client:
        token = token_for(client, "admin", ADMIN_PASSWORD)["Authorization"].split(" ", 1)[1]
        dashboard = f"/ws/dashboard?conference_id={tree.cid}&token={token}"
        held = []
        try:
            for _ in range(3):
                socket = client.websocket_connect(dashboard).__enter__()
                assert json.loads(socket.receive_text())["type"] == "snapshot"
                held.append(socket)
            assert app.state.ws_cap.open_count("testclient") == 3
            assert _close_code(client, path) == 1008
            other = TestClient(app, client=("10.1.2.3", 5000))
            assert _close_code(other, path) != 1008  # refused for its token, not the cap
        finally:
            for socket in held:
                socket.__exit__(None, None, None)
        held[0] = client.websocket_connect(dashboard).__enter__()  # a freed slot is reusable
        assert json.loads(held[0].receive_text())["type"] == "snapshot"
        held[0].__exit__(None, None, None)


class Counting(MemoryLimiter):
    """A store that counts its reads."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def wait(self, keys: Sequence[str], now: float) -> float:
        self.reads += 1
        return super().wait(keys, now)


def test_known_waits_are_refused_without_asking_the_store() -> None:
    now = [0.0]
    limiter = Counting()
    throttle = Throttle(limiter, clock=lambda: now[0])
    client, account = Rule("c", 0, 10, 60, 60), Rule("a", 5, 10, 60, 60)
    throttle.failed((client, "1.2.3.4"))  # the client waits 10 s, the account does not
    throttle.check((account, "admin"))
    with pytest.raises(Throttled):
        throttle.check_cached((client, "1.2.3.4"), (account, "admin"))
    reads = limiter.reads
    for _ in range(100):
        with pytest.raises(Throttled):
            throttle.check((client, "1.2.3.4"), (account, "admin"))
    assert limiter.reads == reads  # answered from what this process already knows
    throttle.check_cached((account, "admin"))  # the other subject is not blocked by it
    other = Throttle(limiter, clock=lambda: now[0])  # another worker on the same store
    with pytest.raises(Throttled):
        other.check((client, "1.2.3.4"), (account, "admin"))
    other.check((account, "admin"))  # it learnt which of the two waits
    now[0] = 11.0
    throttle.check_cached((client, "1.2.3.4"))
    throttle.check((client, "1.2.3.4"))


def test_a_rate_counts_every_request_in_its_window_then_refuses_until_it_ends() -> None:
    now = [1200.0]  # a window starts at 1200 (60 s windows)
    throttle = Throttle(MemoryLimiter(), clock=lambda: now[0])
    rate = Rate("r", limit=3)
    for _ in range(3):
        throttle.count((rate, "site-1"))
    now[0] = 1230.0
    with pytest.raises(Throttled) as refused:
        throttle.count((rate, "site-1"), detail="Quá nhiều.")
    assert refused.value.retry_after == 30 and refused.value.headers["Retry-After"] == "30"
    assert refused.value.detail == "Quá nhiều."
    throttle.count((rate, "site-2"))  # another subject has its own count
    now[0] = 1260.0  # the next window: counted afresh
    throttle.count((rate, "site-1"))


def test_a_rate_refuses_when_any_of_its_subjects_is_past_it() -> None:
    throttle = Throttle(MemoryLimiter(), clock=lambda: 600.0)
    site, client = Rate("s", limit=5), Rate("c", limit=2)
    throttle.count((site, "1"), (client, "10.0.0.1"))
    throttle.count((site, "2"), (client, "10.0.0.1"))
    with pytest.raises(Throttled):
        throttle.count((site, "3"), (client, "10.0.0.1"))
    throttle.count((site, "3"), (client, "10.0.0.2"))


def test_a_fresh_check_trusts_the_store_for_a_while_and_forgets_at_a_failure() -> None:
    now = [0.0]
    limiter = Counting()
    throttle = Throttle(limiter, clock=lambda: now[0])
    other = Throttle(limiter, clock=lambda: now[0])  # another worker, same store
    rule = Rule("code", 0, 100, 1000, 6000)
    for _ in range(50):
        throttle.check((rule, "venue"), fresh=30)
    assert limiter.reads == 1  # one read for a venue's 50 answers
    throttle.check((rule, "venue"))  # without `fresh`: the store every time
    assert limiter.reads == 2
    throttle.failed((rule, "venue"))  # a wrong code here: read again, refused
    with pytest.raises(Throttled):
        throttle.check((rule, "venue"), fresh=30)
    now[0] = 101.0  # the wait ran out
    other.check((rule, "venue"), fresh=30)
    other.check((rule, "venue"), fresh=30)
    reads = limiter.reads
    throttle.failed((rule, "venue"))  # counted by the first worker...
    other.check((rule, "venue"), fresh=30)  # ...the other trusts its read a while
    assert limiter.reads == reads
    now[0] = 132.0  # but never longer than `fresh`
    with pytest.raises(Throttled):
        other.check((rule, "venue"), fresh=30)


def test_a_batch_asks_the_store_once_and_a_waiting_subject_is_still_refused() -> None:
    now = [0.0]
    limiter = Counting()
    throttle = Throttle(limiter, clock=lambda: now[0])
    rule = Rule("code", 0, 100, 1000, 6000)
    venues = [((rule, f"venue-{i}"),) for i in range(20)]
    throttle.prefetch(venues, fresh=30)
    for attempts in venues:
        throttle.check(*attempts, fresh=30)
    assert limiter.reads == 1  # one read for the twenty venues of a batch
    Throttle(limiter, clock=lambda: now[0]).failed((rule, "venue-7"))  # another worker
    now[0] = 31.0  # past `fresh`: the next batch asks again, and venue-7 waits
    reads = limiter.reads
    throttle.prefetch(venues, fresh=30)
    assert limiter.reads == reads + 1
    with pytest.raises(Throttled):  # the batch's read found a wait: each check asks
        throttle.check((rule, "venue-7"), fresh=30)
    throttle.check((rule, "venue-8"), fresh=30)
