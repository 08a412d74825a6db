"""Redis down at start: `diemcau serve` refuses to start, naming the broker without its
password, with several workers and with one (no silent start on a blind hub)."""

import os
import signal
import subprocess
from pathlib import Path

import pytest

from app.broker_check import redacted
from tests.app.faults.serving import DIEMCAU, free_port, serve_env


def test_redacted_hides_only_the_password() -> None:
    assert redacted("redis://:s3cret@cache:6380/2") == "redis://:***@cache:6380/2"
    assert redacted("rediss://app:s3cret@cache/0") == "rediss://app:***@cache/0"
    assert redacted("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize("workers", [2, 1])
def test_serve_refuses_to_start_without_its_redis_broker(tmp_path: Path, workers: int) -> None:
    closed = free_port()  # bound then released: nothing listens there
    broker = f"redis://diemcau:mat-khau-redis@127.0.0.1:{closed}/3"
    env = serve_env(f"sqlite:///{tmp_path / 'db.sqlite'}", broker)
    proc = subprocess.Popen(
        [DIEMCAU, "serve", "--port", str(free_port()), "--workers", str(workers)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # it started serving: workers and all
        output, _ = proc.communicate()
    assert proc.returncode == 2, output
    assert f"DIEMCAU_BROKER_URL=redis://diemcau:***@127.0.0.1:{closed}/3" in output
    assert "mat-khau-redis" not in output
    assert "đang chạy" not in output  # never got as far as serving
    assert not (tmp_path / "db.sqlite").exists()  # refused before migrating anything
