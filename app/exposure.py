"""Fail closed: published defaults are refused as soon as the server is reachable.

On loopback only the developer's own machine can reach the server, so the development
defaults (admin/admin) are convenient and harmless there. On any other address anyone
on the hall's Wi-Fi could log in as the central office, or sign an admin token with a
known secret; `diemcau serve` then refuses to start, whatever DIEMCAU_ENV says.
"""

import ipaddress

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
