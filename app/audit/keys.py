"""Per-person keys of the personal values in the log (see models.py): seal, open, forget."""

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Connection, delete, insert, select

from app.audit.models import AuditKey

ERASED = "[đã xoá]"  # what a value reads as once its person's key is gone
_table = AuditKey.__table__  # type: ignore[attr-defined]


def subject_of(table: str, key: object) -> str:
    """The subject name of a row: ``attendee:42``."""
    return f"{table}:{key}"


def key_for(conn: Connection, subject: str, cache: dict[str, str]) -> str:
    """The subject's key, made on first use."""
    if subject in cache:
        return cache[subject]
    found = conn.execute(select(_table.c.key).where(_table.c.subject == subject)).scalar()
    if found is None:
        found = Fernet.generate_key().decode()
        conn.execute(insert(_table), {"subject": subject, "key": found})
    cache[subject] = str(found)
    return str(found)


def seal(key: str, value: Any) -> dict[str, str]:
    """A personal value as the log stores it."""
    token = Fernet(key.encode()).encrypt(json.dumps(value, ensure_ascii=False).encode())
    return {"sealed": token.decode()}


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"sealed"}


def unseal(key: str | None, value: dict[str, str]) -> Any:
    """The value, or `ERASED` once the key is gone."""
    if key is None:
        return ERASED
    try:
        return json.loads(Fernet(key.encode()).decrypt(value["sealed"].encode()))
    except (InvalidToken, ValueError):
        return ERASED


def keys_of(conn: Connection, subjects: set[str]) -> dict[str, str]:
    """The keys still held for `subjects`."""
    if not subjects:
        return {}
    rows = conn.execute(
        select(_table.c.subject, _table.c.key).where(_table.c.subject.in_(subjects))
    ).all()
    return {str(s): str(k) for s, k in rows}


def forget(conn: Connection, subjects: list[str]) -> int:
    """Delete the keys of `subjects`: their values in the log can no longer be read."""
    forgotten = 0
    for start in range(0, len(subjects), 500):
        chunk = subjects[start:start + 500]
        forgotten += conn.execute(delete(_table).where(_table.c.subject.in_(chunk))).rowcount
    return forgotten
