"""Real `diemcau serve` processes for the fault tests, and a private PostgreSQL server.

A fault test stops, kills and restarts what it starts here, never a machine service:
the machine's PostgreSQL and Redis are shared by everyone on the box.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import ADMIN_PASSWORD, IN_CI, SECRET, _truncate_pg

DIEMCAU = str(Path(sys.executable).with_name("diemcau"))
# A spare Redis database: the throttle's keys of these servers stay out of others' way.
REDIS_URL = os.environ.get("DIEMCAU_TEST_FAULTS_REDIS_URL", "redis://127.0.0.1:6379/12")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def skip_or_fail(reason: str) -> None:
    """Skip on a laptop without the service; fail in CI, where it must be there."""
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.exceptions.RedisError as exc:
        skip_or_fail(f"Redis at {REDIS_URL} is unreachable ({type(exc).__name__})")
    return REDIS_URL


def serve_env(database_url: str, broker_url: str = "memory://", **extra: str) -> dict[str, str]:
    """The environment of a served test app: no DIEMCAU_* setting of the developer's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIEMCAU_")}
    env.update(
        DIEMCAU_ENV="test", DIEMCAU_DATABASE_URL=database_url, DIEMCAU_BROKER_URL=broker_url,
        DIEMCAU_SECRET_KEY=SECRET, DIEMCAU_ADMIN_PASSWORD=ADMIN_PASSWORD,
        DIEMCAU_PURGE_HOUR="-1", DIEMCAU_WS_CONNECTIONS_PER_CLIENT="0",
        # Pub/sub is shared by every user of the machine's Redis: channels of our own.
        DIEMCAU_BROKER_CHANNEL_PREFIX=f"diemcau-faults-{uuid.uuid4().hex[:8]}:", **extra,
    )
    return env


@dataclass
class Served:
    """`diemcau serve` in its own process group; `start` again after `stop` (same port)."""

    env: dict[str, str]
    cwd: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        log = (self.cwd / "serve.log").open("ab")
        self.proc = subprocess.Popen(
            [DIEMCAU, "serve", "--port", str(self.port), "--workers", str(self.workers)],
            cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not self.healthy():
            assert self.proc.poll() is None, self.log()
            assert time.monotonic() < deadline, f"no /healthz within {timeout} s\n{self.log()}"
            time.sleep(0.05)

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        """Every worker stops (SIGTERM to the supervisor, then the group if it lingers)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def worker_pids(self) -> list[int]:
        """The uvicorn workers: children of the supervisor started by multiprocessing's
        spawn (not its resource tracker)."""
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        pids = []
        for pid in children.split():
            with suppress(FileNotFoundError):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"spawn_main" in cmdline:
                    pids.append(int(pid))
        return pids

    def log(self) -> str:
        return (self.cwd / "serve.log").read_text(errors="replace")


@contextmanager
def served(env: dict[str, str], cwd: Path, workers: int = 1) -> Iterator[Served]:
    server = Served(env=env, cwd=cwd, workers=workers)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def admin_client(base: str) -> Iterator[httpx.Client]:
    """An HTTP client logged in as the central office (bearer token)."""
    with httpx.Client(base_url=base, timeout=10) as http:
        r = http.post("/api/v1/auth/token",
                      data={"username": "admin", "password": ADMIN_PASSWORD})
        assert r.status_code == 200, r.text
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield http


# -- a private PostgreSQL ------------------------------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PrivatePostgres:
    """A throw-away PostgreSQL server on a free port, started and stopped by the test."""

    def __init__(self) -> None:
        bindir = _pg_bin()
        if bindir is None:
            skip_or_fail("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
        assert bindir is not None
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="diemcau-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        # initdb refuses root: as root (CI here), run the server as the postgres account.
        self._as: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")

    def _run(self, program: str, *args: str) -> None:
        subprocess.run([*self._as, str(self.bindir / program), *args], check=True,
                       capture_output=True, timeout=60)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "server.log"), "-w", "start")

    def stop(self) -> None:
        """As a crash or a restart looks to clients: connections cut at once."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        with suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def fresh_pg(pg_database: str) -> str:
    """The test worker's migrated PostgreSQL database, emptied (skips or fails, in CI,
    without PostgreSQL, as tests/conftest.py decides)."""
    _truncate_pg(pg_database)
    return pg_database
