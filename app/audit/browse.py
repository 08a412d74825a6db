"""Reading the log back for the central office: filters, keyset pages (newest first),
personal values opened with their person's key ("[đã xoá]" once forgotten), CSV rows.

A personal value is opened with the key of the entry's own object
(`subject_of(object_type, object_id)`): the recorder seals a row's values that way, and
`service.record` callers pass that subject for the object they name.
"""

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, select

from app.audit import keys
from app.audit.models import AuditEntry
from app.tabular.export import CsvValue

_table = AuditEntry.__table__  # type: ignore[attr-defined]
ROLES = ("admin", "coordinator", "attendee", "anonymous", "system")
_VALUES = ("before", "after", "detail")


@dataclass(frozen=True)
class AuditFilter:
    """What the central office looks for; None everywhere is the whole log."""

    who: str | None = None  # the actor's username, any case
    role: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    conference_id: int | None = None
    site_id: int | None = None
    since: datetime | None = None  # aware datetimes, both ends included
    until: datetime | None = None

    def described(self) -> dict[str, Any]:
        """The filters set, as a view or export entry records them."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in asdict(self).items() if v not in (None, "")}


@dataclass(frozen=True)
class OpenEntry:
    """An entry as the central office reads it."""

    id: int
    at: datetime
    actor_id: int | None
    actor_name: str | None
    role: str
    address: str | None
    action: str
    object_type: str
    object_id: str | None
    conference_id: int | None
    site_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: dict[str, Any] | None
    hash: str
    opened: list[str] = field(default_factory=list)  # names of the personal values in it

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _query(f: AuditFilter) -> Select[Any]:
    query = select(_table)
    if f.who:
        query = query.where(func.lower(_table.c.actor_name) == f.who.strip().lower())
    for name in ("role", "action", "object_type", "object_id", "conference_id", "site_id"):
        value = getattr(f, name)
        if value not in (None, ""):
            query = query.where(_table.c[name] == value)
    if f.since is not None:
        query = query.where(_table.c.at >= f.since)
    if f.until is not None:
        query = query.where(_table.c.at <= f.until)
    return query


def _subject(row: Any) -> str:
    return keys.subject_of(row["object_type"], row["object_id"])


def _open(conn: Connection, rows: Sequence[Any]) -> list[OpenEntry]:
    """The rows with their sealed values opened (one key lookup for the batch)."""
    sealed = {_subject(r) for r in rows
              if any(keys.is_sealed(v) for part in _VALUES for v in (r[part] or {}).values())}
    held = keys.keys_of(conn, sealed)
    entries = []
    for row in rows:
        values: dict[str, Any] = {}
        opened: list[str] = []
        for part in _VALUES:
            raw = row[part]
            if raw is None:
                values[part] = None
                continue
            values[part] = {}
            for name, value in raw.items():
                if keys.is_sealed(value):
                    value = keys.unseal(held.get(_subject(row)), value)
                    opened.append(name)
                values[part][name] = value
        plain = {k: row[k] for k in ("id", "at", "actor_id", "actor_name", "role", "address",
                                     "action", "object_type", "object_id", "conference_id",
                                     "site_id", "hash")}
        entries.append(OpenEntry(**plain, **values, opened=sorted(set(opened))))
    return entries


def page(
    conn: Connection, *, filters: AuditFilter, before: int | None = None, limit: int = 50
) -> tuple[list[OpenEntry], int | None]:
    """One page, newest first, of the entries older than `before` (an id); the `before`
    of the next page, or None on the last."""
    query = _query(filters)
    if before is not None:
        query = query.where(_table.c.id < before)
    rows = conn.execute(query.order_by(_table.c.id.desc()).limit(limit + 1)).mappings().all()
    entries = _open(conn, rows[:limit])
    return entries, (entries[-1].id if len(rows) > limit else None)


def every(conn: Connection, *, filters: AuditFilter, batch: int = 500) -> Iterator[OpenEntry]:
    """Every matching entry, newest first, read in batches (bounded memory)."""
    before: int | None = None
    while True:
        entries, before = page(conn, filters=filters, before=before, limit=batch)
        yield from entries
        if before is None:
            return


CSV_HEADERS = [
    "Mã mục", "Thời điểm (UTC)", "Tài khoản", "Mã tài khoản", "Vai trò", "Địa chỉ",
    "Hành động", "Đối tượng", "Mã đối tượng", "Hội nghị", "Điểm cầu", "Trước", "Sau",
    "Chi tiết", "Mã băm",
]


def _cell_json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True,
                                                 default=str)


def csv_rows(entries: Iterator[OpenEntry]) -> Iterator[Sequence[CsvValue]]:
    """The export's rows, header first (text cells are neutralised by the CSV writer)."""
    yield CSV_HEADERS
    for e in entries:
        yield [
            e.id, e.at.isoformat(timespec="seconds"), e.actor_name, e.actor_id, e.role,
            e.address, e.action, e.object_type, e.object_id, e.conference_id, e.site_id,
            _cell_json(e.before), _cell_json(e.after), _cell_json(e.detail), e.hash,
        ]
