"""Scans that queued together (group commit): one transaction, the same outcomes as one
by one, a refusal's own writes undone and its failure kept, announced after the COMMIT."""

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.config import Settings
from app.errors import AppError
from checkin import scan_batch, service
from checkin.models import Attendance, ScanFailure
from sessions import service as sessions_service
from sessions.models import SessionCreate
from tests.checkin.support import CommitCounter, Roster, StatementCounter, code_for
from tests.conftest import Tree


def _many(db: Session, settings: Settings, scans: list[dict[str, Any]],
          published: list[Any] | None = None) -> list[Any]:
    def publish(channel: str, message: Any) -> None:
        if published is not None:
            published.append(message)
    return scan_batch.check_in_many(
        db, scans=[service.new_scan(**s) for s in scans], settings=settings, publish=publish)


def _rows(db: Session) -> list[tuple[int, int]]:
    db.rollback()
    rows = db.exec(select(Attendance).order_by(col(Attendance.id))).all()
    return [(r.attendee_id, r.session_key) for r in rows]


def test_a_batch_gives_each_scan_its_own_outcome(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    an = code_for(wdb, roster.an, settings)
    published: list[Any] = []
    out = _many(wdb, settings, [
        {"code": an, "site_id": tree.ward_a1, "actor": admin, "nonce": "n-1"},
        {"code": an, "site_id": tree.ward_a1, "actor": admin, "nonce": "n-1"},  # a retry
        {"code": an, "site_id": tree.hub_a, "actor": admin, "nonce": "n-2"},  # again
        {"code": "hello", "site_id": tree.ward_a1, "actor": admin},
        {"code": roster.binh.short_code, "site_id": tree.ward_a1, "actor": admin,
         "nonce": "n-1"},  # An's nonce
        {"code": roster.cuong.short_code, "site_id": tree.ward_b1, "actor": admin},
    ], published)
    first, retry, again = out[0], out[1], out[2]
    assert first.status == "checked_in" and first.first and not first.replayed
    assert retry.replayed and retry.checked_in_at == first.checked_in_at
    assert again.status == "already_checked_in" and again.site_id == tree.ward_a1
    assert [e.code for e in out[3:5]] == ["pass_malformed", "nonce_reused"]
    assert all(isinstance(e, AppError) for e in out[3:5])
    assert out[5].status == "checked_in"
    assert sorted(_rows(wdb)) == sorted([(roster.an.id, 0), (roster.cuong.id, 0)])
    failures = wdb.exec(select(ScanFailure.reason).order_by(col(ScanFailure.id))).all()
    assert failures == ["pass_malformed", "nonce_reused"]  # kept, in the batch's COMMIT
    assert len(published) == 2  # An and Cường, after the COMMIT


def test_a_refused_session_scan_leaves_no_conference_row(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    session = sessions_service.create_session(
        wdb, conference_id=tree.cid, actor=admin, data=SessionCreate.model_validate(
            {"title": "Phiên khai mạc", "starts_at": "2025-09-09T08:00:00",
             "ends_at": "2025-09-09T11:00:00"}))
    out = _many(wdb, settings, [
        {"code": roster.an.short_code, "site_id": tree.ward_a1, "actor": admin,
         "session_id": session.id, "nonce": "same"},
        # Bình's session scan writes his conference row in the same statement, then
        # finds the nonce taken: its SAVEPOINT takes the row back.
        {"code": roster.binh.short_code, "site_id": tree.ward_a1, "actor": admin,
         "session_id": session.id, "nonce": "same"},
    ])
    assert out[0].status == "checked_in"
    assert isinstance(out[1], AppError) and out[1].code == "nonce_reused"
    assert sorted(_rows(wdb)) == sorted([(roster.an.id, 0), (roster.an.id, session.id)])


def test_a_batch_is_one_transaction(
    wdb: Session, engine: Engine, roster: Roster, tree: Tree, admin: User,
    settings: Settings
) -> None:
    _many(wdb, settings, [{"code": roster.an.short_code, "site_id": tree.ward_a1,
                           "actor": admin}])
    with CommitCounter(engine) as commits, StatementCounter(engine) as counter:
        out = _many(wdb, settings, [
            {"code": r.short_code, "site_id": r.site_id, "actor": admin}
            for r in (roster.binh, roster.cuong)])
    assert [o.status for o in out] == ["checked_in", "checked_in"]
    assert commits.commits == 1  # one COMMIT for both
    said = [s.strip().split()[0].upper() for s in counter.statements]
    # Per scan: its context, its insert (conference level: no SAVEPOINT, see below).
    assert said.count("BEGIN") <= 1 and said == ["BEGIN"] * said.count("BEGIN") + [
        "SELECT", "INSERT", "SELECT", "INSERT"]


def test_conference_level_scans_need_no_savepoint(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings, engine: Engine
) -> None:
    an = code_for(wdb, roster.an, settings)
    with StatementCounter(engine) as counter:
        out = _many(wdb, settings, [
            {"code": an, "site_id": tree.ward_a1, "actor": admin, "nonce": "n-1"},
            {"code": roster.binh.short_code, "site_id": tree.ward_a1, "actor": admin,
             "nonce": "n-1"},  # An's nonce: refused after an insert that wrote nothing
            {"code": roster.cuong.short_code, "site_id": tree.ward_b1, "actor": admin},
        ])
    assert [o.code if isinstance(o, AppError) else o.status for o in out] == [
        "checked_in", "nonce_reused", "checked_in"]
    assert not [s for s in counter.statements if "SAVEPOINT" in s.upper()]
    assert sorted(_rows(wdb)) == sorted([(roster.an.id, 0), (roster.cuong.id, 0)])
