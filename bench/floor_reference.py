"""The floor's reference: a bare Starlette route doing one SQLite upsert per ask.

The same rule as the service's (one open request per site and session, a second ask
changes it in place and keeps its place), with nothing around it: no login, no scope,
no names, no versions, no audit. A second route reads the open queue in order, as the
chair's view does. Run by bench/floor.py in its own process, with the same uvicorn
settings as `diemcau serve`:

    .venv/bin/python -m bench.floor_reference PORT DB_PATH
"""

import sqlite3
import sys
import time
from typing import Any

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS floor_request (id INTEGER PRIMARY KEY, session_id INTEGER"
    " NOT NULL, site_id INTEGER NOT NULL, topic TEXT NOT NULL, speaker_name TEXT NOT NULL,"
    " speaker_position TEXT NOT NULL, status TEXT NOT NULL, asked_at REAL NOT NULL,"
    " changed_at REAL NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS uq_open ON floor_request (session_id, site_id)"
    " WHERE status = 'open'",
)
UPSERT = (
    "INSERT INTO floor_request (session_id, site_id, topic, speaker_name, speaker_position,"
    " status, asked_at, changed_at) VALUES (1, ?, ?, ?, ?, 'open', ?, ?)"
    " ON CONFLICT (session_id, site_id) WHERE status = 'open' DO UPDATE SET"
    " topic = excluded.topic, speaker_name = excluded.speaker_name,"
    " speaker_position = excluded.speaker_position, changed_at = excluded.changed_at"
    " RETURNING id, asked_at = changed_at"
)


def reference_app(db_path: str) -> Any:
    """The reference: one upsert per ask, one ordered read per queue."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    for statement in SCHEMA:
        conn.execute(statement)

    async def ask(request: Request) -> JSONResponse:
        body = await request.json()
        now = time.time()
        row = conn.execute(UPSERT, (body["site_id"], body["topic"], body["speaker_name"],
                                    body.get("speaker_position") or "", now, now)).fetchone()
        return JSONResponse({"id": row[0]}, status_code=201 if row[1] else 200)

    async def queue(request: Request) -> JSONResponse:
        rows = conn.execute(
            "SELECT id, site_id, topic, speaker_name, speaker_position, asked_at FROM"
            " floor_request WHERE session_id = 1 AND status = 'open' ORDER BY asked_at, id"
        ).fetchall()
        return JSONResponse({"requests": [
            {"id": r[0], "site_id": r[1], "topic": r[2], "speaker_name": r[3],
             "speaker_position": r[4], "asked_at": r[5]} for r in rows]})

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/asks", ask, methods=["POST"]), Route("/queue", queue),
                             Route("/healthz", healthz)])


def serve(port: int, db_path: str) -> None:
    import uvicorn

    # The same uvicorn settings as `diemcau serve` (app/cli.py), access log included.
    uvicorn.run(reference_app(db_path), host="127.0.0.1", port=port, log_level="info")


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2])
