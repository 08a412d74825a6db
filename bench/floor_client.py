"""The floor bench's load client: one process sends its share of the asks on schedule.

Open loop: each ask goes at its scheduled moment (seconds after a start time shared by
every client process, on the host's clock) whatever the earlier ones are doing, and
its latency is measured from that moment, so a stalled server cannot hide its queue
(no coordinated omission); the service time (from the actual send) is kept too.
Plain asyncio streams on keep-alive connections: httpx would cost a core at 400/s.

    .venv/bin/python -m bench.floor_client PLAN.json RESULT.json

PLAN: {"host", "port", "start" (epoch seconds), "connections",
       "items": [[at, token, path, body, address], ...]}
Each ask carries its site's address in X-Forwarded-For (uvicorn trusts it from 127.0.0.1,
as behind the reverse proxy): 4,000 sites are 4,000 phones, not one client, and the
floor's per-client rate counts them apart.
RESULT: [[at, latency_s, service_s, status], ...] (status 0: a socket error)
"""

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Pool:
    """Keep-alive HTTP/1.1 connections speaking just enough to POST JSON."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port, self.size = host, port, size
        self.free: asyncio.Queue[Conn] = asyncio.Queue()

    async def open(self) -> None:
        for _ in range(self.size):
            self.free.put_nowait(await asyncio.open_connection(self.host, self.port))

    async def close(self) -> None:
        while not self.free.empty():
            self.free.get_nowait()[1].close()

    async def _exchange(self, conn: Conn, head: bytes) -> int:
        reader, writer = conn
        writer.write(head)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        return status

    async def post(self, path: str, token: str, body: Any, address: str) -> int:
        data = json.dumps(body).encode()
        auth = f"Authorization: Bearer {token}\r\n" if token else ""  # "": no login
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"{auth}X-Forwarded-For: {address}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n").encode() + data
        conn = await self.free.get()
        try:
            status = await self._exchange(conn, head)
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            conn[1].close()
            self.free.put_nowait(await asyncio.open_connection(self.host, self.port))
            return 0
        self.free.put_nowait(conn)
        return status


async def run(plan: dict[str, Any]) -> list[list[float]]:
    """Send every item of the plan on schedule; one result row per item."""
    pool = Pool(plan["host"], plan["port"], plan["connections"])
    await pool.open()
    results: list[list[float]] = []
    start = float(plan["start"])

    async def one(at: float, token: str, path: str, body: Any, address: str) -> None:
        sent = time.time()
        status = await pool.post(path, token, body, address)
        done = time.time()
        results.append([at, done - (start + at), done - sent, status])

    tasks = []
    for at, token, path, body, address in plan["items"]:
        delay = start + at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(at, token, path, body, address)))
    await asyncio.gather(*tasks)
    await pool.close()
    return results


def main() -> int:
    plan = json.loads(Path(sys.argv[1]).read_text())
    results = asyncio.run(run(plan))
    Path(sys.argv[2]).write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
