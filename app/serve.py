"""How `diemcau serve` runs uvicorn: the protocol choices and the limits a storm needs.

31,000 screens reconnecting at 2,000 a second need, besides admission control
(app/admission.py):

* a listen queue long enough for the seconds a busy worker accepts late: uvicorn's
  default is 2,048, the kernel caps any request at ``net.core.somaxconn`` (raise it
  with ``sysctl -w net.core.somaxconn=8192``); an overflowing queue drops connections
  with no word to the client;
* an open-file limit above the sockets a worker holds: the soft limit is raised to the
  hard one at start (worker processes inherit it); raise the hard limit with
  ``ulimit -Hn`` / systemd's ``LimitNOFILE=`` when it is too low.
"""

from collections.abc import Callable
from pathlib import Path

from app.admission import raise_open_file_limit

SOMAXCONN = Path("/proc/sys/net/core/somaxconn")


def granted_backlog(asked: int) -> tuple[int, bool]:
    """The listen queue the kernel grants: (length, capped by somaxconn)."""
    try:
        cap = int(SOMAXCONN.read_text())
    except (OSError, ValueError):
        return asked, False
    return min(asked, cap), asked > cap


def run_server(
    *, host: str, port: int, workers: int, backlog: int, access_log: bool,
    echo: Callable[[str], object],
) -> None:
    """Raise the open-file limit, then run the app under uvicorn until stopped."""
    import uvicorn

    before, after = raise_open_file_limit()
    queue, capped = granted_backlog(backlog)
    note = f" (yêu cầu {backlog}: tăng net.core.somaxconn)" if capped else ""
    echo(f"Giới hạn tệp mở: {before} → {after}; hàng đợi kết nối: {queue}{note}")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        # Pinned, not "auto": app/wsfast.py writes pre-framed changes straight to this
        # protocol's transport (other backends fall back to plain ASGI sends). It keeps
        # no reader task per socket, so it is also the lightest in memory; the subclass
        # only makes its receive queue leaner (app/uvicorn_ws.py).
        ws="app.uvicorn_ws:LeanWebSocketProtocol",
        # Per-message compression costs 64+ KB per socket and would make every
        # client's frame different; our messages are small.
        ws_per_message_deflate=False,
        ws_max_size=64 * 1024,
        # A storm arrives faster than a busy worker accepts: see the module docstring.
        backlog=backlog,
        log_level="info",
        # One log line per request costs a measurable share of a check-in burst;
        # the reverse proxy keeps the access log in production.
        access_log=access_log,
    )
