"""Appending to the hash chain: each entry's hash covers its content and the hash before it.

Appends take turns: on PostgreSQL a transaction-scoped advisory lock is taken before the
last hash is read (held to commit, so two writers never chain onto the same entry); on
SQLite every writer already holds the database lock from BEGIN IMMEDIATE.
"""

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, text

from app.audit.models import GENESIS, AuditEntry

# pg_advisory_xact_lock key of the chain ("audit" in ASCII).
_LOCK_KEY = 0x6175646974
# The fields the hash covers, in this order (with the previous hash).
CHAINED = (
    "at", "actor_id", "actor_name", "role", "address", "action", "object_type",
    "object_id", "conference_id", "site_id", "before", "after", "detail",
)
_table = AuditEntry.__table__  # type: ignore[attr-defined]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    return value


def digest(prev_hash: str, entry: dict[str, Any]) -> str:
    """The hash of `entry` chained onto `prev_hash` (canonical JSON, SHA-256)."""
    body = {name: _plain(entry.get(name)) for name in CHAINED}
    canonical = json.dumps(
        [prev_hash, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def last_hash(conn: Connection) -> str:
    """The newest entry's hash (the genesis hash before the first)."""
    found = conn.execute(
        select(_table.c.hash).order_by(_table.c.id.desc()).limit(1)
    ).scalar_one_or_none()
    return str(found) if found is not None else GENESIS


def append(conn: Connection, entries: list[dict[str, Any]]) -> None:
    """Chain `entries` (dicts of `CHAINED` fields) onto the log, in the caller's transaction."""
    if not entries:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    prev = last_hash(conn)
    for entry in entries:
        row = {name: entry.get(name) for name in CHAINED}
        row["at"] = row["at"] or datetime.now(UTC)
        row["prev_hash"] = prev
        row["hash"] = prev = digest(prev, row)
        # One row per statement: ids follow the chain order on every backend.
        conn.execute(insert(_table), row)
