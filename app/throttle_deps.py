"""The throttle as a request dependency, and who the client is."""

from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from app.throttle import Throttle


async def get_throttle(request: Request) -> Throttle:
    """The app's throttle (async: resolving it costs no thread hop)."""
    throttle: Throttle = request.app.state.throttle
    return throttle


ThrottleDep = Annotated[Throttle, Depends(get_throttle)]


def client_address(connection: HTTPConnection) -> str:
    """The client's address (uvicorn runs with proxy_headers: behind the proxy it is the
    forwarded one); "unknown" when the server gives none."""
    client = connection.client
    return client.host if client is not None else "unknown"
