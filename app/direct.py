"""A shortcut for the busiest JSON POST routes past FastAPI's router and dependencies.

At 500 answers a second FastAPI's request handling (route matching, dependency solving,
body parsing and validation, response model) cost the event loop about as much as the
answer's own work. A route listed here is still declared on the app (OpenAPI, tests,
every other request) but its requests go straight to a bare ASGI handler. The shortcut
sits inside the security headers and the audit context, so those apply as to any
request; the body limit and the exposed-defaults guard are further out. A handler that
meets anything but the plain case (a body that is not valid JSON of the right shape)
hands the request on, its body replayed (`replay`), to the declared route, which gives
the usual 422; so the shortcut never answers differently from the route.
"""

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import AppError, app_error_response

M = TypeVar("M", bound=BaseModel)

#: A direct handler: the scope (path parameters in scope["path_params"]), receive, send
#: and the declared app to hand a request it does not take to.
DirectHandler = Callable[[Scope, Receive, Send, ASGIApp], Awaitable[None]]


class DirectPosts:
    """Hands POSTs to paths matching a pattern straight to their handler."""

    def __init__(self, app: ASGIApp, routes: Sequence[tuple[str, DirectHandler]]) -> None:
        self.app = app
        self.routes = [(re.compile(pattern), handler) for pattern, handler in routes]

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: other requests and websockets keep no frame of it.
        if scope["type"] == "http" and scope["method"] == "POST":
            for pattern, handler in self.routes:
                found = pattern.fullmatch(scope["path"])
                if found is not None:
                    scope["path_params"] = found.groupdict()
                    return handler(scope, receive, send, self.app)
        return self.app(scope, receive, send)


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the already read body again, then what `receive` gives."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


def json_body(request: Request, body: bytes, model: type[M]) -> M | None:
    """The body as `model` when it is JSON (by its Content-Type) and valid; else None
    (the declared route then says what is wrong, as it always did)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        return None
    try:
        return model.model_validate_json(body)
    except ValidationError:
        return None


async def respond(request: Request, send: Send, answer: Awaitable[Response]) -> None:
    """Send what `answer` gives, or the app's usual answer to the `AppError` it raised."""
    try:
        response = await answer
    except AppError as exc:
        response = app_error_response(request, exc)
    await response(request.scope, request.receive, send)
