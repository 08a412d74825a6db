"""A paired screen between conferences: is one live at its site yet, and what comes next.

A screen belongs to its site, not to a conference (pairing happens once). When no
conference the site takes part in is live today, /ws/screen sends the waiting
message made here and asks again every :data:`RECHECK_SECONDS`.
"""

from datetime import date, datetime
from typing import Final

from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.db import LOCAL_TZ, utcnow
from endpoints import service as endpoints_service
from sessions.events import NextConference, WaitingView
from sessions.models import ConferenceSession

#: How often a waiting screen's socket looks for a conference gone live. Conferences
#: start on a date, so half a minute is prompt enough; thousands of waiting screens
#: then cost about a hundred small queries a second at most.
RECHECK_SECONDS: Final = 30.0


def live_conference(db: Session, *, site_id: int, today: date | None = None) -> int | None:
    """The conference live at the site today, or None."""
    return endpoints_service.current_conference_id(
        db, site_id=site_id, today=today, live_only=True
    )


def next_for_site(db: Session, *, site_id: int, today: date | None = None) -> NextConference | None:
    """The nearest upcoming conference of the site, with its first session's start."""
    conference = endpoints_service.next_conference(db, site_id=site_id, today=today)
    if conference is None or conference.id is None:
        return None
    # The earliest start by ORDER BY, not min(): the column's type keeps it aware UTC.
    first: datetime | None = db.execute(
        sa_select(col(ConferenceSession.starts_at))
        .where(col(ConferenceSession.conference_id) == conference.id)
        .order_by(col(ConferenceSession.starts_at))
        .limit(1)
    ).scalar()
    return NextConference(
        conference_id=conference.id,
        title=conference.title,
        starts_on=conference.starts_on,
        starts_at=None if first is None else first.astimezone(LOCAL_TZ),
    )


def waiting_view(
    db: Session, *, site_id: int, site_name: str, today: date | None = None
) -> WaitingView:
    """What a screen of the site shows now that nothing is live there."""
    return WaitingView(
        site_name=site_name,
        next=next_for_site(db, site_id=site_id, today=today),
        now=utcnow().astimezone(LOCAL_TZ),
    )
