"""Seeding the registry from the official list of administrative units.

`vietnam-provinces` holds the 34 provinces and the 3,321 commune-level units after the
2025 reform, with their official codes. Each province becomes a hub site ("VN01"), each
unit a site below it ("VN01-00004": province code + official 5-digit unit code), under
the registry's central site when there is one. A load is idempotent by code: it creates
what is missing, renames (with history) what the official list renamed, and leaves the
rest. Places in the tree are set once, at creation: the central office may reorganise
the tree by hand, and a reload does not undo that.
"""

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import vietnam_provinces
from sqlalchemy import Table, func, insert, text
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select
from vietnam_provinces import Province, ProvinceCode, VietNamDivisionType, Ward

from app.accounts.models import User
from app.accounts.service import require_admin
from app.audit import service as audit_service
from app.db import utcnow
from app.text import search_key
from endpoints import errors, tree_order
from endpoints.models import Approval, Site, SiteChange, SiteKind, SiteStatus
from endpoints.site_changes import follow_rename, record

#: Where the names and codes come from; written as the note of the history rows.
SOURCE = f"Danh mục đơn vị hành chính (vietnam-provinces {vietnam_provinces.__version__})"
INSERT_CHUNK = 500

_KINDS: dict[VietNamDivisionType, SiteKind] = {
    VietNamDivisionType.XA: SiteKind.commune,
    VietNamDivisionType.PHUONG: SiteKind.ward,
    VietNamDivisionType.DAC_KHU: SiteKind.special_zone,
}


@dataclass
class UnitsReport:
    """What one load did, counted by site."""

    province_code: int | None
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Sites with an official code that were merged or retired: left as they are.
    inactive: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    renamed: list[tuple[str, str, str]] = field(default_factory=list)  # code, old, new
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.inactive


@dataclass(frozen=True)
class _Unit:
    code: str
    name: str
    kind: SiteKind
    parent_code: str | None  # None: a hub, placed under the central site


def hub_code(province: int) -> str:
    return f"VN{province:02d}"


def unit_code(province: int, unit: int) -> str:
    return f"{hub_code(province)}-{unit:05d}"


def province_name(province: Province) -> str:
    """The full official name: the package writes "Cao Bằng" for "Tỉnh Cao Bằng" (cities
    already read "Thành phố Hà Nội")."""
    if province.division_type == VietNamDivisionType.TINH and not province.name.startswith("Tỉnh"):
        return f"Tỉnh {province.name}"
    return province.name


def province_choices() -> list[tuple[int, str]]:
    """(code, name) of the 34 provinces, in official order (for the page's select)."""
    return [(int(p.code), province_name(p)) for p in Province.iter_all()]


def official_units(province_code: int | None = None) -> list[_Unit]:
    """Hubs first, then their units, as the official list holds them."""
    valid = {int(c) for c in ProvinceCode}
    if province_code is not None and province_code not in valid:
        raise errors.UnknownProvince()
    wanted = valid if province_code is None else {province_code}
    units = [
        _Unit(hub_code(int(p.code)), province_name(p), SiteKind.hub, None)
        for p in Province.iter_all() if int(p.code) in wanted
    ]
    units += [
        _Unit(unit_code(int(w.province_code), int(w.code)), w.name, _KINDS[w.division_type],
              hub_code(int(w.province_code)))
        for w in Ward.iter_all() if int(w.province_code) in wanted
    ]
    return units


def _central(db: Session) -> Site | None:
    return db.exec(
        select(Site).where(col(Site.kind) == SiteKind.central,
                           col(Site.status) == SiteStatus.active).order_by(col(Site.id))
    ).first()


def _existing(db: Session, prefix: str, codes: Sequence[str]) -> dict[str, Any]:
    """Rows (id, code, name, kind, status, path, depth, sort_path) of the sites holding
    these codes."""
    rows = db.execute(
        sa_select(col(Site.id), col(Site.code), col(Site.name), col(Site.kind),
                  col(Site.status), col(Site.path), col(Site.depth), col(Site.sort_path))
        .where(col(Site.code).startswith(prefix))
    ).all()
    wanted = set(codes)
    return {r.code: r for r in rows if r.code in wanted}


def _reserve_ids(db: Session, count: int) -> list[int]:
    """`count` fresh site ids, reserved inside this transaction."""
    if count == 0:
        return []
    if db.get_bind().dialect.name == "postgresql":
        found = db.execute(
            text("SELECT nextval(pg_get_serial_sequence('site', 'id')) "
                 "FROM generate_series(1, :n)"),
            {"n": count},
        ).scalars().all()
        return sorted(int(v) for v in found)
    # SQLite: the write lock is held from the first statement (BEGIN IMMEDIATE), so
    # nobody else can take these ids before the commit.
    top = db.execute(sa_select(func.coalesce(func.max(Site.id), 0))).scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + count))


def _site_rows(
    new: list[_Unit], existing: dict[str, Any], central: Site | None, ids: list[int]
) -> list[dict[str, Any]]:
    """Insert values with ids, paths and depths computed here (hubs come first)."""
    now = utcnow()
    placed: dict[str, tuple[int, str, int, str]] = {
        code: (r.id, r.path, r.depth, r.sort_path) for code, r in existing.items()
    }
    top = ((central.id, central.path, central.depth, central.sort_path)
           if central is not None and central.id is not None else None)
    rows: list[dict[str, Any]] = []
    for unit, new_id in zip(new, ids, strict=True):
        parent = top if unit.parent_code is None else placed.get(unit.parent_code)
        path = f"{parent[1] if parent else '/'}{new_id}/"
        depth = parent[2] + 1 if parent else 0
        sort_path = (parent[3] if parent else "") + tree_order.segment(
            kind=unit.kind, name=unit.name, site_id=new_id)
        placed[unit.code] = (new_id, path, depth, sort_path)
        rows.append({
            "id": new_id, "name": unit.name, "name_key": search_key(unit.name),
            "kind": unit.kind.value, "parent_id": parent[0] if parent else None,
            "code": unit.code, "room": None, "contact_name": None, "contact_phone": None,
            "connection_link": None, "path": path, "sort_path": sort_path, "depth": depth,
            "status": SiteStatus.active.value, "merged_into_id": None,
            "approval": Approval.approved.value, "created_at": now, "updated_at": now,
        })
    return rows


def _history_rows(rows: list[dict[str, Any]], actor: User) -> Iterator[dict[str, Any]]:
    now = utcnow()
    for r in rows:
        yield {
            "site_id": r["id"], "change": SiteChange.created.value, "old_name": None,
            "new_name": r["name"], "old_code": None, "new_code": r["code"],
            "old_parent_id": None, "new_parent_id": r["parent_id"], "merged_into_id": None,
            "note": SOURCE, "effective_on": None, "actor_id": actor.id, "at": now,
        }


def _insert_many(db: Session, table_name: str, rows: Sequence[dict[str, Any]]) -> None:
    table: Table = SQLModel.metadata.tables[table_name]
    for start in range(0, len(rows), INSERT_CHUNK):
        db.execute(insert(table), rows[start : start + INSERT_CHUNK])


def _follow_official(
    db: Session, units: list[_Unit], existing: dict[str, Any], actor: User, report: UnitsReport
) -> None:
    """Rename (with history) and re-kind the sites the official list changed."""
    for unit in units:
        row = existing.get(unit.code)
        if row is None:
            continue
        if row.status != SiteStatus.active:
            report.inactive += 1
            continue
        if row.name == unit.name and row.kind == unit.kind:
            report.unchanged += 1
            continue
        site = db.get(Site, row.id)
        assert site is not None
        if site.name != unit.name:
            record(db, site=site, change=SiteChange.renamed, actor=actor,
                   old_name=site.name, new_name=unit.name, note=SOURCE)
            report.renamed.append((unit.code, site.name, unit.name))
            site.name, site.name_key = unit.name, search_key(unit.name)
        site.kind = unit.kind
        site.updated_at = utcnow()
        db.add(site)
        db.flush()
        tree_order.resort(db, site=site)
        follow_rename(db, site=site)
        report.updated += 1


def load_units(db: Session, *, actor: User, province_code: int | None = None) -> UnitsReport:
    """Create or update the hub and unit sites of one province, or of the whole country
    (central office only); idempotent: a second run changes nothing."""
    require_admin(actor)
    started = time.perf_counter()
    units = official_units(province_code)
    report = UnitsReport(province_code=province_code)
    for unit in units:
        report.kinds[unit.kind.value] = report.kinds.get(unit.kind.value, 0) + 1
    prefix = "VN" if province_code is None else hub_code(province_code)
    existing = _existing(db, prefix, [u.code for u in units])
    new = [u for u in units if u.code not in existing]
    try:
        rows = _site_rows(new, existing, _central(db), _reserve_ids(db, len(new)))
        _insert_many(db, "site", rows)
        _insert_many(db, "site_history", list(_history_rows(rows, actor)))
        _follow_official(db, units, existing, actor, report)
        # Bulk statements the ORM listener cannot see: one entry for the load.
        audit_service.record(db, action="load_units", object_type="site",
                             detail={"province_code": province_code, "created": len(rows)})
        db.commit()
    except IntegrityError as exc:
        # Another writer took one of these codes between the read and the insert.
        db.rollback()
        raise errors.DuplicateSiteCode(
            "Danh mục điểm cầu vừa bị thay đổi trong lúc nạp; chưa nạp gì, vui lòng thử lại."
        ) from exc
    report.created = len(rows)
    report.seconds = round(time.perf_counter() - started, 3)
    return report
