"""The lean receive queue of `diemcau serve`'s websocket protocol (app/uvicorn_ws.py)."""

import asyncio
import time
import tracemalloc
from collections.abc import Iterator

import pytest
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from app.uvicorn_ws import LeanWebSocketProtocol, ReceiveQueue
from tests.app.test_admission import Served, serve_storm_app, storm


def test_receive_queue_delivers_in_order_and_wakes_a_waiting_reader() -> None:
    async def scenario() -> list[int]:
        queue = ReceiveQueue()
        other = ReceiveQueue()
        reader = asyncio.create_task(queue.get())
        await asyncio.sleep(0)  # the reader waits: its future sits in this queue's getters
        assert queue._getters and not other._getters
        queue.put_nowait(1)
        await queue.put(2)
        queue.put_nowait(3)
        first = await asyncio.wait_for(reader, 1)
        rest = [await queue.get(), queue.get_nowait()]
        assert other.empty() and queue.empty()
        assert not queue._putters  # the shared putters deque is never used
        return [first, *rest]

    assert asyncio.run(scenario()) == [1, 2, 3]


def test_receive_queue_refuses_join() -> None:
    queue = ReceiveQueue()
    with pytest.raises(TypeError, match="never joined"):
        queue.task_done()
    with pytest.raises(TypeError, match="never joined"):
        asyncio.run(queue.join())


def _allocated(make: type[asyncio.Queue[object]], count: int) -> int:
    keep = []
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        keep = [make() for _ in range(count)]
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert len(keep) == count
    return sum(d.size_diff for d in after.compare_to(before, "filename"))


def test_receive_queue_is_lighter_than_a_stock_queue() -> None:
    # Two of a stock queue's four deques (putters, its join event's waiters) are shared.
    stock = _allocated(asyncio.Queue, 500) / 500
    lean = _allocated(ReceiveQueue, 500) / 500
    assert stock - lean > 1200, (stock, lean)


def test_the_protocol_is_uvicorns_sansio_one_with_the_lean_queue() -> None:
    # app/wsfast.py recognises it (a subclass whose send is uvicorn's own).
    assert issubclass(LeanWebSocketProtocol, WebSocketsSansIOProtocol)
    assert LeanWebSocketProtocol.send is WebSocketsSansIOProtocol.send


@pytest.fixture
def lean(sqlite_url: str) -> Iterator[Served]:
    """`diemcau serve`'s protocol in front of the app."""
    with serve_storm_app(sqlite_url, "app.uvicorn_ws:LeanWebSocketProtocol") as served:
        yield served


def test_the_protocol_sheds_a_burst_before_the_app_and_admits_each_socket_once(
    lean: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    def app_shed(*args: object) -> None:
        raise AssertionError("shed by the app: the protocol should have shed it")

    monkeypatch.setattr("app.direct_app.shed", app_shed)
    monkeypatch.setattr("app.main.shed", app_shed)
    sheds: list[str] = []
    results = asyncio.run(storm(lean.url, 150, sheds))
    assert len(results) == 150 and all(r["first"] for r in results)  # none failed
    admission = lean.app.state.admission
    assert len(sheds) >= 60 and admission.shed == len(sheds)
    assert all(s.startswith("retry_after=") for s in sheds)
    # Admitted by the protocol, the ticket carried to the app: counted once each, and
    # each left when its socket ended.
    assert admission.admitted == 150
    deadline = time.monotonic() + 5
    while admission.open and time.monotonic() < deadline:
        time.sleep(0.05)
    assert admission.open == 0 and admission.pending == 0
