"""What a screen shows between conferences: the live check and the next conference."""

from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from app.accounts.models import User
from app.db import LOCAL_TZ, local_today
from endpoints import service as endpoints_service
from endpoints.models import ConferenceCreate
from sessions import events, service, waiting
from sessions.models import SessionCreate
from tests.conftest import Tree
from tests.sessions.support import run_on


def _conference(db: Session, admin: User, title: str, starts_on: date, *site_ids: int) -> int:
    """A conference on one day, with these sites invited."""
    conference = endpoints_service.create_conference(
        db, data=ConferenceCreate(title=title, starts_on=starts_on, ends_on=starts_on), actor=admin
    )
    assert conference.id is not None
    for site_id in site_ids:
        site = endpoints_service.load_site(db, site_id)
        endpoints_service.invite_site(db, conference_id=conference.id, site=site)
    db.commit()
    return conference.id


def _session_at(db: Session, admin: User, conference_id: int, starts_at: datetime) -> None:
    service.create_session(
        db,
        conference_id=conference_id,
        data=SessionCreate(
            title="Phiên", starts_at=starts_at, ends_at=starts_at + timedelta(hours=2)
        ),
        actor=admin,
    )


def test_live_conference_is_the_one_running_today(db: Session, tree: Tree) -> None:
    today = local_today()
    assert waiting.live_conference(db, site_id=tree.ward_a1) is None  # the tree's is in 2025
    run_on(db, tree.cid, today - timedelta(days=1), today + timedelta(days=1))
    assert waiting.live_conference(db, site_id=tree.ward_a1) == tree.cid
    after = today + timedelta(days=2)
    assert waiting.live_conference(db, site_id=tree.ward_a1, today=after) is None


def test_next_is_the_nearest_upcoming_conference_of_the_site(
    db: Session, admin: User, tree: Tree
) -> None:
    today = local_today()
    later = _conference(db, admin, "Hội nghị quý II", today + timedelta(days=60), tree.ward_a1)
    sooner = _conference(db, admin, "Hội nghị quý I", today + timedelta(days=7), tree.ward_a1)
    _conference(db, admin, "Không mời phường này", today + timedelta(days=2), tree.ward_b1)
    _conference(db, admin, "Đã diễn ra", today - timedelta(days=2), tree.ward_a1)
    upcoming = waiting.next_for_site(db, site_id=tree.ward_a1)
    assert upcoming == events.NextConference(
        conference_id=sooner, title="Hội nghị quý I", starts_on=today + timedelta(days=7),
        starts_at=None,
    )
    after = waiting.next_for_site(db, site_id=tree.ward_a1, today=today + timedelta(days=7))
    assert after is not None and after.conference_id == later


def test_next_starts_at_its_first_session_in_local_time(
    db: Session, admin: User, tree: Tree
) -> None:
    day = local_today() + timedelta(days=3)
    cid = _conference(db, admin, "Hội nghị toàn quốc", day, tree.ward_a1)
    first = datetime(day.year, day.month, day.day, 1, 30, tzinfo=UTC)  # 08:30 in Hanoi
    _session_at(db, admin, cid, first + timedelta(hours=5))
    _session_at(db, admin, cid, first)
    upcoming = waiting.next_for_site(db, site_id=tree.ward_a1)
    assert upcoming is not None and upcoming.starts_at == first
    assert upcoming.starts_at.tzinfo == LOCAL_TZ and upcoming.starts_at.hour == 8


def test_waiting_view_without_upcoming_conference(db: Session, tree: Tree) -> None:
    before = datetime.now(UTC)
    view = waiting.waiting_view(db, site_id=tree.ward_a1, site_name="Đảng ủy phường Bến Nghé")
    assert (view.site_name, view.next) == ("Đảng ủy phường Bến Nghé", None)
    assert view.now >= before and view.now.utcoffset() == timedelta(hours=7)
