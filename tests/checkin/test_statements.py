"""The check-in hot path's statements: one joined context row, the insert, the earlier row."""

from sqlmodel import Session

from app.db import utcnow
from checkin import statements
from checkin.models import CONFERENCE_LEVEL
from tests.checkin.support import Roster
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
