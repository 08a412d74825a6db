"""The generated secret key: made once in the data folder, mode 0600, reused after.

Used when DIEMCAU_SECRET_KEY is not set, so a fresh install never runs on a secret
everyone knows. Several workers started together end up with the same value: the file
is written under a temporary name and then hard-linked into place, which fails for
every process but the first (they read the winner's file).
"""

import contextlib
import os
import secrets
import stat
from pathlib import Path

SECRET_FILE_NAME = "secret_key"  # noqa: S105 - a file name
MIN_SECRET_CHARS = 32


class SecretFileError(ValueError):
    """The secret file is unusable (readable by others, too short); the operator must fix it."""


def secret_path(data_dir: Path) -> Path:
    """Where the generated secret lives."""
    return data_dir / SECRET_FILE_NAME


def _read(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SecretFileError(
            f"{path} có quyền {mode:o}: chỉ chủ sở hữu được đọc khoá bí mật (chmod 600 {path})"
        )
    value = path.read_text(encoding="ascii").strip()
    if len(value) < MIN_SECRET_CHARS:
        raise SecretFileError(f"{path} chứa khoá quá ngắn; xoá tệp để tạo lại")
    return value


def load_or_create_secret(data_dir: Path) -> str:
    """The secret kept in `data_dir`, created (mode 0600) on first use."""
    path = secret_path(data_dir)
    if path.exists():
        return _read(path)
    data_dir.mkdir(parents=True, exist_ok=True)
    temp = data_dir / f".{SECRET_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: use its file
            os.link(temp, path)  # atomic, and refuses to replace a winner's file
    finally:
        temp.unlink(missing_ok=True)
    return _read(path)
