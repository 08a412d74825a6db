"""The generated secret: made once with mode 0600, reused, shared by processes started together."""

import os
import stat
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from app.secret_file import SecretFileError, load_or_create_secret, secret_path


def test_secret_is_created_0600_and_reused(tmp_path: Path) -> None:
    data = tmp_path / "var"
    first = load_or_create_secret(data)
    path = secret_path(data)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert load_or_create_secret(data) == first
    assert [p.name for p in data.iterdir()] == ["secret_key"]  # no temporary file left


def test_secret_readable_by_others_is_refused(tmp_path: Path) -> None:
    load_or_create_secret(tmp_path)
    os.chmod(secret_path(tmp_path), 0o644)
    with pytest.raises(SecretFileError, match="chmod 600"):
        load_or_create_secret(tmp_path)


def test_short_secret_file_is_refused(tmp_path: Path) -> None:
    path = secret_path(tmp_path)
    path.write_text("short\n")
    os.chmod(path, 0o600)
    with pytest.raises(SecretFileError):
        load_or_create_secret(tmp_path)


def test_workers_starting_together_share_one_secret(tmp_path: Path) -> None:
    with ProcessPoolExecutor(max_workers=4) as pool:
        secrets = set(pool.map(load_or_create_secret, [tmp_path] * 8))
    assert len(secrets) == 1
    assert secret_path(tmp_path).read_text().strip() in secrets
