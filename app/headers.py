"""Security headers on every HTTP response: CSP, nosniff, no referrer, no camera.

A pure ASGI middleware (not BaseHTTPMiddleware, which runs each request in an extra
task): it appends a few prebuilt header pairs to the response start, so the check-in
hot path pays one closure and one list copy. Websockets are passed through untouched
(and /ws/screen never reaches it: DirectWebsockets answers that path first).

A route that needs a different value for one of these headers sets it on its own
response (the scanner page allows the camera: `allow_camera`); the middleware keeps
any such header the response already carries.
"""

from collections.abc import Awaitable, MutableMapping
from typing import Any, TypeVar

from fastapi import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The page policy. Why each source:
#: - scripts only from our files: every script lives in app/static (no inline code,
#:   no eval; <script type="application/json"> data blocks are not scripts);
#: - styles only from our files: the inline <style> blocks moved to app/static too
#:   (scripts still set element.style through the CSSOM, which CSP does not govern);
#: - images from us and data: URLs: the site screen shows its self check-in QR as a
#:   data:image/svg+xml URL, and Swagger UI's stylesheet draws its icons with them;
#: - connect: same-origin fetches and the same-origin websockets; the ws:/wss: schemes
#:   are listed because browsers before CSP 3 (older Safari) do not count ws:// as
#:   'self'; without script injection no script can use them to reach elsewhere;
#: - no plugins, no <base> rewrite, forms post only to us, never framed.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self' ws: wss:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
#: Nothing asks for these features; the camera only on the scanner page (`allow_camera`).
NO_FEATURES = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
CAMERA_ALLOWED = "camera=(self), microphone=(), geolocation=(), payment=(), usb=()"

PERMISSIONS_POLICY = b"permissions-policy"
_ADDED: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    # For browsers that predate frame-ancestors.
    (b"x-frame-options", b"DENY"),
    (PERMISSIONS_POLICY, NO_FEATURES.encode()),
)
_NAMES = frozenset(name for name, _ in _ADDED)

R = TypeVar("R", bound=Response)


def allow_camera(response: R) -> R:
    """Let this page use the camera (the scanner desk reads QR codes with it)."""
    response.headers["Permissions-Policy"] = CAMERA_ALLOWED
    return response


def _with_headers(headers: Any) -> list[tuple[bytes, bytes]]:
    own = list(headers)
    # Most responses set none of ours: then the prebuilt pairs go on as they are.
    present = [name for name, _ in own if name.lower() in _NAMES]
    if not present:
        return own + list(_ADDED)
    kept = {name.lower() for name in present}
    return own + [pair for pair in _ADDED if pair[0] not in kept]


class SecurityHeaders:
    """Adds the security headers to every HTTP response of `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: a websocket gets the inner app's coroutine as it is, so
        # thousands of open sockets keep no frame of this middleware alive.
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                start: MutableMapping[str, Any] = message
                start["headers"] = _with_headers(start.get("headers", ()))
            await send(message)

        await self.app(scope, receive, send_with_headers)
