"""Exactly-once under concurrent duplicate scans: threads on SQLite and PostgreSQL, and
processes on one SQLite file."""

import multiprocessing
import threading
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.config import Settings
from app.db import create_db_engine
from app.errors import AppError
from checkin import service
from checkin.models import Attendance
from tests.checkin.support import Roster, code_for
from tests.conftest import Tree


def _scan(engine: Engine, settings: Settings, actor: User | None, code: str, site_id: int,
          device: str, nonce: str, barrier: threading.Barrier | None) -> str:
    if barrier is not None:
        barrier.wait(timeout=30)
    with Session(engine, expire_on_commit=False) as db:
        try:
            return service.check_in(db, code=code, site_id=site_id, actor=actor, device=device,
                                    nonce=nonce, settings=settings).status
        except AppError as exc:
            return exc.code
        except Exception as exc:  # anything else would be a 500
            return f"crash:{type(exc).__name__}:{exc}"


def _attendance(engine: Engine) -> list[tuple[int, int]]:
    with Session(engine) as db:
        return [(a.attendee_id, a.session_key) for a in db.exec(select(Attendance)).all()]


def test_check_in_fifty_parallel_scans_one_pass_five_devices(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    code = code_for(wdb, roster.an, settings)
    wdb.rollback()
    engine = create_db_engine(settings.database_url, pool_size=50)
    barrier = threading.Barrier(50)
    try:
        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(
                lambda i: _scan(engine, settings, admin, code, tree.ward_a1, f"device-{i % 5}",
                                f"nonce-{i}", barrier),
                range(50),
            ))
        rows = _attendance(engine)
    finally:
        engine.dispose()
    assert Counter(answers) == {"checked_in": 1, "already_checked_in": 49}
    assert rows == [(roster.an.id, 0)]


def test_check_in_many_passes_many_threads_exactly_one_each(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    people = [roster.an, roster.binh, roster.cuong]
    codes = [code_for(wdb, p, settings) for p in people] + [p.short_code for p in people]
    wdb.rollback()
    engine = create_db_engine(settings.database_url, pool_size=30)
    barrier = threading.Barrier(60)
    try:
        with ThreadPoolExecutor(max_workers=60) as pool:
            answers = list(pool.map(
                lambda i: _scan(engine, settings, admin, codes[i % len(codes)], tree.ward_a1,
                                f"device-{i % 5}", f"n-{i}", barrier),
                range(60),
            ))
        rows = _attendance(engine)
    finally:
        engine.dispose()
    assert Counter(answers) == {"checked_in": 3, "already_checked_in": 57}
    assert sorted(rows) == sorted((p.id, 0) for p in people)


def test_check_in_replayed_nonce_in_parallel_same_answer(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    code = roster.binh.short_code
    wdb.rollback()
    engine = create_db_engine(settings.database_url, pool_size=20)
    barrier = threading.Barrier(20)
    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(
                lambda i: _scan(engine, settings, admin, code, tree.ward_a1, "phone",
                                "retry-me", barrier),
                range(20),
            ))
        rows = _attendance(engine)
    finally:
        engine.dispose()
    # A retried request gets the first answer again, never a 500 and never a second row.
    assert Counter(answers) == {"checked_in": 20}
    assert len(rows) == 1


def _process_worker(args: tuple[str, dict[str, Any], int, list[str], int, int]) -> list[str]:
    url, settings_data, actor_id, codes, site_id, worker = args
    settings = Settings(**settings_data)
    engine = create_db_engine(url, pool_size=4)
    try:
        with Session(engine) as db:
            actor = db.get(User, actor_id)
            assert actor is not None
            db.expunge(actor)
        return [
            _scan(engine, settings, actor, code, site_id, f"proc-{worker}", f"p{worker}-{i}",
                  None)
            for i, code in enumerate(codes)
        ]
    finally:
        engine.dispose()


def test_check_in_processes_on_one_sqlite_file(
    sqlite_url: str, tmp_path: Any
) -> None:
    from tests.checkin.support import make_roster
    from tests.conftest import ADMIN_PASSWORD, make_settings

    settings = make_settings(sqlite_url)
    engine = create_db_engine(sqlite_url, pool_size=2)
    try:
        with Session(engine, expire_on_commit=False) as db:
            admin = accounts_service.ensure_admin(db, username="admin", password=ADMIN_PASSWORD)
            assert admin is not None
            tree = Tree(db, admin)
            people = make_roster(db, admin, tree)
            codes = [code_for(db, p, settings) for p in (people.an, people.binh, people.cuong)]
            admin_id, site_id = admin.id, tree.ward_a1
            db.rollback()
        data = settings.model_dump()
        jobs = [(sqlite_url, data, admin_id, codes * 8, site_id, w) for w in range(4)]
        with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
            answers = [a for batch in pool.map(_process_worker, jobs) for a in batch]
        with Session(engine) as db:
            total = db.exec(select(func.count()).select_from(Attendance)).one()
    finally:
        engine.dispose()
    assert Counter(answers) == {"checked_in": 3, "already_checked_in": 93}
    assert total == 3
