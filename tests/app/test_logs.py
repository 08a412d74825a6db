"""Nothing personal or secret reaches the logs, even with every logger at DEBUG.

A full scenario runs against the app under uvicorn (access log on, uvicorn's own
logging left to the root logger): sites registered through an invite, a roster
imported with names and phones, a check-in by QR, a self check-in, a name search,
a screen's websocket, a SQL error carrying an attendee's data, the exports. Every
record any server-side logger wrote is then searched for the names, phones, pass
codes and link tokens.
"""

import io
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from websockets.sync.client import connect

from app.db import local_today
from app.logs import HIDDEN, install_log_filters, redact
from app.main import create_app
from checkin.models import Attendee
from tests.conftest import ADMIN_PASSWORD, make_settings

NAMES = ["Nguyễn Thị Bích Ngọc", "Trần Quốc Khánh"]
PHONES = ["0912345678", "0987654321"]
# The client side of the test (httpx, websockets) logs its own requests.
CLIENT_LOGGERS = ("httpx", "httpcore", "websockets.client")


class Capture(logging.Handler):
    """Every record, formatted with its traceback, as the server would write it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(CLIENT_LOGGERS):
            self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Iterator[Capture]:
    """The root logger and every logger known so far at DEBUG, into one handler (an
    earlier uvicorn in this process may have set its loggers not to propagate)."""
    capture = Capture()
    root = logging.getLogger()
    for name in ("sqlalchemy.engine", "uvicorn", "uvicorn.access", "uvicorn.error"):
        logging.getLogger(name)
    loggers = [root, *(lg for lg in logging.Logger.manager.loggerDict.values()
                       if isinstance(lg, logging.Logger))]
    saved = [(lg, lg.level, lg.propagate, lg.disabled) for lg in loggers]
    root.addHandler(capture)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.propagate = True
        lg.disabled = False
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        for lg, level, propagate, disabled in saved:
            lg.setLevel(level)
            lg.propagate = propagate
            lg.disabled = disabled


@dataclass
class Server:
    url: str
    app: object


@pytest.fixture
def server(database_url: str, captured: Capture) -> Iterator[Server]:
    app = create_app(make_settings(database_url, access_log=True))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # log_config=None: uvicorn's records go to the root logger (and so to Capture).
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                            access_log=True, ws="websockets-sansio")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield Server(url, app)
    finally:
        uv.should_exit = True
        thread.join(timeout=15)


def _register_and_import(http: httpx.Client) -> tuple[int, int, str]:
    today = local_today().isoformat()
    cid = http.post("/api/v1/conferences", json={
        "title": "Hội nghị nhật ký", "starts_on": today, "ends_on": today}).json()["id"]
    invite = http.post(f"/api/v1/conferences/{cid}/invites", json={}).json()["token"]
    r = http.post(f"/api/v1/invites/{invite}/register", json={
        "site_name": "Phường Tân Định", "kind": "ward", "full_name": NAMES[1],
        "phone": PHONES[1], "username": "tandinh", "password": "mat-khau-dai-1",
        "accept_notice": True, "notice_version": 1})
    assert r.status_code == 201, r.text
    assert http.post(f"/api/v1/sites/{r.json()['site']['id']}/approve").status_code == 200
    code = "LOG-BN"
    site = http.post(f"/api/v1/conferences/{cid}/sites",
                     json={"name": "Phường Bến Nghé", "kind": "ward", "code": code}).json()["id"]
    roster = "họ và tên,mã điểm cầu,số điện thoại\n" + "".join(
        f"{name},{code},{phone}\n" for name, phone in zip(NAMES, PHONES, strict=True))
    r = http.post(f"/api/v1/conferences/{cid}/attendees/import",
                  files={"file": ("ds.csv", io.BytesIO(roster.encode()), "text/csv")})
    assert r.status_code == 201, r.text
    return cid, site, invite


def _scenario(server: Server) -> list[str]:
    """Run the event; the secrets it handled (pass codes, short codes, tokens)."""
    http = httpx.Client(base_url=server.url, timeout=30)
    r = http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    cid, site, invite = _register_and_import(http)
    first, second = (
        http.get(f"/api/v1/attendees/{found[0]['id']}").json()
        for found in (
            http.get(f"/api/v1/conferences/{cid}/attendees", params={"q": name}).json()
            for name in NAMES
        )
    )
    r = http.post("/api/v1/checkins", json={"code": first["code"], "site_id": site})
    assert r.status_code == 201, r.text
    site_token = http.get(f"/api/v1/sites/{site}/self-checkin-qr").json()["token"]
    assert http.get(f"/c/{site_token}").status_code == 200
    r = http.post("/api/v1/checkins/self",
                  json={"site_token": site_token, "code": second["short_code"]})
    assert r.status_code == 201, r.text
    screen = http.post(f"/api/v1/sites/{site}/screen-token").json()["token"]
    with connect(server.url.replace("http", "ws") + f"/ws/screen?token={screen}") as ws:
        ws.recv(timeout=10)
    for report in ("attendance.csv", "attendance.xlsx"):
        assert http.get(f"/api/v1/conferences/{cid}/reports/{report}").status_code == 200
    _sql_error(server, conference_id=cid, site_id=site, like=first)
    http.close()
    return [first["code"], first["short_code"], second["code"], second["short_code"],
            site_token, screen, invite]


def _sql_error(server: Server, *, conference_id: int, site_id: int, like: dict[str, str]) -> None:
    """A constraint violation (a second attendee with the same short code), logged the
    way the app's error handler logs an unexpected error: with its traceback."""
    with Session(server.app.state.engine) as db:  # type: ignore[attr-defined]
        db.add(Attendee(conference_id=conference_id, site_id=site_id, full_name=NAMES[0],
                        name_key=NAMES[0], sort_key="00", phone=PHONES[0],
                        short_code=like["short_code"]))
        with pytest.raises(IntegrityError):
            try:
                db.commit()
            except IntegrityError:
                logging.getLogger("app.errors").exception("unhandled error on /api/v1/x")
                raise


def test_nothing_personal_or_secret_is_logged(server: Server, captured: Capture) -> None:
    secrets = _scenario(server)
    logged = "\n".join(captured.lines)
    # The capture works: requests, websockets and SQL were all logged.
    assert '"POST /api/v1/checkins HTTP/1.1" 201' in logged
    assert "WebSocket /ws/screen" in logged
    assert "INSERT INTO attendee" in logged
    assert "IntegrityError" in logged and "short_code" in logged
    for value in [*NAMES, *PHONES, *secrets]:
        for form in {value, quote(value), quote(value, safe="")}:
            assert form not in logged, value


def test_redact_hides_link_secrets_and_searches_but_keeps_ids() -> None:
    assert redact('"GET /c/AbC123 HTTP/1.1" 200') == f'"GET /c/{HIDDEN} HTTP/1.1" 200'
    assert redact("/api/v1/invites/tok-xyz/register") == f"/api/v1/invites/{HIDDEN}"
    assert redact("/follow/s/abc?x=1") == f"/follow/{HIDDEN}?x=1"
    assert redact("/invites/12/revoke") == "/invites/12/revoke"
    assert redact("/ws/screen?token=scr_x&since=3") == f"/ws/screen?token={HIDDEN}&since=3"
    assert redact("/api/v1/conferences/1/attendees?q=Nguy%E1%BB%85n") == (
        f"/api/v1/conferences/1/attendees?q={HIDDEN}")
    assert redact("/follow/abc.def") == f"/follow/{HIDDEN}"


def test_filters_are_installed_once() -> None:
    install_log_filters()
    install_log_filters()
    assert len(logging.getLogger("uvicorn.error").filters) == 1
    install_log_filters(socket_lines=False)
    install_log_filters(socket_lines=False)
    assert len(logging.getLogger("uvicorn.error").filters) == 2
    install_log_filters()
    assert len(logging.getLogger("uvicorn.error").filters) == 1


def _record(msg: str, *args: object, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.error", level, __file__, 1, msg, args, None)


def test_without_the_access_log_the_per_socket_lines_are_dropped() -> None:
    """A storm's tens of thousands of handshakes write nothing; the rest still shows."""
    handshakes = logging.getLogger("uvicorn.error")
    install_log_filters(socket_lines=False)
    try:
        accepted = _record('%s - "WebSocket %s" [accepted]', "127.0.0.1:5", "/ws/screen")
        assert not handshakes.filter(accepted)
        assert not handshakes.filter(_record("connection open"))
        assert not handshakes.filter(_record("connection closed"))
        assert handshakes.filter(_record("Started server process [%d]", 12))
        assert handshakes.filter(_record('%s - "WebSocket %s" 403', "127.0.0.1:5", "/ws/x"))
        assert handshakes.filter(_record("connection open", level=logging.WARNING))
    finally:
        install_log_filters()
    assert handshakes.filter(_record("connection open"))
