"""The write gate: one thread on SQLite, parallel writers on PostgreSQL."""

import asyncio
import threading
import time
from pathlib import Path

from app.db import WriteGate, create_db_engine
from tests.conftest import PG_ADMIN_URL


def test_write_gate_sqlite_runs_every_write_on_one_thread(tmp_path: Path) -> None:
    gate = WriteGate(create_db_engine(f"sqlite:///{tmp_path}/gate.db"))

    async def idents() -> list[int]:
        return list(await asyncio.gather(*(gate.run(threading.get_ident) for _ in range(20))))

    try:
        seen = asyncio.run(idents())
    finally:
        gate.close()
    assert gate.serial is True
    assert len(set(seen)) == 1 and seen[0] != threading.get_ident()


def test_background_work_takes_turns_behind_live_writes(
    tmp_path: Path,
) -> None:
    gate = WriteGate(create_db_engine(f"sqlite:///{tmp_path}/gate.db"))
    order: list[str] = []

    def piece(name: str) -> None:
        time.sleep(0.05)
        order.append(name)

    async def later(delay: float, name: str) -> None:
        await asyncio.sleep(delay)
        await gate.run(piece, name)

    async def scenario() -> None:
        # Three queues' pieces sent at once; a live write while the first piece runs, and
        # another while that live write runs.
        background = [asyncio.ensure_future(gate.run_behind(piece, f"b{i}")) for i in range(3)]
        await asyncio.gather(later(0.01, "live1"), later(0.07, "live2"), *background)

    try:
        asyncio.run(scenario())
    finally:
        gate.close()
    # Plain `run` for all would give b0, b1, b2, live1, live2 (first come, first served);
    # pieces only taking turns, b0, live1, b1, live2, b2.
    assert order == ["b0", "live1", "live2", "b1", "b2"]


def test_write_gate_call_from_a_worker_waits_for_the_gate_thread(tmp_path: Path) -> None:
    gate = WriteGate(create_db_engine(f"sqlite:///{tmp_path}/gate.db"))
    try:
        inside = asyncio.run(gate.run(threading.get_ident))
        from_worker: list[int] = []
        worker = threading.Thread(target=lambda: from_worker.append(gate.call(threading.get_ident)))
        worker.start()
        worker.join(timeout=10)
        # Called from inside the gate it runs at once instead of waiting for itself.
        nested = asyncio.run(gate.run(lambda: gate.call(threading.get_ident)))
    finally:
        gate.close()
    assert from_worker == [inside]
    assert nested == inside


def test_write_gate_close_finishes_the_running_write_and_stops_the_thread(
    tmp_path: Path,
) -> None:
    gate = WriteGate(create_db_engine(f"sqlite:///{tmp_path}/gate.db"))
    done: list[str] = []
    workers: list[threading.Thread] = []
    started = threading.Event()

    def slow() -> None:
        workers.append(threading.current_thread())
        started.set()
        time.sleep(0.05)
        done.append("written")

    caller = threading.Thread(target=lambda: gate.call(slow))
    caller.start()
    assert started.wait(timeout=5)
    gate.close()
    caller.join(timeout=5)
    assert done == ["written"]
    assert workers[0].name.startswith("write-gate") and not workers[0].is_alive()


def test_write_gate_postgresql_runs_writers_in_parallel() -> None:
    engine = create_db_engine(PG_ADMIN_URL)  # never connects: only the dialect is read
    gate = WriteGate(engine)
    barrier = threading.Barrier(2, timeout=5)

    async def both() -> list[int]:
        # Each waits for the other: this finishes only if they run at the same time.
        return list(await asyncio.gather(gate.run(barrier.wait), gate.run(barrier.wait)))

    try:
        answers = asyncio.run(both())
        direct = gate.call(threading.get_ident)
    finally:
        gate.close()
        engine.dispose()
    assert gate.serial is False
    assert sorted(answers) == [0, 1]
    assert direct == threading.get_ident()
