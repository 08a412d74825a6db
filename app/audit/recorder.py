"""Every ORM write is logged in its own transaction: an `after_flush` listener on every
Session turns the new, changed and deleted rows into chained entries (see policy.py for
what each table keeps). Statements that bypass the ORM (bulk inserts, check-ins) are
logged by their use case with `app.audit.service.record` or summarised.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, UOWTransaction

from app.audit import chain, keys
from app.audit.context import current_actor
from app.audit.policy import HIDDEN, Policy, policy_for

QUIET = "audit_quiet"  # Session.info flag: this transaction is logged by a summary


def _json(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dict, list, str, int, float, bool)) or value is None:
        return value
    return str(value)


class _Sealer:
    def __init__(self, session: Session) -> None:
        self.conn = session.connection()
        self.cache: dict[str, str] = {}

    def value(self, policy: Policy, subject: str, name: str, value: Any) -> Any:
        if name in policy.secret:
            return HIDDEN
        if name in policy.personal and value is not None:
            return keys.seal(keys.key_for(self.conn, subject, self.cache), _json(value))
        return _json(value)


def _values(obj: Any, action: str, policy: Policy, subject: str, sealer: _Sealer
            ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        name = attr.key
        if name in policy.ignore:
            continue
        hist = state.attrs[name].history
        if action == "update":
            if not hist.has_changes():
                continue
            old = hist.deleted[0] if hist.deleted else None
            before[name] = sealer.value(policy, subject, name, old)
            after[name] = sealer.value(policy, subject, name, getattr(obj, name))
        elif action == "create":
            after[name] = sealer.value(policy, subject, name, getattr(obj, name))
        else:
            old = hist.deleted[0] if hist.deleted else getattr(obj, name)
            before[name] = sealer.value(policy, subject, name, old)
    return (before or None), (after or None)


def entry_for(obj: Any, action: str, sealer: _Sealer) -> dict[str, Any] | None:
    """The log entry of one written row, or None when its table is not logged row by row."""
    table = getattr(obj, "__tablename__", None) or type(obj).__name__.lower()
    policy = policy_for(table) or Policy(secret=frozenset(inspect(obj).mapper.columns.keys()))
    if policy.skip:
        return None
    # The primary key as the flush gave it (a new row has no identity key yet).
    ident = inspect(obj).mapper.primary_key_from_instance(obj)
    object_id = ":".join(str(part) for part in ident) if any(
        part is not None for part in ident) else None
    subject = keys.subject_of(table, object_id)
    before, after = _values(obj, action, policy, subject, sealer)
    if action == "update" and after is None:
        return None
    actor = current_actor()
    conference = getattr(obj, policy.conference_attr, None) if policy.conference_attr else None
    site = getattr(obj, policy.site_attr, None) if policy.site_attr else None
    if table == "conference":
        conference = obj.id
    elif table == "site":
        site = obj.id
    return {
        "actor_id": actor.user_id, "actor_name": actor.username, "role": actor.role,
        "address": actor.address, "action": action, "object_type": table,
        "object_id": object_id, "conference_id": conference, "site_id": site,
        "before": before, "after": after, "detail": None,
    }


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    if session.info.get(QUIET):
        return
    if not (session.new or session.dirty or session.deleted):
        return
    sealer = _Sealer(session)
    entries: list[dict[str, Any]] = []
    for action, objs in (("create", session.new), ("update", session.dirty),
                         ("delete", session.deleted)):
        for obj in objs:
            if getattr(obj, "__tablename__", None) in ("audit_log", "audit_key"):
                continue
            entry = entry_for(obj, action, sealer)
            if entry is not None:
                entries.append(entry)
    chain.append(sealer.conn, entries)


def install() -> None:
    """Listen on every Session (idempotent)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
