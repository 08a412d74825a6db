"""The forms bench's load clients, one process each: phones answering, or site screens.

    .venv/bin/python -m bench.forms_client answers PLAN.json RESULT.json
    .venv/bin/python -m bench.forms_client screens PLAN.json RESULT.json

answers — open loop, like bench/floor_client.py (whose keep-alive pool it uses): each
answer goes at its scheduled moment whatever the earlier ones are doing, its latency
counted from that moment (no coordinated omission). A network error is retried with the
same body, so the same nonce, as the phone page does (up to RETRIES times).
PLAN: {"host", "port", "start" (epoch s), "connections",
       "items": [[index, at, path, body, address], ...]}
RESULT: [[index, at, latency_s, service_s, status, attempts, done (epoch s)], ...]
(status 0: still a network error after the last attempt)

screens — one websocket per site screen (`{url}?token=…`), kept open until the stop file
appears; each `form_count` of the plan's form is recorded with its arrival time. A
screen the server closes reconnects (as the screen page does) and the drop is counted.
Writes the ready file (how many screens hold their first message) once all are in.
PLAN: {"url", "form_id", "screens": [[site_id, token], ...], "ready", "stop"}
RESULT: [[site_id, [[received (epoch s), count], ...], drops], ...]
"""

import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench.fanout_client import raise_fd_limit
from bench.floor_client import Pool

RETRIES = 5
CONNECT_AT_ONCE = 100  # per process: more at once overflows the accept backlog


async def answers(plan: dict[str, Any]) -> list[list[float]]:
    """Send every answer of the plan on schedule, retrying network errors."""
    pool = Pool(plan["host"], plan["port"], plan["connections"])
    await pool.open()
    results: list[list[float]] = []
    start = float(plan["start"])

    async def one(index: int, at: float, path: str, body: Any, address: str) -> None:
        sent = time.time()
        attempts = 0
        while True:
            attempts += 1
            status = await pool.post(path, "", body, address)
            if status != 0 or attempts >= RETRIES:
                break
            await asyncio.sleep(0.05 * attempts)
        done = time.time()
        results.append([index, at, done - (start + at), done - sent, status, attempts, done])

    tasks = []
    for index, at, path, body, address in plan["items"]:
        delay = start + at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, at, path, body, address)))
    await asyncio.gather(*tasks)
    await pool.close()
    return results


class Screen:
    """One site's screen: the counts it showed, when, and how often it was dropped."""

    def __init__(self, site_id: int, url: str, form_id: int) -> None:
        self.site_id, self.url, self.form_id = site_id, url, form_id
        self.seen: list[list[float]] = []
        self.drops = 0
        self.ready = asyncio.Event()

    async def run(self, gate: asyncio.Semaphore) -> None:
        """Follow the site until cancelled, reconnecting when the server drops it."""
        while True:
            try:
                async with gate:
                    ws = await connect(self.url, open_timeout=120, compression=None,
                                       max_size=2**20, proxy=None)
                async with ws:
                    async for raw in ws:
                        received = time.time()
                        self.ready.set()
                        message = json.loads(raw)
                        if message.get("type") == "form_count" and \
                                message.get("form_id") == self.form_id:
                            self.seen.append([received, int(message["count"])])
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake):
                pass
            self.drops += 1
            await asyncio.sleep(0.5)


async def screens(plan: dict[str, Any]) -> list[list[Any]]:
    """Hold every screen of the plan until the stop file appears."""
    raise_fd_limit(len(plan["screens"]) + 200)
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    held = [Screen(int(site), f"{plan['url']}?token={token}", int(plan["form_id"]))
            for site, token in plan["screens"]]
    tasks = [asyncio.create_task(s.run(gate)) for s in held]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in held)), 300)
    Path(plan["ready"]).write_text(str(sum(s.ready.is_set() for s in held)))
    while not Path(plan["stop"]).exists():
        await asyncio.sleep(0.2)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return [[s.site_id, s.seen, s.drops] for s in held]


def main() -> int:
    role, plan_path, result_path = sys.argv[1:4]
    plan = json.loads(Path(plan_path).read_text())
    found = asyncio.run(answers(plan) if role == "answers" else screens(plan))
    Path(result_path).write_text(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
