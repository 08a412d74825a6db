"""Who is acting: one `Actor` per request (set by `AuditContext`), filled in once the
login is known, read by the recorder inside the same request's threads.

The actor is a mutable object put in a context variable before the app runs: the
threads a request runs in get a copy of the context (Starlette's threadpool, and the
write gate copies it too), and they all see the same object, so the user found by a
dependency in one thread is the actor of the write made in another.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass
class Actor:
    role: str  # admin, coordinator, attendee, anonymous, system
    address: str | None = None
    user_id: int | None = None
    username: str | None = None


SYSTEM = Actor(role="system")
_current: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)


def current_actor() -> Actor:
    """The actor of this request, or the system (CLI, background jobs, tests)."""
    return _current.get() or SYSTEM


def set_actor(actor: Actor) -> None:
    """Make `actor` the actor of this context (CLI commands name theirs)."""
    _current.set(actor)


@contextmanager
def acting(actor: Actor) -> Iterator[None]:
    """`actor` is the actor inside the block: work done for several requests in one
    context (a group commit's batch) names each one's own."""
    token = _current.set(actor)
    try:
        yield
    finally:
        _current.reset(token)


def clear_actor() -> None:
    """Back to no actor (the system): tests start each case from here."""
    _current.set(None)


def identify(*, user_id: int | None, username: str, role: str) -> None:
    """The request's login is known: its writes are that user's."""
    actor = _current.get()
    if actor is None:
        return
    actor.user_id, actor.username, actor.role = user_id, username, role


def act_as_attendee(attendee_id: int) -> None:
    """An attendee acting on their own data with their personal code."""
    actor = _current.get()
    if actor is not None and actor.user_id is None:
        actor.role, actor.username = "attendee", f"attendee:{attendee_id}"


class AuditContext:
    """Pure ASGI middleware: each HTTP request and websocket gets its own anonymous actor
    with the client's address (the proxy's forwarded one, as uvicorn gives it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        token = _current.set(Actor(role="anonymous", address=client[0] if client else None))
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)
