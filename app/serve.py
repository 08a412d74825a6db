"""How `diemcau serve` runs uvicorn: the protocol choices and the limits a storm needs.

31,000 screens reconnecting at 2,000 a second need, besides admission control
(app/admission.py):

* a listen queue long enough for the seconds a busy worker accepts late: uvicorn's
  default is 2,048, the kernel caps any request at ``net.core.somaxconn`` (raise it
  with ``sysctl -w net.core.somaxconn=8192``); an overflowing queue drops connections
  with no word to the client;
* an open-file limit above the sockets a worker holds: the soft limit is raised to the
  hard one at start (worker processes inherit it); raise the hard limit with
  ``ulimit -Hn`` / systemd's ``LimitNOFILE=`` when it is too low;
* a supervisor that does not kill a slow worker: see :data:`WORKER_HEALTHCHECK_SECONDS`.
"""

from collections.abc import Callable
from pathlib import Path

from app.admission import raise_open_file_limit

SOMAXCONN = Path("/proc/sys/net/core/somaxconn")
#: How long uvicorn's supervisor waits for a worker to answer its ping (every 0.5 s)
#: before it kills the worker as hung and starts another. uvicorn's 5 s killed workers
#: in a loop on a loaded 2-core host: a worker importing the app (3-5 s of CPU without
#: bytecode caches, 7-11 s of wall time at load 7) never answered its first ping in
#: time (bench/storm.py could not start). A worker busy in a storm answers late too,
#: and killing it would drop every screen it holds. A dead worker is still replaced at
#: once (its process is gone); only a hung one waits this long.
WORKER_HEALTHCHECK_SECONDS = 60


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
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        log_level="info",
        # One log line per request costs a measurable share of a check-in burst;
        # the reverse proxy keeps the access log in production.
        access_log=access_log,
    )
