"""Taking a site out of a conference: only while nothing of that conference happened there.

This lives in check-in, not in endpoints, because whether a site "has attendance" is a
question about check-in's tables (attendance, headcounts, attendees).
"""

from typing import Any

from sqlalchemy import delete
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.accounts.models import User
from app.accounts.service import require_admin
from app.audit import service as audit_service
from checkin.models import Attendance, Attendee, Headcount
from endpoints import errors as endpoints_errors
from endpoints import service as endpoints_service
from endpoints.models import Participation, Site


def _subtree(path: str) -> Any:
    return sa_select(col(Site.id)).where(col(Site.path).startswith(path))


def has_attendance(db: Session, *, conference_id: int, path: str) -> bool:
    """True when a site of the subtree at `path` has check-ins, headcount reports or
    attendees (not deleted) in the conference."""
    subtree = _subtree(path)
    probes = (
        sa_select(col(Attendance.id)).where(col(Attendance.conference_id) == conference_id,
                                            col(Attendance.site_id).in_(subtree)),
        sa_select(col(Headcount.id)).where(col(Headcount.conference_id) == conference_id,
                                           col(Headcount.site_id).in_(subtree)),
        sa_select(col(Attendee.id)).where(col(Attendee.conference_id) == conference_id,
                                          col(Attendee.site_id).in_(subtree),
                                          col(Attendee.deleted_at).is_(None)),
    )
    return any(db.execute(probe.limit(1)).first() is not None for probe in probes)


def remove_site(db: Session, *, conference_id: int, site_id: int, actor: User) -> int:
    """Take a site and the sites below it out of a conference (central office only); the
    registry keeps them. Refused (nothing changed) when any of them has attendance,
    headcounts or attendees in it. Returns how many participations were removed."""
    require_admin(actor)
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    site = endpoints_service.get_site_in(
        db, conference_id=conference_id, site_id=site_id, actor=actor
    )
    path = str(site.path)
    if has_attendance(db, conference_id=conference_id, path=path):
        db.rollback()
        raise endpoints_errors.SiteHasAttendance()
    removed = db.execute(
        delete(Participation)
        .where(col(Participation.conference_id) == conference_id,
               col(Participation.site_id).in_(_subtree(path)))
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(removed, "rowcount", 0) or 0)
    # A statement the ORM listener cannot see: one entry for the whole subtree.
    audit_service.record(db, action="delete", object_type="participation",
                         conference_id=conference_id, site_id=site_id,
                         detail={"sites_removed": count, "subtree_of": site_id})
    db.commit()
    return count
