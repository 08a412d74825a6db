"""The forms bench's reference: a bare Starlette app answering forms into SQLite, and a
bare per-site counter pushed to screens, with nothing around them.

The minimal honest equivalent of an answer: one SELECT of the attendee by personal
code, one INSERT of the answer (the same three unique keys as `form_answer`: form +
attendee, form + device, form + nonce) and its choice rows (executemany) in one write
transaction, one JSON response: 201 new, 200 the same nonce again, 409 another nonce of
an answered attendee. No bank check, no scoring, no throttle, no audit, no hub.

Screens: `/ws/screen?token=…` (the token names the site, from the screens file) gets a
snapshot `{"type": "stage", …}`, then `{"type": "form_count", "form_id", "site_id",
"count"}` at most 4 times a second per site, only when it changed (one encode per site
per tick), and the current count right after the snapshot. The same contract as
diemcau's screens, so bench/forms.py runs the same clients and checks against both; it
also serves as the fake the harness is tested against. Run by bench/forms.py in its own
process, with the same uvicorn settings as `diemcau serve`:

    .venv/bin/python -m bench.forms_reference PORT DB_PATH SCREENS_JSON FORM_ID
"""

import asyncio
import contextlib
import json
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS attendee (id INTEGER PRIMARY KEY, short_code TEXT NOT NULL"
    " UNIQUE, site_id INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS form_answer (id INTEGER PRIMARY KEY, form_id INTEGER NOT"
    " NULL, site_id INTEGER NOT NULL, attendee_id INTEGER, device TEXT, nonce TEXT NOT NULL,"
    " answered_at REAL NOT NULL, UNIQUE (form_id, attendee_id), UNIQUE (form_id, device),"
    " UNIQUE (form_id, nonce))",
    "CREATE INDEX IF NOT EXISTS ix_form_answer_site ON form_answer (form_id, site_id)",
    "CREATE TABLE IF NOT EXISTS form_choice (id INTEGER PRIMARY KEY, answer_id INTEGER NOT"
    " NULL, form_id INTEGER NOT NULL, site_id INTEGER NOT NULL, question_id INTEGER NOT NULL,"
    " option_id INTEGER)",
    "CREATE INDEX IF NOT EXISTS ix_form_choice_form ON form_choice (form_id, question_id,"
    " option_id)",
    "CREATE INDEX IF NOT EXISTS ix_form_choice_answer ON form_choice (answer_id)",
)
INSERT_ANSWER = (
    "INSERT INTO form_answer (form_id, site_id, attendee_id, device, nonce, answered_at)"
    " VALUES (?, ?, ?, ?, ?, ?) RETURNING id"
)
INSERT_CHOICE = (
    "INSERT INTO form_choice (answer_id, form_id, site_id, question_id, option_id)"
    " VALUES (?, ?, ?, ?, ?)"
)
TICK = 0.25  # seconds: at most 4 count messages a second per site


def connect(db_path: str | Path) -> sqlite3.Connection:
    """The reference's database with the service's PRAGMAs and its tables."""
    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    for statement in SCHEMA:
        conn.execute(statement)
    return conn


def load_attendees(db_path: str | Path, rows: Iterable[tuple[int, str, int]]) -> None:
    """Write the roster (id, personal code, site) the answers are signed with."""
    conn = connect(db_path)
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO attendee (id, short_code, site_id) VALUES (?, ?, ?)", rows)
    conn.execute("COMMIT")
    conn.close()


class Counts:
    """Answers per site, and the screens to tell: one message per changed site per tick."""

    def __init__(self, form_id: int) -> None:
        self.form_id = form_id
        self.counts: dict[int, int] = {}
        self.sent: dict[int, int] = {}
        self.screens: dict[int, set[Any]] = {}

    def message(self, site_id: int) -> str:
        return json.dumps({"type": "form_count", "form_id": self.form_id, "site_id": site_id,
                           "count": self.counts.get(site_id, 0)})

    async def tick(self) -> None:
        changed = [s for s, n in self.counts.items() if self.sent.get(s) != n]
        for site_id in changed:
            self.sent[site_id] = self.counts[site_id]
            text = self.message(site_id)
            for ws in list(self.screens.get(site_id, ())):
                with contextlib.suppress(Exception):  # a closed screen: it re-joins
                    await ws.send_text(text)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            await self.tick()


def _answer_route(conn: sqlite3.Connection, counts: Counts) -> Any:
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    async def answer(request: Request) -> JSONResponse:
        form_id = int(request.path_params["form_id"])
        body = await request.json()
        site_id = int(str(body["site"]).split("-")[0])
        found = conn.execute("SELECT id FROM attendee WHERE short_code = ?",
                             (body["code"],)).fetchone()
        if found is None:
            return JSONResponse({"code": "personal_code_wrong"}, status_code=403)
        try:
            conn.execute("BEGIN IMMEDIATE")
            answer_id = conn.execute(INSERT_ANSWER, (form_id, site_id, found[0], None,
                                                     body["nonce"], time.time())).fetchone()[0]
            conn.executemany(INSERT_CHOICE, [
                (answer_id, form_id, site_id, a["question_id"], o)
                for a in body["answers"] for o in a["options"]])
            conn.execute("COMMIT")
        except sqlite3.IntegrityError:
            conn.execute("ROLLBACK")
            same = conn.execute("SELECT id FROM form_answer WHERE form_id = ? AND nonce = ?",
                                (form_id, body["nonce"])).fetchone()
            if same is None:
                return JSONResponse({"code": "form_already_answered"}, status_code=409)
            return JSONResponse({"id": same[0], "form_id": form_id, "site_id": site_id})
        counts.counts[site_id] = counts.counts.get(site_id, 0) + 1
        return JSONResponse({"id": answer_id, "form_id": form_id, "site_id": site_id},
                            status_code=201)

    return answer


def _screen_route(counts: Counts, sites: dict[str, int]) -> Any:
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def screen(websocket: WebSocket) -> None:
        site_id = sites.get(websocket.query_params.get("token", ""))
        await websocket.accept()
        if site_id is None:
            await websocket.close(code=4401)
            return
        await websocket.send_text(json.dumps({"type": "stage", "version": 1, "form": {
            "id": counts.form_id, "status": "open", "results": False}}))
        counts.screens.setdefault(site_id, set()).add(websocket)
        if counts.counts.get(site_id):
            await websocket.send_text(counts.message(site_id))
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            counts.screens[site_id].discard(websocket)

    return screen


def reference_app(db_path: str, screens_json: str, form_id: int) -> Any:
    """The reference: answers into SQLite, counts per site to the screens."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route, WebSocketRoute

    conn = connect(db_path)
    counts = Counts(form_id)
    sites = {token: int(site) for site, token in json.loads(Path(screens_json).read_text())}

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        task = asyncio.create_task(counts.run())
        yield
        task.cancel()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(lifespan=lifespan, routes=[
        Route("/api/v1/forms/{form_id:int}/answers", _answer_route(conn, counts),
              methods=["POST"]),
        WebSocketRoute("/ws/screen", _screen_route(counts, sites)),
        Route("/healthz", healthz)])


def serve(port: int, db_path: str, screens_json: str, form_id: int) -> None:
    import uvicorn

    # The same uvicorn settings as `diemcau serve` (app/cli.py): no access log by default.
    uvicorn.run(reference_app(db_path, screens_json, form_id), host="127.0.0.1", port=port,
                log_level="info", ws="websockets-sansio", ws_per_message_deflate=False,
                ws_max_size=64 * 1024, access_log=False)


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]))
