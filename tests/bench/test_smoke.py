"""A short smoke run of every benchmark, so bench/ keeps working; the real runs are manual."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _run(module: str, timeout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("module", "timeout"),
    [("bench.import_sites", 120), ("bench.registry", 120), ("bench.invite", 120),
     ("bench.fanout", 180), ("bench.fanout_command", 120), ("bench.registry_pages", 120),
     ("bench.dashboard", 240), ("bench.login_flood", 240), ("bench.floor", 240),
     ("bench.forms", 240), ("bench.storm", 120), ("bench.offline", 120)],
)
def test_benchmark_smoke_run_succeeds(module: str, timeout: int) -> None:
    result = _run(module, timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.strip(), "a benchmark prints its figures"


def test_checkin_benchmark_smoke_run_succeeds() -> None:
    if shutil.which("wrk") is None:
        reason = "wrk is not installed (apt-get install wrk)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    result = _run("bench.checkin", 240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "ratio" in result.stdout
