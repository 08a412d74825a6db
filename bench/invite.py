"""Invite benchmark: a conference invites the whole registry (3,356 and 31,000 sites).

Seeds a fresh migrated database with a registry tree (central, 34 hubs, communes and
wards, then departments, organisations and other units down to the size asked; one
leaf in fifty retired or pending, which must be left out), then times
`endpoints.participations.invite_sites(all=True)` through the real service, a second,
idempotent run, and a baseline measured in the same run: a bare INSERT … SELECT of the
same rows into another conference (no ancestor walk, no skip of existing pairs).

    .venv/bin/python -m bench.invite            # SQLite, 3,356 and 31,000 sites
    .venv/bin/python -m bench.invite --pg       # and PostgreSQL on 127.0.0.1
    .venv/bin/python -m bench.invite --smoke    # CI: 500 sites, checks the result
"""

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import create_db_engine, utcnow
from app.migrate import upgrade
from app.text import search_key
from bench.procs import fresh_pg
from endpoints import participations, service, tree_order
from endpoints.models import ConferenceCreate, Site
from endpoints.participation_models import InviteSelection

PG_BENCH_DB = "diemcau_bench_invite"
TARGET_SECONDS = 2.0
NATIONAL = 3_356
HUBS = 34
COMMUNES = 3_321
LOWER_KINDS = ("department", "organization", "other")


def registry_rows(size: int, communes: int = COMMUNES) -> list[dict[str, Any]]:
    """Site rows of a registry of `size` sites, parents before children, ids from 1."""
    now = utcnow()
    rows: list[dict[str, Any]] = []

    def add(kind: str, parent: dict[str, Any] | None, code: str, name: str) -> dict[str, Any]:
        site_id = len(rows) + 1
        # One leaf in fifty is retired or pending: never invited.
        leaf = kind in LOWER_KINDS
        status = "retired" if leaf and site_id % 100 == 50 else "active"
        approval = "pending" if leaf and site_id % 100 == 75 else "approved"
        row = {"id": site_id, "parent_id": parent["id"] if parent else None, "name": name,
               "name_key": search_key(name), "kind": kind, "code": code,
               "path": f"{parent['path'] if parent else '/'}{site_id}/",
               "sort_path": (parent["sort_path"] if parent else "") + tree_order.segment(
                   kind=kind, name=name, site_id=site_id),
               "depth": parent["depth"] + 1 if parent else 0, "status": status,
               "approval": approval, "created_at": now, "updated_at": now}
        rows.append(row)
        return row

    central = add("central", None, "TW", "Hội trường Trung ương")
    hubs = [add("hub", central, f"T{h:02d}", f"Điểm cầu tỉnh {h:02d}") for h in range(HUBS)]
    units = [
        add("commune" if c % 5 else "ward", hubs[c % HUBS], f"X{c:05d}", f"Đảng ủy xã {c:05d}")
        for c in range(min(communes, max(0, size - 1 - HUBS)))
    ]
    lower = 0
    while len(rows) < size:
        parent = units[lower % len(units)] if lower % 3 else hubs[lower % HUBS]
        add(LOWER_KINDS[lower % 3], parent, f"D{lower:06d}", f"Đơn vị {lower:06d}")
        lower += 1
    return rows


def seed(engine: Engine, size: int, communes: int = COMMUNES) -> int:
    """Fill an empty registry with `size` sites; how many of them can be invited."""
    rows = registry_rows(size, communes)
    with Session(engine) as db:
        for start in range(0, len(rows), 5_000):
            db.execute(insert(Site), rows[start:start + 5_000])
        db.commit()
    return sum(1 for r in rows if r["status"] == "active" and r["approval"] == "approved")


def _conference(db: Session, admin: User, title: str) -> int:
    conference = service.create_conference(
        db, data=ConferenceCreate(title=title, starts_on=date(2026, 3, 2),
                                  ends_on=date(2026, 3, 2)), actor=admin)
    assert conference.id is not None
    return conference.id


_BASELINE = (
    "INSERT INTO participation (conference_id, site_id, expected_attendees, readiness,"
    " approval, name, code, path, sort_path, invited_at, updated_at)"
    " SELECT :cid, id, 0, 'not_connected', 'approved', name, code, path, sort_path, :now, :now"
    " FROM site"
    " WHERE status = 'active' AND approval = 'approved'"
)


@dataclass
class Result:
    backend: str
    sites: int
    invited: int
    seconds: float
    again: float
    baseline: float


def measure(engine: Engine, backend: str, size: int) -> Result:
    """Seed, then time the service's invite, its repeat and the bare baseline."""
    # Small (smoke) registries keep room below the communes for the retired and pending.
    invitable = seed(engine, size, communes=COMMUNES if size >= NATIONAL else size // 2)
    with Session(engine, expire_on_commit=False) as db:
        admin = accounts_service.create_admin(
            db, username=f"bench{size}", password="bench-password", full_name="Bench")
        cid, ref = _conference(db, admin, "Mời toàn quốc"), _conference(db, admin, "Mốc so sánh")
        started = time.perf_counter()
        report = participations.invite_sites(
            db, conference_id=cid, actor=admin, selection=InviteSelection(all=True))
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = participations.invite_sites(
            db, conference_id=cid, actor=admin, selection=InviteSelection(all=True))
        again_seconds = time.perf_counter() - started
        started = time.perf_counter()
        # The naive UTC the UTCDateTime columns store.
        db.execute(text(_BASELINE), {"cid": ref, "now": utcnow().replace(tzinfo=None)})
        db.commit()
        baseline = time.perf_counter() - started
        baseline_rows = participations.participant_count(db, conference_id=ref)
    assert report.invited == invitable == baseline_rows, (report, invitable, baseline_rows)
    assert again.invited == 0 and again.already_in == invitable, again
    return Result(backend, size, report.invited, seconds, again_seconds, baseline)



def run(backend: str, size: int, folder: Path) -> Result:
    """One measurement in a fresh database of `backend`."""
    if backend == "SQLite":
        url = f"sqlite:///{folder / f'invite-{size}.db'}"
        upgrade(url)
    else:
        url = fresh_pg(PG_BENCH_DB)
    engine = create_db_engine(url, pool_size=2)
    try:
        return measure(engine, backend, size)
    finally:
        engine.dispose()


def _print(results: list[Result]) -> None:
    print(f"{'backend':<11} {'sites':>7} {'invited':>8} {'invite':>7} {'again':>7} "
          f"{'baseline':>9} {'invite/base':>11}")
    for r in results:
        print(f"{r.backend:<11} {r.sites:>7,} {r.invited:>8,} {r.seconds:>7.3f} {r.again:>7.3f} "
              f"{r.baseline:>9.3f} {r.seconds / r.baseline:>10.1f}x")
    print("(seconds; invite = invite_sites(all=True) with the ancestor walk and the skip of "
          "existing pairs; again = the same, all already in; baseline = bare INSERT … SELECT "
          "of the same rows, one transaction)")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 if an invite took longer than the 2-second target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pg", action="store_true", help="also run on PostgreSQL")
    parser.add_argument("--smoke", action="store_true", help="500 sites, for CI")
    args = parser.parse_args(argv)
    sizes = [500] if args.smoke else [NATIONAL, 31_000]
    backends = ["SQLite", "PostgreSQL"] if args.pg else ["SQLite"]
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            for size in sizes:
                results.append(run(backend, size, Path(folder)))
    _print(results)
    return 1 if any(r.seconds > TARGET_SECONDS for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
