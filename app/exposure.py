"""Fail closed: published defaults are refused as soon as the server is reachable.

On loopback only the developer's own machine can reach the server, so the development
defaults (admin/admin) are convenient and harmless there. On any other address anyone
on the hall's Wi-Fi could log in as the central office, or sign an admin token with a
known secret; `diemcau serve` then refuses to start, whatever DIEMCAU_ENV says.
"""

import ipaddress
import json

from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import Settings

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; any other name or address is exposed."""
    name = host.strip().strip("[]").casefold()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name may resolve anywhere: treat it as exposed


def exposure_problems(settings: Settings, *, host: str, default_admin_works: bool) -> list[str]:
    """What must change before serving on `host` (empty when it is safe), in Vietnamese."""
    if is_loopback(host):
        return []
    problems = []
    if settings.uses_default_secret:
        problems.append(
            "DIEMCAU_SECRET_KEY là khoá mặc định hoặc quá ngắn: đặt một chuỗi ngẫu nhiên "
            "32+ ký tự, hoặc bỏ trống để máy chủ tự tạo khoá trong thư mục dữ liệu."
        )
    if default_admin_works:
        problems.append(
            "Tài khoản ban tổ chức vẫn dùng mật khẩu mặc định: đặt DIEMCAU_ADMIN_PASSWORD "
            "(trước lần chạy đầu) hoặc đổi mật khẩu tài khoản đó."
        )
    return problems


class ExposedDefaultsGuard:
    """ASGI backstop for servers started without `diemcau serve` (plain uvicorn, gunicorn).

    While `app.state.published_defaults` is true (set at start-up), a request or socket
    that reached the server on a non-loopback address gets 503 with the code
    `published_defaults_exposed`; loopback (a local reverse proxy, the developer) works.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._exposed: dict[str, bool] = {}

    def _is_exposed(self, scope: Scope) -> bool:
        server = scope.get("server")
        if not server:
            return False  # a unix socket: only local processes reach it
        host = str(server[0])
        exposed = self._exposed.get(host)
        if exposed is None:
            exposed = self._exposed[host] = not is_loopback(host)
        return exposed

    def refuses(self, scope: Scope) -> bool:
        """True when this request or socket must be refused (needs `scope["app"]`)."""
        return scope["type"] in ("http", "websocket") and getattr(
            scope["app"].state, "published_defaults", False
        ) and self._is_exposed(scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.refuses(scope):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1013})
                return
            body = json.dumps(
                {"code": "published_defaults_exposed", "detail": REFUSED_DETAIL}
            ).encode()
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


REFUSED_DETAIL = (
    "Máy chủ đang dùng khoá bí mật hoặc mật khẩu ban tổ chức mặc định nên chỉ phục vụ trên "
    "127.0.0.1. Đặt DIEMCAU_SECRET_KEY và DIEMCAU_ADMIN_PASSWORD rồi khởi động lại."
)
