"""The check-in reference: a bare Starlette route doing one idempotent SQLite insert.

Run by bench/checkin.py in its own process, with the same uvicorn settings as
`diemcau serve`:

    .venv/bin/python -m bench.checkin_reference PORT DB_PATH
"""

import sqlite3
import sys
import time
from typing import Any


def reference_app(db_path: str) -> Any:
    """The reference: one idempotent SQLite insert per request, nothing else."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS attendance (code TEXT NOT NULL, site_id INTEGER NOT NULL,"
        " session_key INTEGER NOT NULL, at REAL NOT NULL, UNIQUE (code, session_key))"
    )

    async def checkin(request: Request) -> JSONResponse:
        body = await request.json()
        cur = conn.execute(
            "INSERT INTO attendance (code, site_id, session_key, at) VALUES (?, ?, 0, ?)"
            " ON CONFLICT DO NOTHING",
            (body["code"], body["site_id"], time.time()),
        )
        first = cur.rowcount == 1
        return JSONResponse({"status": "checked_in" if first else "already_checked_in"},
                            status_code=201 if first else 200)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/checkins", checkin, methods=["POST"]),
                             Route("/healthz", healthz)])


def serve(port: int, db_path: str) -> None:
    import uvicorn

    # The same uvicorn settings as `diemcau serve` (app/cli.py), access log included.
    uvicorn.run(reference_app(db_path), host="127.0.0.1", port=port, log_level="info")


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2])
