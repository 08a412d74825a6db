"""Keep attendees' data and link secrets out of the logs.

Bound SQL parameters are hidden by the engine itself (`hide_parameters=True` in
app/db.py). What is left is the text that loggers write around requests:

* uvicorn logs every websocket handshake at INFO with its query string
  (``/ws/screen?token=scr_…``, a screen's credential), and, with
  DIEMCAU_ACCESS_LOG=true, every request line: link secrets in paths
  (``/c/{site_token}``, ``/invite/{token}``, ``/follow/{token}``) and the name
  search (``?q=Nguyễn…``);
* app/errors.py names the path of a refused request;
* SQLAlchemy, when someone turns its logger to DEBUG, prints result rows (names,
  phones, pass codes): those records are dropped, statements still show.

Without the access log (DIEMCAU_ACCESS_LOG), uvicorn's and websockets' three INFO lines
per websocket (``[accepted]``, ``connection open``, ``connection closed``) are dropped
too: in a storm of 31,000 screens, sheds included, formatting, redacting and writing
them took 13 % of a worker's event loop (py-spy, bench/storm.py). Start-up lines,
warnings and errors of the same logger stay.

Logger filters apply to records logged on that very logger, so each is named here.
"""

import logging
import re

#: Paths whose rest is a secret link: self check-in, invites, follow links, one-time
#: password links. A numeric id right after the prefix is kept (/invites/12/revoke);
#: otherwise the whole rest of the path goes, so a longer token path hides too.
SECRET_PATH_PREFIXES = ("c", "invite", "invites", "follow", "reset", "password-reset")
_SECRET_SEGMENT = re.compile(
    rf"(/(?:{'|'.join(map(re.escape, SECRET_PATH_PREFIXES))})/)"
    r"(?!\d+(?:[/?#\s\"']|$))[^?#\s\"']+"
)
# Query values that are secrets or personal: tokens and the name search.
_SECRET_QUERY = re.compile(r"([?&](?:token|screen_token|q|code)=)[^&#\s\"']*", re.I)
HIDDEN = "***"
REDACTED_LOGGERS = ("uvicorn.access", "uvicorn.error", "app.errors")
SQL_LOGGERS = ("sqlalchemy.engine.Engine",)


def redact(text: str) -> str:
    """`text` with link secrets and search terms replaced by ***."""
    text = _SECRET_SEGMENT.sub(rf"\g<1>{HIDDEN}", text)
    return _SECRET_QUERY.sub(rf"\g<1>{HIDDEN}", text)


class RedactSecrets(logging.Filter):
    """Rewrites a record's message and string arguments through `redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


class DropRows(logging.Filter):
    """Drops SQLAlchemy's DEBUG records of result rows (`Row (...)`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith("Row "))


#: uvicorn's and websockets' per-socket INFO messages (before formatting).
SOCKET_LINES = frozenset({'%s - "WebSocket %s" [accepted]', "connection open",
                          "connection closed"})


class DropSocketLines(logging.Filter):
    """Drops the per-websocket INFO lines of :data:`SOCKET_LINES` (the access log's
    business, off by default)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.INFO and record.msg in SOCKET_LINES)


_REDACT = RedactSecrets()
_DROP_ROWS = DropRows()
_DROP_SOCKET_LINES = DropSocketLines()


def install_log_filters(*, socket_lines: bool = True) -> None:
    """Put the filters on their loggers (idempotent: a filter is added once);
    ``socket_lines`` False drops the per-websocket lines (the access log is off)."""
    handshakes = logging.getLogger("uvicorn.error")
    if socket_lines:
        handshakes.removeFilter(_DROP_SOCKET_LINES)
    elif _DROP_SOCKET_LINES not in handshakes.filters:
        # First, so that a dropped line is not redacted for nothing.
        handshakes.filters.insert(0, _DROP_SOCKET_LINES)
    for name in REDACTED_LOGGERS:
        logging.getLogger(name).addFilter(_REDACT)
    for name in SQL_LOGGERS:
        logging.getLogger(name).addFilter(_DROP_ROWS)
