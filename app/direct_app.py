"""The application class: FastAPI, with the site screens' socket served ahead of its stack."""

from collections.abc import Mapping

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from app.admission import TICKET, Admission, shed, ticket_for
from app.exposure import ExposedDefaultsGuard
from app.throttle import ConnectionCap
from app.ws import DATABASE_DOWN, database_down


class DiemcauApp(FastAPI):
    """FastAPI whose busiest websocket skips the middleware stack.

    Every layer between the server and a handler keeps a suspended frame for as long as
    a socket stays open: FastAPI's and Starlette's `__call__`, the server-error and
    telemetry middleware, the body limit, the exposed-defaults guard and
    `DirectWebsockets` cost ≈ 2.2 KB per screen (tracemalloc, bench/fanout.py). A socket
    to one of the routes given to `serve_directly` is handed to its handler from this
    one frame, after the checks those layers make for a socket: the exposed-defaults
    guard (close 1013) and the per-address cap (close 1008). Anything else, websockets
    on other paths included, takes the whole stack. The handlers check Origin and their
    tokens themselves; FastAPI's native telemetry, when enabled, does not see them.
    """

    _direct: Mapping[str, ASGIApp] = {}
    _cap: ConnectionCap | None = None
    _guard: ExposedDefaultsGuard | None = None
    _admission: Admission | None = None

    def serve_directly(self, routes: Mapping[str, ASGIApp], *, cap: ConnectionCap,
                       admission: Admission) -> None:
        """Serve websockets to `routes` (path -> ASGI handler) from here."""
        self._direct = dict(routes)
        self._cap = cap
        self._admission = admission
        self._guard = ExposedDefaultsGuard(self.router)  # its check only, never called

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self._direct.get(scope["path"]) if scope["type"] == "websocket" else None
        if (handler is None or self._cap is None or self._guard is None
                or self._admission is None):
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self  # as Starlette sets it: handlers read app.state through it
        if self.root_path:
            scope["root_path"] = self.root_path
        if self._guard.refuses(scope):
            await send({"type": "websocket.close", "code": 1013})
            return
        client = scope.get("client")
        address = client[0] if client else "unknown"
        if not self._cap.enter(address):
            await send({"type": "websocket.close", "code": 1008, "reason": "too_many_sockets"})
            return
        try:
            # A storm's excess is told when to come back (app.admission), as in
            # DirectWebsockets.
            ticket = ticket_for(self._admission, scope, send)
            if isinstance(ticket, int):
                await shed(receive, send, ticket)
                return
            scope[TICKET] = ticket
            try:
                await handler(scope, receive, send)
            except DATABASE_DOWN as exc:  # as app.ws.database_guarded, without its frame
                await database_down(exc, scope, send)
            finally:
                ticket.leave()
        finally:
            self._cap.leave(address)
