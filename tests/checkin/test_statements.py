"""The check-in hot path's statements: one joined context row, the insert, the earlier row."""

from datetime import UTC, datetime

from sqlmodel import Session

from app.accounts.models import User
from app.db import utcnow
from checkin import roster as checkin_roster
from checkin import statements
from checkin.models import CONFERENCE_LEVEL, Attendee, AttendeeCreate
from endpoints import service as endpoints_service
from sessions import service as sessions_service
from sessions.models import SessionCreate
from tests.checkin.support import Roster, second_conference
from tests.conftest import Tree


def _context(
    wdb: Session, site_id: int, *, attendee_id: int | None = None, short_code: str | None = None
) -> statements.ScanContext | None:
    return statements.load_context(
        wdb, site_id=site_id, root_id=None, session_id=None, attendee_id=attendee_id,
        short_code=short_code,
    )


def test_load_context_unknown_site_none(wdb: Session, tree: Tree) -> None:
    assert _context(wdb, 10_000_000, short_code="ABC123") is None


def test_load_context_maps_columns_by_name(wdb: Session, roster: Roster, tree: Tree) -> None:
    by_id = _context(wdb, tree.ward_b1, attendee_id=roster.an.id)
    by_code = _context(wdb, tree.ward_b1, short_code=roster.an.short_code)
    assert by_id == by_code
    assert by_id is not None
    assert (by_id.scan_conference_id, by_id.attendee_id, by_id.full_name) == (
        tree.cid, roster.an.id, roster.an.full_name)
    assert (by_id.home_site_id, by_id.attendee_conference_id) == (tree.ward_a1, tree.cid)
    assert by_id.scan_name != by_id.home_name and by_id.root_path is None


def test_load_context_unknown_short_code_keeps_the_site(wdb: Session, tree: Tree) -> None:
    ctx = _context(wdb, tree.ward_a1, short_code="NOSUCH")
    assert ctx is not None and ctx.attendee_id is None and ctx.scan_conference_id == tree.cid


def test_insert_checkin_once_then_earlier_row_by_name(
    wdb: Session, roster: Roster, tree: Tree
) -> None:
    values = {
        "conference_id": tree.cid, "attendee_id": roster.an.id, "session_key": CONFERENCE_LEVEL,
        "site_id": tree.ward_a1, "checked_in_at": utcnow(), "checked_out_at": None,
        "method": "scan", "device": None, "nonce": "n-1", "foreign_site": False,
        "actor_id": None,
    }
    assert statements.insert_checkin(wdb, values) is True
    assert statements.insert_checkin(wdb, {**values, "nonce": "n-2"}) is False
    assert roster.an.id is not None
    earlier = statements.earlier_checkins(
        wdb, attendee_id=roster.an.id, session_key=CONFERENCE_LEVEL, conference_id=tree.cid,
        nonce="n-1",
    )
    wdb.rollback()
    assert [(e.attendee_id, e.site_id, e.nonce, e.foreign_site) for e in earlier] == [
        (roster.an.id, tree.ward_a1, "n-1", False)]
    assert earlier[0].site_name == "Đảng ủy phường Bến Nghé"


# ------------------------------------------------------------ the registry


def _attendee_of(wdb: Session, admin: User, conference_id: int, site_id: int) -> Attendee:
    return checkin_roster.create_attendees(
        wdb, conference_id=conference_id,
        items=[AttendeeCreate(full_name="Phạm Thị Dung", site_id=site_id)], actor=admin,
    )[0]


def test_load_context_joins_the_participation_of_the_attendees_conference(
    wdb: Session, roster: Roster, tree: Tree, admin: User
) -> None:
    second = second_conference(wdb, admin, tree, [tree.ward_a1])
    dung = _attendee_of(wdb, admin, second, tree.ward_a1)
    part = endpoints_service.participation_of(wdb, conference_id=second, site_id=tree.ward_a1)
    assert part is not None
    part.name = "Phường Sài Gòn"
    wdb.add(part)
    wdb.commit()
    mine = _context(wdb, tree.ward_a1, attendee_id=dung.id)
    theirs = _context(wdb, tree.ward_a1, attendee_id=roster.an.id)
    assert mine is not None and theirs is not None
    assert (mine.scan_conference_id, mine.scan_name, mine.home_name) == (
        second, "Phường Sài Gòn", "Phường Sài Gòn")
    assert (theirs.scan_conference_id, theirs.scan_name) == (tree.cid, "Đảng ủy phường Bến Nghé")
    # Ward B1 was not invited to the second conference: no participation joined.
    outside = _context(wdb, tree.ward_b1, attendee_id=dung.id)
    assert outside is not None and outside.attendee_id == dung.id
    assert outside.scan_conference_id is None and outside.scan_readiness is None


def test_load_context_short_code_is_of_the_conference_current_at_the_site(
    wdb: Session, roster: Roster, tree: Tree, admin: User
) -> None:
    second = second_conference(wdb, admin, tree, [tree.ward_a1])  # live today
    dung = _attendee_of(wdb, admin, second, tree.ward_a1)
    live = _context(wdb, tree.ward_a1, short_code=dung.short_code)
    past = _context(wdb, tree.ward_a1, short_code=roster.an.short_code)
    assert live is not None and live.attendee_id == dung.id and live.scan_conference_id == second
    assert past is not None and past.attendee_id is None and past.scan_conference_id == second
    # A session names its conference: the short code is looked up there.
    session = sessions_service.create_session(
        wdb, conference_id=tree.cid,
        data=SessionCreate(title="Phiên 1", starts_at=datetime(2025, 9, 9, 1, tzinfo=UTC),
                           ends_at=datetime(2025, 9, 9, 3, tzinfo=UTC)),
        actor=admin,
    )
    in_session = statements.load_context(
        wdb, site_id=tree.ward_a1, root_id=None, session_id=session.id, attendee_id=None,
        short_code=roster.an.short_code,
    )
    assert in_session is not None and in_session.attendee_id == roster.an.id
    assert in_session.scan_conference_id == tree.cid


def test_hot_path_statements_are_cacheable() -> None:
    """Compiled once, not per scan: SQLAlchemy caches a statement only if it has a cache
    key (a multi-row VALUES insert has none and compiled on every session check-in)."""
    for stmt in (*statements._INSERTS.values(), *statements._SESSION_INSERTS.values(),
                 statements._BY_ID, statements._BY_SHORT_CODE):
        assert stmt._generate_cache_key() is not None
