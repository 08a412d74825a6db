"""Official-units load benchmark: the national registry (1 + 34 + 3,321 sites) from
`vietnam-provinces` through the real use case (`endpoints.units.load_units`).

Prints the first load, a second (idempotent) load, and a reference baseline measured in
the same run: a bare DB-API `executemany` INSERT of the same site and history rows (ids
and paths precomputed) in one transaction, on the same backend.

    .venv/bin/python -m bench.registry            # SQLite
    .venv/bin/python -m bench.registry --pg       # and PostgreSQL on 127.0.0.1
    .venv/bin/python -m bench.registry --smoke    # CI: one province, checks the result
"""

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import create_db_engine
from app.migrate import upgrade
from app.text import search_key
from bench.procs import fresh_pg, timed_sqlite_inserts
from endpoints import service, tree_order, units
from endpoints.models import Site, SiteCreate, SiteKind

PG_BENCH_DB = "diemcau_bench_registry"
TARGET_SECONDS = 5.0
SMOKE_PROVINCE = 22  # Quảng Ninh: 54 units, communes, wards and two special zones


@dataclass
class Result:
    backend: str
    sites: int
    first: float
    second: float
    baseline: float


def _arrange(engine: Engine) -> User:
    """A central-office account and the central site the hubs go under."""
    with Session(engine, expire_on_commit=False) as db:
        admin = accounts_service.ensure_admin(db, username="bench", password="bench-password")
        assert admin is not None
        service.create_registry_site(
            db, data=SiteCreate(name="Hội trường Trung ương", kind=SiteKind.central, code="TW"),
            actor=admin,
        )
        return admin


def _load(engine: Engine, admin: User, province: int | None) -> tuple[float, float, int]:
    with Session(engine, expire_on_commit=False) as db:
        started = time.perf_counter()
        first = units.load_units(db, actor=admin, province_code=province)
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        second = units.load_units(db, actor=admin, province_code=province)
        second_s = time.perf_counter() - started
        count = db.exec(select(func.count()).select_from(Site)).one()
    assert second.created == second.updated == 0, "a second load changes nothing"
    assert first.created + 1 == count, (first.created, count)
    return first_s, second_s, first.created


def _baseline_rows(province: int | None) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Site and history rows of the same units, ids and paths computed the simplest way
    (the central site is id 1)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    found = units.official_units(province)
    ids = {u.code: i for i, u in enumerate(found, start=2)}
    sites, history = [], []
    top = tree_order.segment(kind="central", name="Hội trường Trung ương", site_id=1)
    sorts: dict[str, str] = {}
    for u in found:
        parent = ids[u.parent_code] if u.parent_code else 1
        path = f"/1/{ids[u.code]}/" if u.parent_code is None else f"/1/{parent}/{ids[u.code]}/"
        sorts[u.code] = (sorts[u.parent_code] if u.parent_code else top) + tree_order.segment(
            kind=u.kind, name=u.name, site_id=ids[u.code])
        sites.append((ids[u.code], u.name, search_key(u.name), u.kind.value, parent, u.code,
                      path, sorts[u.code], path.count("/") - 2, "active", "approved", now, now))
        history.append((ids[u.code], "created", u.name, u.code, parent, now))
    return sites, history


_SITE = ("INSERT INTO site (id, name, name_key, kind, parent_id, code, path, sort_path, "
         "depth, status, approval, created_at, updated_at) VALUES ({})")
_HISTORY = ("INSERT INTO site_history (site_id, change, new_name, new_code, new_parent_id, at) "
            "VALUES ({})")


def _baseline_sqlite(path: Path, province: int | None) -> float:
    sites, history = _baseline_rows(province)
    return timed_sqlite_inserts(path, [
        (_SITE.format(", ".join("?" * 13)), sites),
        (_HISTORY.format(", ".join("?" * 6)), history),
    ])


def _baseline_pg(engine: Engine, province: int | None) -> float:
    sites, history = _baseline_rows(province)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        started = time.perf_counter()
        cur.executemany(_SITE.format(", ".join(["%s"] * 13)), sites)
        cur.executemany(_HISTORY.format(", ".join(["%s"] * 6)), history)
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def run_sqlite(folder: Path, province: int | None) -> Result:
    """Load into a fresh SQLite file, then the baseline into another."""
    target, reference = folder / "registry.db", folder / "baseline.db"
    for path in (target, reference):
        upgrade(f"sqlite:///{path}")
    engine = create_db_engine(f"sqlite:///{target}", pool_size=2)
    first, second, sites = _load(engine, _arrange(engine), province)
    engine.dispose()
    ref_engine = create_db_engine(f"sqlite:///{reference}", pool_size=2)
    _arrange(ref_engine)
    ref_engine.dispose()
    return Result("SQLite", sites, first, second, _baseline_sqlite(reference, province))



def run_pg(province: int | None) -> Result:
    """Load into a fresh PostgreSQL database, then the baseline into another."""
    engine = create_db_engine(fresh_pg(PG_BENCH_DB), pool_size=2)
    first, second, sites = _load(engine, _arrange(engine), province)
    engine.dispose()
    ref_engine = create_db_engine(fresh_pg(PG_BENCH_DB + "_ref"), pool_size=2)
    _arrange(ref_engine)
    baseline = _baseline_pg(ref_engine, province)
    ref_engine.dispose()
    return Result("PostgreSQL", sites, first, second, baseline)


def _print(results: list[Result]) -> None:
    print(f"{'backend':<11} {'sites':>6} {'load':>7} {'reload':>7} {'baseline':>9} "
          f"{'load/base':>10}")
    for r in results:
        print(f"{r.backend:<11} {r.sites:>6} {r.first:>7.3f} {r.second:>7.3f} "
              f"{r.baseline:>9.3f} {r.first / r.baseline:>9.1f}x")
    print("(seconds; baseline = bare executemany INSERT of the same site and history rows, "
          "one transaction)")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 if a load took longer than the 5-second target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pg", action="store_true", help="also run on PostgreSQL")
    parser.add_argument("--smoke", action="store_true", help="one province, for CI")
    args = parser.parse_args(argv)
    province = SMOKE_PROVINCE if args.smoke else None
    with tempfile.TemporaryDirectory() as folder:
        results = [run_sqlite(Path(folder), province)]
    if args.pg:
        results.append(run_pg(province))
    _print(results)
    return 1 if any(r.first > TARGET_SECONDS for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
