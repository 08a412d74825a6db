"""Headcount reports (a site without individual check-in says how many are present) and
the attendance counts of a conference.

A new report replaces the site's current one for that session: the old row is marked
superseded in the same transaction (history is kept), and a partial unique index
allows one current report per (site, session) whatever the race.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Integer, cast, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import utcnow
from app.realtime import Publish
from checkin import errors, events
from checkin.models import (
    CONFERENCE_LEVEL,
    HEADCOUNT_CATEGORIES,
    Attendance,
    Attendee,
    Headcount,
    ScanFailure,
)
from endpoints import errors as endpoints_errors
from endpoints import screens as endpoints_screens
from endpoints import service as endpoints_service
from endpoints.models import Readiness, ScreenDevice, Site
from sessions.models import ConferenceSession


def _check_session(db: Session, conference_id: int, session_id: int | None) -> int:
    if session_id is None:
        return CONFERENCE_LEVEL
    session = db.get(ConferenceSession, session_id)
    if session is None or session.conference_id != conference_id:
        raise errors.CheckinSessionNotFound()
    return session_id


def report_headcount(
    db: Session,
    *,
    site_id: int,
    session_id: int | None,
    counts: dict[str, int],
    actor: User,
    publish: Publish | None = None,
) -> Headcount:
    """Report how many are present at a site (by category); replaces the earlier report."""
    site = endpoints_service.get_site(db, site_id=site_id, actor=actor)
    if site.readiness == Readiness.not_participating:
        raise errors.SiteNotParticipating()
    session_key = _check_session(db, site.conference_id, session_id)
    clean = {str(k): int(v) for k, v in counts.items()}
    if not clean or any(
        k not in HEADCOUNT_CATEGORIES or not 0 <= v <= 100_000 for k, v in clean.items()
    ):
        raise errors.InvalidHeadcount()
    if db.get_bind().dialect.name == "postgresql":
        # Two reports for one site wait for each other (SQLite: BEGIN IMMEDIATE did it).
        db.execute(sa_select(col(Site.id)).where(col(Site.id) == site_id).with_for_update())
    now = utcnow()
    db.execute(
        update(Headcount)
        .where(
            col(Headcount.site_id) == site_id,
            col(Headcount.session_key) == session_key,
            col(Headcount.superseded).is_(False),
        )
        .values(superseded=True)
    )
    report = Headcount(
        conference_id=site.conference_id,
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
    if publish is not None:
        publish(
            events.attendance_channel(site.conference_id),
            events.encode_headcount(
                conference_id=site.conference_id, site_id=site_id, session_id=session_id,
                total=report.total, at=now,
            ),
        )
    return report


def list_headcounts(
    db: Session, *, site_id: int, actor: User, session_id: int | None = None, limit: int = 50
) -> Sequence[Headcount]:
    """Reports of a site for a session, newest first (the first is the current one)."""
    site = endpoints_service.get_site(db, site_id=site_id, actor=actor)
    session_key = _check_session(db, site.conference_id, session_id)
    return db.exec(
        select(Headcount)
        .where(Headcount.site_id == site_id, Headcount.session_key == session_key)
        .order_by(col(Headcount.id).desc())
        .limit(max(1, min(limit, 500)))
    ).all()


# ------------------------------------------------------------- attendance


@dataclass(frozen=True)
class SiteAttendance:
    """Counts of one site."""

    site_id: int
    name: str
    kind: str
    parent_id: int | None
    readiness: str
    expected: int
    registered: int
    checked_in: int
    foreign: int
    headcount: int | None
    online_screens: int

    @property
    def present(self) -> int:
        """Checked in, or the reported headcount when that is higher (walk-ins, no scanner)."""
        return max(self.checked_in, self.headcount or 0)


@dataclass(frozen=True)
class AttendanceSummary:
    """Totals and per-site counts of a conference (within the actor's scope)."""

    conference_id: int
    session_id: int | None
    expected: int
    registered: int
    checked_in: int
    headcount: int
    present: int
    online_screens: int
    sites_online: int
    failed_scans: int
    sites: list[SiteAttendance]


def _grouped(db: Session, query: Any) -> dict[int, Any]:
    return {r[0]: r[1:] for r in db.execute(query).all()}


def attendance_summary(
    db: Session,
    *,
    conference_id: int,
    actor: User,
    session_id: int | None = None,
    site_id: int | None = None,
) -> AttendanceSummary:
    """Checked in, headcount, expected and online screens per site, with totals.

    A coordinator sees their own subtree; `site_id` narrows to a site and its subtree.
    """
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    session_key = _check_session(db, conference_id, session_id)
    path: str | None = None
    if site_id is not None:
        site = endpoints_service.get_site(db, site_id=site_id, actor=actor)
        if site.conference_id != conference_id:
            raise endpoints_errors.SiteNotFound()
        path = site.path
    elif not accounts_service.is_admin(actor):
        root = db.get(Site, actor.site_id) if actor.site_id else None
        if root is None:
            raise endpoints_errors.SiteOutOfScope()
        path = root.path
    site_conds: list[Any] = [col(Site.conference_id) == conference_id]
    if path is not None:
        site_conds.append(col(Site.path).startswith(path))
    sites = db.execute(
        sa_select(
            col(Site.id), col(Site.name), col(Site.kind), col(Site.parent_id),
            col(Site.readiness), col(Site.expected_attendees),
        )
        .where(*site_conds)
        .order_by(col(Site.path))
    ).all()
    checked = _grouped(
        db,
        sa_select(
            col(Attendance.site_id),
            func.count(),
            func.sum(cast(col(Attendance.foreign_site), Integer)),
        )
        .where(
            col(Attendance.conference_id) == conference_id,
            col(Attendance.session_key) == session_key,
        )
        .group_by(col(Attendance.site_id)),
    )
    registered = _grouped(
        db,
        sa_select(col(Attendee.site_id), func.count())
        .where(col(Attendee.conference_id) == conference_id, col(Attendee.deleted_at).is_(None))
        .group_by(col(Attendee.site_id)),
    )
    headcounts = _grouped(
        db,
        sa_select(col(Headcount.site_id), col(Headcount.total)).where(
            col(Headcount.conference_id) == conference_id,
            col(Headcount.session_key) == session_key,
            col(Headcount.superseded).is_(False),
        ),
    )
    since = utcnow() - timedelta(seconds=endpoints_screens.ONLINE_SECONDS)
    online = _grouped(
        db,
        sa_select(col(ScreenDevice.site_id), func.count())
        .where(
            col(ScreenDevice.conference_id) == conference_id,
            col(ScreenDevice.revoked).is_(False),
            col(ScreenDevice.last_seen_at) > since,
        )
        .group_by(col(ScreenDevice.site_id)),
    )
    failed_query = sa_select(func.count()).select_from(ScanFailure).where(
        col(ScanFailure.conference_id) == conference_id,
        col(ScanFailure.session_key) == session_key,
    )
    if path is not None:
        failed_query = failed_query.join(Site, col(Site.id) == col(ScanFailure.site_id)).where(
            col(Site.path).startswith(path)
        )
    failed = db.execute(failed_query).scalar_one()
    db.rollback()
    rows = [
        SiteAttendance(
            site_id=s[0], name=s[1], kind=str(s[2]), parent_id=s[3], readiness=str(s[4]),
            expected=s[5],
            registered=int(registered.get(s[0], (0,))[0]),
            checked_in=int(checked.get(s[0], (0, 0))[0]),
            foreign=int(checked.get(s[0], (0, 0))[1] or 0),
            headcount=int(headcounts[s[0]][0]) if s[0] in headcounts else None,
            online_screens=int(online.get(s[0], (0,))[0]),
        )
        for s in sites
    ]
    return AttendanceSummary(
        conference_id=conference_id,
        session_id=session_id,
        expected=sum(r.expected for r in rows),
        registered=sum(r.registered for r in rows),
        checked_in=sum(r.checked_in for r in rows),
        headcount=sum(r.headcount or 0 for r in rows),
        present=sum(r.present for r in rows),
        online_screens=sum(r.online_screens for r in rows),
        sites_online=sum(1 for r in rows if r.online_screens),
        failed_scans=int(failed),
        sites=rows,
    )
