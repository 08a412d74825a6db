"""Site-tree import benchmark: a national tree (1 + 34 + 3,321 sites) through the real service.

Generates the CSV, imports it with `endpoints.imports.import_sites` into a fresh migrated
database and prints parse / validate / insert / total wall time next to a reference
baseline measured in the same run: a bare DB-API `executemany` INSERT of the same rows
(ids and paths precomputed) in one transaction, on the same backend.

    .venv/bin/python -m bench.import_sites            # SQLite, 3,356 rows
    .venv/bin/python -m bench.import_sites --pg       # and PostgreSQL on 127.0.0.1
    .venv/bin/python -m bench.import_sites --smoke    # CI: ~300 rows, checks the result
"""

import argparse
import csv
import io
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
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
from endpoints import imports, service, tree_order
from endpoints.models import ConferenceCreate, Participation, Site

PG_BENCH_DB = "diemcau_bench_import"
TARGET_SECONDS = 10.0

PROVINCES = [
    ("HN", "Thành phố Hà Nội"), ("HUE", "Thành phố Huế"), ("LCH", "Tỉnh Lai Châu"),
    ("DBI", "Tỉnh Điện Biên"), ("SLA", "Tỉnh Sơn La"), ("LSO", "Tỉnh Lạng Sơn"),
    ("QNI", "Tỉnh Quảng Ninh"), ("THO", "Tỉnh Thanh Hóa"), ("NAN", "Tỉnh Nghệ An"),
    ("HTI", "Tỉnh Hà Tĩnh"), ("CBA", "Tỉnh Cao Bằng"), ("TQU", "Tỉnh Tuyên Quang"),
    ("LCA", "Tỉnh Lào Cai"), ("TNG", "Tỉnh Thái Nguyên"), ("PTH", "Tỉnh Phú Thọ"),
    ("BNI", "Tỉnh Bắc Ninh"), ("HYE", "Tỉnh Hưng Yên"), ("HP", "Thành phố Hải Phòng"),
    ("NBI", "Tỉnh Ninh Bình"), ("QTR", "Tỉnh Quảng Trị"), ("DN", "Thành phố Đà Nẵng"),
    ("QNG", "Tỉnh Quảng Ngãi"), ("GLA", "Tỉnh Gia Lai"), ("KHO", "Tỉnh Khánh Hòa"),
    ("LDO", "Tỉnh Lâm Đồng"), ("DLA", "Tỉnh Đắk Lắk"), ("HCM", "Thành phố Hồ Chí Minh"),
    ("DNA", "Tỉnh Đồng Nai"), ("TNI", "Tỉnh Tây Ninh"), ("CT", "Thành phố Cần Thơ"),
    ("VLO", "Tỉnh Vĩnh Long"), ("DTH", "Tỉnh Đồng Tháp"), ("CMA", "Tỉnh Cà Mau"),
    ("AGI", "Tỉnh An Giang"),
]
SPECIAL_ZONES = [
    ("QNI", "Vân Đồn"), ("QNI", "Cô Tô"), ("HP", "Cát Hải"), ("HP", "Bạch Long Vĩ"),
    ("QTR", "Cồn Cỏ"), ("DN", "Hoàng Sa"), ("QNG", "Lý Sơn"), ("KHO", "Trường Sa"),
    ("LDO", "Phú Quý"), ("HCM", "Côn Đảo"), ("AGI", "Phú Quốc"), ("AGI", "Kiên Hải"),
    ("AGI", "Thổ Châu"),
]
SYLLABLES = [
    "An", "Bình", "Cát", "Đông", "Đức", "Giang", "Hà", "Hải", "Hòa", "Hưng", "Khánh", "Lạc",
    "Lâm", "Long", "Minh", "Mỹ", "Nam", "Nghĩa", "Ngọc", "Phú", "Phúc", "Phước", "Quang", "Quế",
    "Sơn", "Tân", "Thạnh", "Thành", "Thuận", "Tiến", "Trung", "Trường", "Vĩnh", "Xuân", "Yên",
    "Đồng", "Điền", "Nhơn", "Lợi", "Thắng", "Hiệp", "Hội", "Kiến", "Lộc", "Nghị", "Ninh", "Ổn",
    "Quý", "Tường", "Vạn",
]
HEADER = ["mã", "tên", "loại", "mã cấp trên", "phòng họp", "người liên hệ", "số điện thoại",
          "số đại biểu dự kiến"]


def national_tree(*, communes: int = 2621, wards: int = 687, seed: int = 2025) -> list[list[str]]:
    """Rows of a national tree: central, 34 hubs, communes, wards, 13 special zones."""
    rnd = random.Random(seed)
    rows = [["TW", "Hội trường Trung ương", "trung tâm", "", "Hội trường Diên Hồng",
             "Nguyễn Văn An", "0243 123 4567", "400"]]
    for code, name in PROVINCES:
        rows.append([code, f"Điểm cầu {name}", "tỉnh", "TW", "Hội trường Tỉnh ủy",
                     "Trần Thị Bình", f"09{rnd.randrange(10**8):08d}", str(rnd.randrange(80, 300))])
    used: set[tuple[str, str]] = set()
    for kind, label, count in (("xã", "xã", communes), ("phường", "phường", wards)):
        for n in range(count):
            hub = PROVINCES[n % len(PROVINCES)][0]
            while True:
                place = " ".join(rnd.sample(SYLLABLES, 2))
                if (hub, place) not in used:
                    used.add((hub, place))
                    break
            rows.append([f"{hub}-{'X' if kind == 'xã' else 'P'}{n:04d}",
                         f"Đảng ủy {label} {place}", kind, hub, "Phòng họp trực tuyến",
                         "Lê Văn Cường", f"9{rnd.randrange(10**8):08d}",
                         str(rnd.randrange(10, 120))])
    for n, (hub, place) in enumerate(SPECIAL_ZONES):
        rows.append([f"{hub}-DK{n:02d}", f"Đảng ủy đặc khu {place}", "đặc khu", hub,
                     "Hội trường đặc khu", "Phạm Thị Dung", f"08{rnd.randrange(10**8):08d}", "60"])
    body = rows[1:]
    rnd.shuffle(body)  # files are not always sorted: children may come before their parents
    return [rows[0], *body]


def to_csv(rows: list[list[str]]) -> bytes:
    """UTF-8 with BOM, as Excel's "CSV UTF-8" saves it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


@dataclass
class Result:
    backend: str
    rows: int
    seconds: dict[str, float]
    baseline: float


def _arrange(engine: Engine) -> tuple[User, int]:
    with Session(engine, expire_on_commit=False) as db:
        admin = accounts_service.ensure_admin(db, username="bench", password="bench-password")
        assert admin is not None
        conference = service.create_conference(
            db,
            data=ConferenceCreate(title="Tập huấn AI toàn quốc", starts_on=date(2025, 9, 9),
                                  ends_on=date(2025, 9, 9)),
            actor=admin,
        )
        assert conference.id is not None
        return admin, conference.id


def _baseline_rows(
    rows: list[list[str]], conference_id: int
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The same rows as plain tuples with ids and paths computed in the simplest way: the
    registry sites, and their participations in the conference."""
    now = datetime.now(UTC).replace(tzinfo=None)
    kinds = {"trung tâm": "central", "tỉnh": "hub", "xã": "commune", "phường": "ward",
             "đặc khu": "special_zone"}
    ids = {r[0]: i for i, r in enumerate(rows, start=1)}
    by_code = {r[0]: r for r in rows}
    paths: dict[str, str] = {}

    def path(code: str) -> str:
        if code not in paths:
            parent = by_code[code][3]
            paths[code] = (path(parent) if parent else "/") + f"{ids[code]}/"
        return paths[code]

    ordered = sorted(rows, key=lambda r: path(r[0]).count("/"))
    # The list order too (kind, then Vietnamese name, per level), as the import writes it.
    sorts = tree_order.sort_paths((ids[r[0]], ids.get(r[3]), kinds[r[2]], r[1]) for r in rows)
    sites = [
        (ids[r[0]], ids.get(r[3]), r[1], search_key(r[1]), kinds[r[2]], r[0], r[4], r[5], r[6],
         None, path(r[0]), sorts[ids[r[0]]], path(r[0]).count("/") - 2, "active", None,
         "approved", now, now)
        for r in ordered
    ]
    parts = [
        (conference_id, ids[r[0]], int(r[7]), "not_connected", None, "approved", r[1], r[0],
         path(r[0]), sorts[ids[r[0]]], now, now)
        for r in ordered
    ]
    return sites, parts


_INSERT_SITE = (
    "INSERT INTO site (id, parent_id, name, name_key, kind, code, room, contact_name, "
    "contact_phone, connection_link, path, sort_path, depth, status, merged_into_id, approval, "
    "created_at, updated_at) VALUES ({})"
)
_INSERT_PART = (
    "INSERT INTO participation (conference_id, site_id, expected_attendees, readiness, "
    "readiness_note, approval, name, code, path, sort_path, invited_at, updated_at) VALUES ({})"
)


def _baseline_sqlite(path: Path, rows: list[list[str]], conference_id: int) -> float:
    sites, parts = _baseline_rows(rows, conference_id)
    return timed_sqlite_inserts(path, [
        (_INSERT_SITE.format(", ".join("?" * 18)), sites),
        (_INSERT_PART.format(", ".join("?" * 12)), parts),
    ])


def _baseline_pg(engine: Engine, rows: list[list[str]], conference_id: int) -> float:
    sites, parts = _baseline_rows(rows, conference_id)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        started = time.perf_counter()
        cur.executemany(_INSERT_SITE.format(", ".join(["%s"] * 18)), sites)
        cur.executemany(_INSERT_PART.format(", ".join(["%s"] * 12)), parts)
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def _import(engine: Engine, data: bytes, admin: User, conference_id: int) -> dict[str, float]:
    with Session(engine, expire_on_commit=False) as db:
        started = time.perf_counter()
        report = imports.import_sites(
            db, conference_id=conference_id, filename="cay-diem-cau.csv", data=data, actor=admin
        )
        wall = time.perf_counter() - started
        count = db.exec(
            select(func.count())
            .select_from(Participation)
            .where(Participation.conference_id == conference_id)
        ).one()
        deepest = db.exec(select(func.max(Site.depth))).one()
    assert report.created == count, (report.created, count)
    assert deepest == 2, deepest
    return {**report.seconds, "wall": wall}


def run_sqlite(rows: list[list[str]], data: bytes, folder: Path) -> Result:
    """Import into a fresh SQLite file, then the baseline into another."""
    target, reference = folder / "import.db", folder / "baseline.db"
    for path in (target, reference):
        upgrade(f"sqlite:///{path}")
    engine = create_db_engine(f"sqlite:///{target}", pool_size=2)
    admin, conference_id = _arrange(engine)
    seconds = _import(engine, data, admin, conference_id)
    engine.dispose()
    ref_engine = create_db_engine(f"sqlite:///{reference}", pool_size=2)
    _, ref_conference = _arrange(ref_engine)
    ref_engine.dispose()
    return Result("SQLite", len(rows), seconds, _baseline_sqlite(reference, rows, ref_conference))



def run_pg(rows: list[list[str]], data: bytes) -> Result:
    """Import into a fresh PostgreSQL database, then the baseline into another."""
    engine = create_db_engine(fresh_pg(PG_BENCH_DB), pool_size=2)
    admin, conference_id = _arrange(engine)
    seconds = _import(engine, data, admin, conference_id)
    engine.dispose()
    ref_engine = create_db_engine(fresh_pg(PG_BENCH_DB + "_ref"), pool_size=2)
    _, ref_conference = _arrange(ref_engine)
    baseline = _baseline_pg(ref_engine, rows, ref_conference)
    ref_engine.dispose()
    return Result("PostgreSQL", len(rows), seconds, baseline)


def _print(results: list[Result]) -> None:
    print(f"{'backend':<11} {'rows':>6} {'parse':>7} {'validate':>9} {'insert':>7} "
          f"{'total':>7} {'baseline':>9} {'insert/base':>11}")
    for r in results:
        s = r.seconds
        print(f"{r.backend:<11} {r.rows:>6} {s['parse']:>7.3f} {s['validate']:>9.3f} "
              f"{s['insert']:>7.3f} {s['total']:>7.3f} {r.baseline:>9.3f} "
              f"{s['insert'] / r.baseline:>10.1f}x")
    print("(seconds; baseline = bare executemany INSERT of the same rows, one transaction)")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 if an import took longer than the 10-second target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pg", action="store_true", help="also run on PostgreSQL")
    parser.add_argument("--smoke", action="store_true", help="a few hundred rows, for CI")
    args = parser.parse_args(argv)
    rows = national_tree(communes=200, wards=60) if args.smoke else national_tree()
    data = to_csv(rows)
    print(f"{len(rows):,} rows, {len(data) / 1024:,.0f} KiB CSV")
    with tempfile.TemporaryDirectory() as folder:
        results = [run_sqlite(rows, data, Path(folder))]
    if args.pg:
        results.append(run_pg(rows, data))
    _print(results)
    slow = [r for r in results if r.seconds["total"] > TARGET_SECONDS]
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
