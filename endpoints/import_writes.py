"""The write stage of a site import: new registry sites in multi-row INSERTs, changes
to sites already in the registry, and every imported site (with the sites above it)
invited to the conference.

Ids of new sites are reserved up front so each row's materialised `path` and `depth`
are known before it is written. Rows are checked by `endpoints/imports.py` first.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, text, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from app.accounts.models import User
from app.db import utcnow
from app.text import search_key
from endpoints import site_changes, tree_order
from endpoints.models import (
    Approval,
    Participation,
    Readiness,
    Site,
    SiteChange,
    SiteCreate,
)

Progress = Callable[[int, int], None]

INSERT_CHUNK = 1_000
# Registry fields an import row may change on a site the registry already has.
_OPTIONAL = ("room", "contact_name", "contact_phone", "connection_link")


@dataclass
class Row:
    """One checked line of the file, placed in the tree when it is written."""

    line: int
    code: str
    parent_code: str | None
    data: SiteCreate | None
    id: int = 0
    path: str = ""
    sort_path: str = ""
    depth: int = 0


@dataclass(frozen=True)
class Existing:
    """A registry site named by its code in the file."""

    id: int
    path: str
    depth: int
    kind: str
    name: str
    parent_id: int | None
    status: str
    sort_path: str = ""


@dataclass
class Plan:
    """What the write stage does: rows to insert (parents first) and rows to update."""

    new: list[Row]
    updates: list[tuple[Row, Existing]]
    existing: dict[str, Existing]
    expected: dict[int, int] = field(default_factory=dict)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def reserve_ids(db: Session, count: int) -> list[int]:
    """`count` fresh site ids, reserved inside this transaction."""
    if count == 0:
        return []
    if db.get_bind().dialect.name == "postgresql":
        found = db.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence('site', 'id')) "
                "FROM generate_series(1, :n)"
            ),
            {"n": count},
        ).scalars().all()
        return sorted(int(v) for v in found)
    # SQLite: the write lock is held from the first statement (BEGIN IMMEDIATE), so
    # nobody else can take these ids before the commit.
    top = db.execute(sa_select(func.coalesce(func.max(Site.id), 0))).scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + count))


def _values(
    ordered: list[Row], ids: list[int], existing: dict[str, Existing]
) -> Iterator[dict[str, Any]]:
    now = utcnow()
    placed: dict[str, Row] = {}
    for r, new_id in zip(ordered, ids, strict=True):
        assert r.data is not None
        parent = placed.get(r.parent_code or "")
        old = existing.get(r.parent_code or "") if parent is None else None
        r.id = new_id
        r.path = f"{parent.path if parent else old.path if old else '/'}{new_id}/"
        d = r.data
        r.sort_path = (parent.sort_path if parent else old.sort_path if old else "") + (
            tree_order.segment(kind=d.kind, name=d.name, site_id=new_id))
        placed[r.code] = r
        yield {
            "id": new_id,
            "parent_id": parent.id if parent else old.id if old else None,
            "name": d.name,
            "name_key": search_key(d.name),
            "kind": d.kind.value,
            "code": d.code,
            "room": d.room,
            "contact_name": d.contact_name,
            "contact_phone": d.contact_phone,
            "connection_link": d.connection_link,
            "path": r.path,
            "sort_path": r.sort_path,
            "depth": r.depth,
            "status": "active",
            "approval": Approval.approved.value,
            "created_at": now,
            "updated_at": now,
        }


def insert_new(
    db: Session, plan: Plan, actor: User, progress: Progress | None
) -> None:
    """The file's new sites and their 'created' history, in multi-row INSERTs."""
    sites: Table = SQLModel.metadata.tables["site"]
    history: Table = SQLModel.metadata.tables["site_history"]
    values = list(_values(plan.new, reserve_ids(db, len(plan.new)), plan.existing))
    now = utcnow()
    done = 0
    for chunk in _chunks(values, INSERT_CHUNK):
        db.execute(insert(sites), list(chunk))
        db.execute(insert(history), [
            {"site_id": v["id"], "change": SiteChange.created.value, "new_name": v["name"],
             "new_code": v["code"], "new_parent_id": v["parent_id"], "actor_id": actor.id,
             "at": now}
            for v in chunk
        ])
        done += len(chunk)
        if progress:
            progress(done, len(values) + len(plan.updates))
    for r in plan.new:
        assert r.data is not None
        plan.expected[r.id] = r.data.expected_attendees


def apply_updates(db: Session, plan: Plan, actor: User, progress: Progress | None) -> None:
    """Bring registry sites the file names by code in line with it (a rename is kept in
    their history and reaches the conferences that have not ended)."""
    by_id = {e.id: r for r, e in plan.updates}
    now = utcnow()
    done = len(plan.new)
    for chunk in _chunks(sorted(by_id), INSERT_CHUNK):
        for site in db.exec(select(Site).where(col(Site.id).in_(chunk))).all():
            assert site.id is not None
            r = by_id[site.id]
            assert r.data is not None
            given = r.data.model_fields_set
            changes = {"name": r.data.name, "kind": r.data.kind}
            changes.update({k: getattr(r.data, k) for k in _OPTIONAL if k in given})
            if "expected_attendees" in given:
                plan.expected[site.id] = r.data.expected_attendees
            if all(getattr(site, k) == v for k, v in changes.items()):
                continue
            old_name, old_kind = site.name, site.kind
            for key, value in changes.items():
                setattr(site, key, value)
            site.name_key, site.updated_at = search_key(site.name), now
            db.add(site)
            if (site.name, site.kind) != (old_name, old_kind):
                tree_order.resort(db, site=site)
            if site.name != old_name:
                site_changes.record(db, site=site, change=SiteChange.renamed, actor=actor,
                                    old_name=old_name, new_name=site.name)
                site_changes.follow_rename(db, site=site)
        db.flush()
        done += len(chunk)
        if progress:
            progress(done, len(plan.new) + len(plan.updates))


def _site_ids_on_paths(plan: Plan) -> set[int]:
    paths = [r.path for r in plan.new] + [e.path for _, e in plan.updates]
    return {int(x) for p in paths for x in p.strip("/").split("/") if x}


def invite_all(db: Session, plan: Plan, conference_id: int) -> None:
    """Invite every imported site and the sites above it; imported sites already in the
    conference take the file's expected attendees."""
    wanted = sorted(_site_ids_on_paths(plan))
    already: set[int] = set()
    for chunk in _chunks(wanted, INSERT_CHUNK):
        already.update(int(r[0]) for r in db.execute(
            sa_select(col(Participation.site_id)).where(
                col(Participation.conference_id) == conference_id,
                col(Participation.site_id).in_(chunk),
            )
        ).all())
    missing = [i for i in wanted if i not in already]
    now = utcnow()
    table: Table = SQLModel.metadata.tables["participation"]
    for chunk in _chunks(missing, INSERT_CHUNK):
        names = db.execute(
            sa_select(col(Site.id), col(Site.name), col(Site.code), col(Site.path),
                      col(Site.sort_path))
            .where(col(Site.id).in_(chunk))
        ).all()
        db.execute(insert(table), [
            {"conference_id": conference_id, "site_id": int(i), "name": name, "code": code,
             "path": path, "sort_path": sort_path,
             "expected_attendees": plan.expected.get(int(i), 0),
             "readiness": Readiness.not_connected.value, "readiness_note": None,
             "approval": Approval.approved.value, "invited_at": now, "updated_at": now}
            for i, name, code, path, sort_path in names
        ])
    changed = [{"b_site": i, "b_expected": n} for i, n in plan.expected.items() if i in already]
    if changed:
        db.execute(
            update(table)
            .where(table.c.conference_id == conference_id,
                   table.c.site_id == bindparam("b_site"))
            .values(expected_attendees=bindparam("b_expected"), updated_at=now),
            changed,
        )

