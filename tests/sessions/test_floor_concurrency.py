"""The floor under concurrent callers, each with its own database session (threads, on
SQLite and PostgreSQL): one open request per site whatever the race, every ask answered
201 or 200, the queue in the order asked, one speaker when two gives race."""

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.config import Settings
from app.db import create_db_engine
from app.errors import AppError
from endpoints import service as endpoints_service
from endpoints.models import SiteCreate, SiteKind
from sessions import floor, floor_view
from sessions.floor_models import FloorAsk, FloorRequest, FloorStatus
from sessions.models import Stage
from tests.conftest import Tree
from tests.sessions.floor_support import on_stage

THREADS = 24


def _quiet(channel: str, message: str) -> None:
    """Publishing goes nowhere here: the rows are what the tests check."""


def _answer(engine: Engine, barrier: threading.Barrier, call: Callable[[Session], Any]) -> Any:
    """Run `call` in a session of its own once every thread is ready; its HTTP status."""
    barrier.wait(timeout=30)
    with Session(engine, expire_on_commit=False) as db:
        try:
            return call(db)
        except AppError as exc:
            return (exc.status_code, exc.code)
        except Exception as exc:  # anything else would be a 500
            return f"crash:{type(exc).__name__}:{exc}"


def _ask(db: Session, *, sid: int, site_id: int, actor: User, n: int) -> int:
    _, created, _ = floor.ask(db, session_id=sid, site_id=site_id, actor=actor, publish=_quiet,
                           data=FloorAsk(topic=f"Ý kiến số {n}", speaker_name="Trần Văn Bình"))
    return 201 if created else 200


def _race(settings: Settings, calls: list[Callable[[Session], Any]]) -> list[Any]:
    engine = create_db_engine(settings.database_url, pool_size=len(calls))
    barrier = threading.Barrier(len(calls))
    try:
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return list(pool.map(lambda c: _answer(engine, barrier, c), calls))
    finally:
        engine.dispose()


def _requests(db: Session, sid: int) -> list[FloorRequest]:
    db.rollback()
    return list(db.exec(select(FloorRequest).where(FloorRequest.session_id == sid)
                        .order_by(col(FloorRequest.id))
                        .execution_options(populate_existing=True)).all())


def test_many_asks_of_one_site_leave_one_open_request(
    db: Session, tree: Tree, admin: User, coordinator_a: User, settings: Settings
) -> None:
    sid = on_stage(db, tree, admin)
    answers = _race(settings, [
        partial(_ask, sid=sid, site_id=tree.ward_a1, actor=coordinator_a, n=n)
        for n in range(THREADS)])
    assert Counter(answers) == {201: 1, 200: THREADS - 1}, answers
    rows = _requests(db, sid)
    assert [(r.site_id, r.status) for r in rows] == [(tree.ward_a1, FloorStatus.open)]
    assert rows[0].topic.startswith("Ý kiến số ")


def _wards(db: Session, tree: Tree, admin: User, count: int) -> list[int]:
    ids = []
    for i in range(count):
        view = endpoints_service.create_site(
            db, conference_id=tree.cid, actor=admin,
            data=SiteCreate(name=f"Xã thứ {i}", kind=SiteKind.commune, parent_id=tree.hub_a,
                            code=f"HCM-X{i}"))
        assert view.site.id is not None
        ids.append(view.site.id)
    return ids


def test_many_sites_asking_at_once_get_one_request_each_in_the_order_asked(
    db: Session, tree: Tree, admin: User, settings: Settings
) -> None:
    sid = on_stage(db, tree, admin)
    sites = _wards(db, tree, admin, THREADS)
    answers = _race(settings, [partial(_ask, sid=sid, site_id=s, actor=admin, n=s) for s in sites])
    assert answers == [201] * THREADS, answers
    rows = _requests(db, sid)
    assert sorted(r.site_id for r in rows) == sorted(sites)
    assert {r.status for r in rows} == {FloorStatus.open}
    queue = floor_view.queue(db, session_id=sid, actor=admin)
    by_time = sorted(rows, key=lambda r: (r.asked_at, r.id))
    assert [r.id for r in queue.requests] == [r.id for r in by_time]
    assert queue.version == THREADS


def _give(db: Session, *, request_id: int, admin: User) -> int:
    floor.give(db, request_id=request_id, limit_seconds=None, actor=admin, publish=_quiet)
    return 200


def test_two_gives_racing_leave_one_speaker_and_end_the_other(
    db: Session, tree: Tree, admin: User, coordinator_a: User, settings: Settings
) -> None:
    sid = on_stage(db, tree, admin)
    for _ in range(3):  # a few rounds: the race goes either way
        ids = [floor.ask(db, session_id=sid, site_id=site, actor=coordinator_a, publish=_quiet,
                         data=FloorAsk(topic="Thảo luận", speaker_name="Lê Văn Cường"))[0].id
               for site in (tree.ward_a1, tree.ward_a2)]
        answers = _race(settings, [partial(_give, request_id=r or 0, admin=admin) for r in ids])
        assert answers == [200, 200], answers
        db.rollback()
        stage = db.get(Stage, tree.cid, populate_existing=True)
        rows = {r.id: r for r in _requests(db, sid) if r.id in ids}
        speaking = [r for r in rows.values() if r.status == FloorStatus.speaking]
        assert len(speaking) == 1 and stage is not None and stage.speaker_id == speaking[0].id
        other = next(r for r in rows.values() if r.id != speaking[0].id)
        assert other.status == FloorStatus.done and other.ended_at is not None
        floor.end(db, session_id=sid, actor=admin, publish=_quiet)


def test_the_same_request_given_twice_at_once_is_given_once(
    db: Session, tree: Tree, admin: User, coordinator_a: User, settings: Settings
) -> None:
    sid = on_stage(db, tree, admin)
    req, _, _ = floor.ask(db, session_id=sid, site_id=tree.ward_a1, actor=coordinator_a,
                       publish=_quiet, data=FloorAsk(topic="Thảo luận", speaker_name="An"))
    answers = _race(settings, [partial(_give, request_id=req.id or 0, admin=admin)] * 4)
    assert Counter(answers) == {200: 1, (409, "floor_request_not_open"): 3}, answers
    assert [r.status for r in _requests(db, sid)] == [FloorStatus.speaking]
