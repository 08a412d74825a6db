"""Attendance counts read from the database: the one place they are computed.

Per site: checked in (first check-ins of the conference-level check-in, or of one
session), the current headcount report, the expected number and whether the site is
online (the presence ticker's stored state, ``endpoints_service.online_sites``). The
dashboard board, the /attendance summary and the reports all start here; "present" is
:func:`checkin.board.present`. Each count is one grouped query, so 31,000 sites are a
handful of statements.
"""

from collections import Counter
from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Integer, and_, cast, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import local_today
from checkin import errors
from checkin.board import KEPT_INCIDENTS, Board, SiteState, local_minute, present
from checkin.models import (
    CONFERENCE_LEVEL,
    Attendance,
    AttendancePublic,
    Attendee,
    Headcount,
    ScanFailure,
    ScanFailureCount,
    SiteAttendancePublic,
)
from checkin.offline_models import OfflineSync
from checkin.sync_view import SyncSummary
from endpoints import errors as endpoints_errors
from endpoints import service as endpoints_service
from endpoints.events import incident_view
from endpoints.models import Incident, Participation, Site
from sessions.models import ConferenceSession

#: Check-ins committed this close before a load may still have their message in flight.
RECENT_SECONDS: Final = 30.0


def _pairs(rows: Any) -> dict[int, int]:
    return {int(r[0]): int(r[1]) for r in rows}


def session_key_for(db: Session, *, conference_id: int, session_id: int | None) -> int:
    """The session key of attendance rows (0: conference level); refuses another's session."""
    if session_id is None:
        return CONFERENCE_LEVEL
    session = db.get(ConferenceSession, session_id)
    if session is None or session.conference_id != conference_id:
        raise errors.CheckinSessionNotFound()
    return session_id


def site_path(db: Session, site_id: int | None) -> str | None:
    """The tree path of a site (None for None or an unknown site)."""
    if site_id is None:
        return None
    site = db.get(Site, site_id)
    return site.path if site is not None else None


# ------------------------------------------------------------------ per site


def checked_in_counts(db: Session, *, conference_id: int, session_key: int) -> dict[int, int]:
    """First check-ins per site."""
    return _pairs(
        db.execute(
            sa_select(col(Attendance.site_id), func.count())
            .where(col(Attendance.conference_id) == conference_id,
                   col(Attendance.session_key) == session_key)
            .group_by(col(Attendance.site_id))
        ).all()
    )


def headcount_totals(db: Session, *, conference_id: int, session_key: int) -> dict[int, int]:
    """The current headcount report per site."""
    return _pairs(
        db.execute(
            sa_select(col(Headcount.site_id), col(Headcount.total)).where(
                col(Headcount.conference_id) == conference_id,
                col(Headcount.session_key) == session_key,
                col(Headcount.superseded).is_(False),
            )
        ).all()
    )


def load_sites(
    db: Session, *, conference_id: int, session_key: int, path: str | None = None
) -> list[SiteState]:
    """Every site taking part in a conference (or in the subtree at `path`) with its counts,
    in tree order; names, readiness and expected counts are the participation's."""
    conds: list[Any] = [col(Participation.conference_id) == conference_id]
    if path is not None:
        conds.append(col(Site.path).startswith(path))
    sites = db.execute(
        sa_select(
            col(Site.id), col(Site.parent_id), col(Site.path), col(Site.depth),
            col(Participation.name), col(Site.name_key), col(Site.kind),
            col(Participation.readiness), col(Participation.expected_attendees),
            col(Participation.code), col(Site.sort_path),
        )
        .join(Participation, col(Participation.site_id) == col(Site.id))
        .where(*conds).order_by(col(Site.sort_path))
    ).all()
    checked = checked_in_counts(db, conference_id=conference_id, session_key=session_key)
    heads = headcount_totals(db, conference_id=conference_id, session_key=session_key)
    online = endpoints_service.online_sites(db, conference_id=conference_id)
    return [
        SiteState(
            site_id=r[0], parent_id=r[1], path=r[2], depth=r[3], name=r[4], name_key=r[5],
            kind=str(r[6]), readiness=str(r[7]), expected=int(r[8]), code=r[9], order=r[10],
            online=r[0] in online, checked_in=checked.get(r[0], 0), headcount=heads.get(r[0]),
        )
        for r in sites
    ]


# ------------------------------------------------------------------ the board


def _recent_attendees(db: Session, conference_id: int, session_key: int) -> set[int]:
    since = datetime.now(UTC) - timedelta(seconds=RECENT_SECONDS)
    return {
        int(r[0]) for r in db.execute(
            sa_select(col(Attendance.attendee_id)).where(
                col(Attendance.conference_id) == conference_id,
                col(Attendance.session_key) == session_key,
                # A scan synced just now carries the time it happened, maybe 40 minutes
                # ago: its message may still be on the way all the same.
                or_(col(Attendance.checked_in_at) >= since, col(Attendance.synced_at) >= since),
            )
        ).all()
    }


def load_syncs(db: Session, *, conference_id: int) -> dict[int, SyncSummary]:
    """Each site's last return from a network cut, its sync requests added up as the live
    dashboard adds up their messages (:meth:`SyncSummary.then`): the last request alone
    (`offline_sync.latest_syncs`) would say "112" of a queue sent as 200 + 112."""
    last: dict[int, SyncSummary] = {}
    for site_id, checkins, headcounts, refused, oldest, at in db.execute(
        sa_select(col(OfflineSync.site_id), col(OfflineSync.checkins),
                  col(OfflineSync.headcounts), col(OfflineSync.refused),
                  col(OfflineSync.oldest_at), col(OfflineSync.synced_at))
        .where(col(OfflineSync.conference_id) == conference_id)
        .order_by(col(OfflineSync.synced_at), col(OfflineSync.id))
    ).all():
        one = SyncSummary.of(checkins=int(checkins), headcounts=int(headcounts),
                             refused=int(refused), oldest=oldest, at=at)
        last[int(site_id)] = last[int(site_id)].then(one) if site_id in last else one
    return last


def _recent_incidents(db: Session, conference_id: int) -> list[dict[str, Any]]:
    rows = db.execute(
        sa_select(Incident, func.coalesce(col(Participation.name), col(Site.name)))
        .join(Site, col(Site.id) == col(Incident.site_id))
        .outerjoin(Participation, and_(col(Participation.site_id) == col(Incident.site_id),
                                       col(Participation.conference_id) == conference_id))
        .where(col(Incident.conference_id) == conference_id)
        .order_by(col(Incident.opened_at).desc(), col(Incident.id).desc())
        .limit(KEPT_INCIDENTS)
    ).all()
    return [incident_view(i, name) for i, name in rows]


def load_board(db: Session, *, conference_id: int, session_key: int) -> tuple[Board, set[int]]:
    """Read a conference's board: one grouped query per table, in one snapshot.

    Also returns the attendees checked in during the last seconds: their messages may
    still be on the way and must not be counted twice.
    """
    if db.get_bind().dialect.name == "postgresql":
        db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    sites = load_sites(db, conference_id=conference_id, session_key=session_key)
    recent = _recent_attendees(db, conference_id, session_key)
    incidents = _recent_incidents(db, conference_id)
    syncs = load_syncs(db, conference_id=conference_id)
    db.rollback()
    today = local_today()
    for site in sites:
        if (summary := syncs.get(site.site_id)) is not None:
            site.add_sync(summary, today=today)
    board = Board(conference_id, session_key, sites)
    board.incidents = incidents
    board.dirty.clear()
    board.incidents_dirty = False
    return board, recent


def load_arrivals(
    db: Session, *, conference_id: int, session_key: int, root_path: str | None
) -> Counter[str]:
    """First check-ins per local minute in a scope."""
    dialect = db.get_bind().dialect.name
    at = col(Attendance.checked_in_at)
    bucket: Any = (
        func.to_char(func.date_trunc("minute", at), 'YYYY-MM-DD"T"HH24:MI')
        if dialect == "postgresql"
        else func.strftime("%Y-%m-%dT%H:%M", at)
    )
    query = (
        sa_select(bucket, func.count())
        .where(col(Attendance.conference_id) == conference_id,
               col(Attendance.session_key) == session_key)
        .group_by(bucket)
    )
    if root_path is not None:
        query = query.join(Site, col(Site.id) == col(Attendance.site_id)).where(
            col(Site.path).startswith(root_path)
        )
    counts: Counter[str] = Counter()
    for minute_utc, count in db.execute(query).all():
        if minute_utc:
            at_utc = datetime.strptime(str(minute_utc), "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
            counts[local_minute(at_utc)] += int(count)
    db.rollback()
    return counts


# ------------------------------------------------------------------ summary


@dataclass(frozen=True)
class ScopedSites:
    """The sites an actor asked about, with their counts."""

    session_key: int
    path: str | None
    sites: list[SiteState]


def scoped_sites(
    db: Session,
    *,
    conference_id: int,
    actor: User,
    session_id: int | None = None,
    site_id: int | None = None,
) -> ScopedSites:
    """Sites with counts: a coordinator's subtree, or `site_id` and its subtree."""
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    session_key = session_key_for(db, conference_id=conference_id, session_id=session_id)
    path: str | None = None
    if site_id is not None:
        site = endpoints_service.get_site_in(
            db, conference_id=conference_id, site_id=site_id, actor=actor
        )
        path = str(site.path)
    elif not accounts_service.is_admin(actor):
        path = site_path(db, actor.site_id)
        if path is None:
            raise endpoints_errors.SiteOutOfScope()
    sites = load_sites(db, conference_id=conference_id, session_key=session_key, path=path)
    return ScopedSites(session_key=session_key, path=path, sites=sites)


def _registered_and_foreign(
    db: Session, conference_id: int, session_key: int
) -> tuple[dict[int, int], dict[int, int]]:
    registered = _pairs(db.execute(
        sa_select(col(Attendee.site_id), func.count())
        .where(col(Attendee.conference_id) == conference_id, col(Attendee.deleted_at).is_(None))
        .group_by(col(Attendee.site_id))
    ).all())
    foreign = _pairs(db.execute(
        sa_select(col(Attendance.site_id), func.sum(cast(col(Attendance.foreign_site), Integer)))
        .where(col(Attendance.conference_id) == conference_id,
               col(Attendance.session_key) == session_key, col(Attendance.foreign_site))
        .group_by(col(Attendance.site_id))
    ).all())
    return registered, foreign


def _failed_scans(db: Session, conference_id: int, session_key: int, path: str | None) -> int:
    """Refused scans: staff ones (one row each) plus the counted anonymous ones."""
    total = 0
    for table, amount in ((ScanFailure, func.count()),
                          (ScanFailureCount, func.coalesce(func.sum(ScanFailureCount.count), 0))):
        query = sa_select(amount).select_from(table).where(
            col(table.conference_id) == conference_id, col(table.session_key) == session_key)
        if path is not None:
            query = query.join(Site, col(Site.id) == col(table.site_id)).where(
                col(Site.path).startswith(path))
        total += int(db.execute(query).scalar_one())
    return total


def attendance_summary(
    db: Session,
    *,
    conference_id: int,
    actor: User,
    session_id: int | None = None,
    site_id: int | None = None,
) -> AttendancePublic:
    """Checked in, headcount, expected and screens of online sites per site, with totals.

    A coordinator sees their own subtree; `site_id` narrows to a site and its subtree.
    """
    scoped = scoped_sites(db, conference_id=conference_id, actor=actor, session_id=session_id,
                          site_id=site_id)
    key = scoped.session_key
    registered, foreign = _registered_and_foreign(db, conference_id, key)
    screens = endpoints_service.screen_counts(db, conference_id=conference_id)
    failed = _failed_scans(db, conference_id, key, scoped.path)
    db.rollback()
    rows = [
        SiteAttendancePublic(
            site_id=s.site_id, name=s.name, kind=s.kind, parent_id=s.parent_id,
            readiness=s.readiness, expected=s.counted_expected,
            registered=registered.get(s.site_id, 0), checked_in=s.checked_in,
            foreign=foreign.get(s.site_id, 0), headcount=s.headcount,
            present=present(s.checked_in, s.headcount),
            online_screens=screens.get(s.site_id, 0) if s.online else 0,
        )
        for s in scoped.sites
    ]
    return AttendancePublic(
        conference_id=conference_id,
        session_id=session_id,
        expected=sum(r.expected for r in rows),
        registered=sum(r.registered for r in rows),
        checked_in=sum(r.checked_in for r in rows),
        headcount=sum(r.headcount or 0 for r in rows),
        present=sum(r.present for r in rows),
        online_screens=sum(r.online_screens for r in rows),
        sites_online=sum(1 for s in scoped.sites if s.online),
        failed_scans=failed,
        sites=rows,
    )


def session_counts(
    db: Session, *, conference_id: int, site_ids: Container[int]
) -> dict[int, tuple[int, int, int]]:
    """Checked in, headcount and present over `site_ids`, per session key (0: conference)."""
    checked: dict[tuple[int, int], int] = {}
    for key, site_id, n in db.execute(
        sa_select(col(Attendance.session_key), col(Attendance.site_id), func.count())
        .where(col(Attendance.conference_id) == conference_id)
        .group_by(col(Attendance.session_key), col(Attendance.site_id))
    ).all():
        if site_id in site_ids:
            checked[(key, site_id)] = int(n)
    counted: dict[tuple[int, int], int] = {}
    for key, site_id, total in db.execute(
        sa_select(col(Headcount.session_key), col(Headcount.site_id), col(Headcount.total)).where(
            col(Headcount.conference_id) == conference_id, col(Headcount.superseded).is_(False)
        )
    ).all():
        if site_id in site_ids:
            counted[(key, site_id)] = int(total)
    db.rollback()
    out: dict[int, tuple[int, int, int]] = {}
    for key, site_id in checked.keys() | counted.keys():
        c, h = checked.get((key, site_id), 0), counted.get((key, site_id))
        was = out.get(key, (0, 0, 0))
        out[key] = (was[0] + c, was[1] + (h or 0), was[2] + present(c, h))
    return out


def site_present(db: Session, *, conference_id: int, site_id: int,
                 session_key: int = CONFERENCE_LEVEL) -> int:
    """Present at one site (its own row on the dashboard, not its subtree): checked in,
    or its headcount report when higher (:func:`checkin.board.present`)."""
    checked = db.execute(
        sa_select(func.count()).select_from(Attendance)
        .where(col(Attendance.conference_id) == conference_id,
               col(Attendance.session_key) == session_key,
               col(Attendance.site_id) == site_id)
    ).scalar_one()
    counted = db.execute(
        sa_select(col(Headcount.total)).where(
            col(Headcount.conference_id) == conference_id,
            col(Headcount.session_key) == session_key,
            col(Headcount.site_id) == site_id,
            col(Headcount.superseded).is_(False))
    ).scalar()
    return present(int(checked), None if counted is None else int(counted))
