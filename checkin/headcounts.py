"""Headcount reports: a site without individual check-in says how many are present.

A new report replaces the site's current one for that session: the old row is marked
superseded in the same transaction (history is kept), and a partial unique index
allows one current report per (conference, site, session) whatever the race. A report
is for one conference the site takes part in (see checkin.sites.conference_for_site).
"""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.db import utcnow
from app.realtime import Publish
from checkin import attendance, errors, events
from checkin import sites as checkin_sites
from checkin.models import HEADCOUNT_CATEGORIES, Headcount
from endpoints.models import Readiness, Site


def report_headcount(
    db: Session,
    *,
    site_id: int,
    session_id: int | None,
    counts: dict[str, int],
    actor: User,
    publish: Publish | None = None,
    conference_id: int | None = None,
    at: datetime | None = None,
) -> Headcount:
    """Report how many are present at a site (by category); replaces the earlier report.
    `at`: when it was counted (a report queued offline), default now; a report counted
    before the current one only joins the history."""
    site = checkin_sites.site_in(db, site_id=site_id, actor=actor, conference_id=conference_id,
                                 session_id=session_id)
    if site.readiness == Readiness.not_participating:
        raise errors.SiteNotParticipating()
    cid: int = site.conference_id
    session_key = attendance.session_key_for(db, conference_id=cid, session_id=session_id)
    clean = _clean(counts)
    if db.get_bind().dialect.name == "postgresql":
        # Two reports for one site wait for each other (SQLite: BEGIN IMMEDIATE did it).
        db.execute(sa_select(col(Site.id)).where(col(Site.id) == site_id).with_for_update())
    now = at or utcnow()
    newer = _supersede(db, conference_id=cid, site_id=site_id, session_key=session_key,
                       at=now)
    report = Headcount(
        superseded=newer,
        conference_id=cid,
        site_id=site_id,
        session_key=session_key,
        counts=clean,
        total=sum(clean.values()),
        reported_by=actor.id,
        reported_at=now,
    )
    db.add(report)
    try:
        db.commit()
    except IntegrityError as exc:
        db.rollback()
        raise errors.HeadcountConflict() from exc
    if publish is not None and not newer:
        publish(
            events.attendance_channel(cid),
            events.encode_headcount(
                conference_id=cid, site_id=site_id, session_id=session_id,
                total=report.total, at=now,
            ),
        )
    return report


def _clean(counts: dict[str, int]) -> dict[str, int]:
    clean = {str(k): int(v) for k, v in counts.items()}
    if not clean or any(
        k not in HEADCOUNT_CATEGORIES or not 0 <= v <= 100_000 for k, v in clean.items()
    ):
        raise errors.InvalidHeadcount()
    return clean


def _supersede(db: Session, *, conference_id: int, site_id: int, session_key: int,
               at: datetime) -> bool:
    """Mark the current report superseded by one counted at `at`; True (nothing marked)
    when the current one was counted later: the new one only joins the history."""
    current = (
        col(Headcount.conference_id) == conference_id,
        col(Headcount.site_id) == site_id,
        col(Headcount.session_key) == session_key,
        col(Headcount.superseded).is_(False),
    )
    newer = db.exec(select(col(Headcount.id)).where(*current, col(Headcount.reported_at) > at)
                    ).first()
    if newer is None:
        db.execute(update(Headcount).where(*current).values(superseded=True))
    return newer is not None


def list_headcounts(
    db: Session, *, site_id: int, actor: User, session_id: int | None = None, limit: int = 50,
    conference_id: int | None = None,
) -> Sequence[Headcount]:
    """Reports of a site in a conference for a session, newest first (the first is the
    current one)."""
    site = checkin_sites.site_in(db, site_id=site_id, actor=actor, conference_id=conference_id,
                                 session_id=session_id)
    cid: int = site.conference_id
    session_key = attendance.session_key_for(db, conference_id=cid, session_id=session_id)
    return db.exec(
        select(Headcount)
        .where(Headcount.conference_id == cid, Headcount.site_id == site_id,
               Headcount.session_key == session_key)
        .order_by(col(Headcount.id).desc())
        .limit(max(1, min(limit, 500)))
    ).all()
