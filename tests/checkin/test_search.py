"""Name search over the roster on SQLite and PostgreSQL: prefixes, order, scope."""

from typing import Any

import pytest
from sqlmodel import Session

from app.accounts.models import User
from checkin import roster as checkin_roster
from checkin import search as checkin_search
from checkin.models import Attendee, AttendeeCreate
from endpoints import errors as endpoints_errors
from tests.checkin.support import Roster
from tests.conftest import Tree


def _names(found: list[Attendee]) -> list[str]:
    return [a.full_name for a in found]


def test_search_attendees_word_prefixes_without_accents(
    wdb: Session, roster: Roster, tree: Tree, admin: User
) -> None:
    def search(q: str, **kw: Any) -> list[str]:
        return _names(
            checkin_search.search_attendees(wdb, conference_id=tree.cid, q=q, actor=admin, **kw)
        )

    assert search("ngu an") == ["Nguyễn Văn An"]
    assert search("AN NGUYEN") == ["Nguyễn Văn An"]
    assert search("binh") == ["Trần Thị Bình"]
    assert search("van") == ["Nguyễn Văn An", "Lê Văn Cường"][::-1]  # Lê before Nguyễn
    assert search("cuong", site_id=tree.hub_a) == []
    assert search(roster.binh.short_code.lower()) == ["Trần Thị Bình"]
    assert search("xyz") == []
    assert search("%") == []


def test_search_attendees_vietnamese_order(wdb: Session, tree: Tree, admin: User) -> None:
    names = ["Đỗ Văn Hùng", "Dương Văn Hùng", "Trần Văn Hùng", "Ân Văn Hùng", "An Văn Hùng"]
    checkin_roster.create_attendees(
        wdb,
        conference_id=tree.cid,
        actor=admin,
        items=[AttendeeCreate(full_name=n, site_id=tree.ward_a1) for n in names],
    )
    found = _names(
        checkin_search.search_attendees(wdb, conference_id=tree.cid, q="hung", actor=admin)
    )
    assert found == ["An Văn Hùng", "Ân Văn Hùng", "Dương Văn Hùng", "Đỗ Văn Hùng", "Trần Văn Hùng"]


def test_search_attendees_coordinator_sees_own_subtree(
    wdb: Session, roster: Roster, tree: Tree, coordinator_a: User
) -> None:
    found = checkin_search.search_attendees(
        wdb, conference_id=tree.cid, q="van", actor=coordinator_a
    )
    assert _names(found) == ["Nguyễn Văn An"]
    with pytest.raises(endpoints_errors.SiteOutOfScope):
        checkin_search.search_attendees(
            wdb, conference_id=tree.cid, q="van", actor=coordinator_a, site_id=tree.ward_b1
        )


def test_search_attendees_prefix_expands_to_many_words_merged_in_order(
    wdb: Session, tree: Tree, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkin_roster.create_attendees(
        wdb,
        conference_id=tree.cid,
        actor=admin,
        items=[
            AttendeeCreate(full_name=n, site_id=tree.ward_a1)
            for n in [
                "Nguyễn Thị Mai",
                "Nguyễn Văn Nam",
                "Nguyệt Thị Hoa",
                "Lê Thị Nguyệt",
                "Nguyễn Thị Hoa",
                "Lê Thị Hoa",
            ]
        ],
    )
    found = checkin_search.search_attendees(wdb, conference_id=tree.cid, q="ngu thi", actor=admin)
    assert _names(found) == ["Lê Thị Nguyệt", "Nguyễn Thị Hoa", "Nguyễn Thị Mai", "Nguyệt Thị Hoa"]
    top = checkin_search.search_attendees(
        wdb, conference_id=tree.cid, q="ngu", actor=admin, limit=2
    )
    assert _names(top) == ["Lê Thị Nguyệt", "Nguyễn Thị Hoa"]
