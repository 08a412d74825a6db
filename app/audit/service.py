"""The audit log's use cases for the domains: record an action, summarise a bulk write,
forget a person, read entries back with their personal values opened."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlmodel import Session

from app.audit import chain, keys
from app.audit.context import current_actor
from app.audit.recorder import QUIET


def record(
    db: Session,
    *,
    action: str,
    object_type: str,
    object_id: str | int | None = None,
    conference_id: int | None = None,
    site_id: int | None = None,
    detail: dict[str, Any] | None = None,
    personal: dict[str, Any] | None = None,
    subject: str | None = None,
) -> None:
    """Add one entry in `db`'s transaction (committed with the change it records).

    `personal` values are sealed with `subject`'s key (e.g. ``attendee:42``), so
    forgetting the subject later makes them unreadable.
    """
    conn = db.connection()
    sealed: dict[str, Any] | None = None
    if personal:
        if subject is None:
            raise ValueError("personal values need the subject they belong to")
        key = keys.key_for(conn, subject, {})
        sealed = {name: keys.seal(key, value) for name, value in personal.items()}
    actor = current_actor()
    entry = {
        "actor_id": actor.user_id, "actor_name": actor.username, "role": actor.role,
        "address": actor.address, "action": action, "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "conference_id": conference_id, "site_id": site_id,
        "before": None, "after": sealed, "detail": detail,
    }
    chain.append(conn, [entry])


@contextmanager
def summarised(
    db: Session,
    *,
    action: str,
    object_type: str,
    conference_id: int | None = None,
    site_id: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Log a bulk write as one entry instead of one per row: yields the entry's `detail`
    (fill in counts), and records it in the same transaction when the block ends."""
    detail: dict[str, Any] = {}
    db.info[QUIET] = True
    try:
        yield detail
        db.flush()
    finally:
        db.info.pop(QUIET, None)
    record(db, action=action, object_type=object_type, conference_id=conference_id,
           site_id=site_id, detail=detail)


def forget(db: Session, *, subjects: list[str]) -> int:
    """Make the personal values of `subjects` in the log unreadable (erasure, purge)."""
    return keys.forget(db.connection(), subjects)
