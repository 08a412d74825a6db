"""Check-out: note that a checked-in attendee left (optional; the check-in itself stays)."""

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.db import utcnow
from app.realtime import Publish
from checkin import errors, events, scan_audit
from checkin.models import CONFERENCE_LEVEL, Attendance
from endpoints import service as endpoints_service


def check_out(
    db: Session,
    *,
    attendee_id: int,
    session_id: int | None,
    actor: User,
    publish: Publish | None = None,
) -> Attendance:
    """Note that a checked-in attendee left (optional; the check-in itself stays)."""
    session_key = session_id if session_id is not None else CONFERENCE_LEVEL
    row = db.exec(
        select(Attendance).where(
            Attendance.attendee_id == attendee_id, Attendance.session_key == session_key
        )
    ).first()
    if row is None:
        raise errors.NotCheckedIn()
    endpoints_service.get_site(db, site_id=row.site_id, actor=actor)
    now = utcnow()
    db.execute(
        update(Attendance)
        .where(col(Attendance.id) == row.id, col(Attendance.checked_out_at).is_(None))
        .values(checked_out_at=now)
    )
    db.commit()
    db.refresh(row)
    scan_audit.checked_out(db.get_bind(), conference_id=row.conference_id, site_id=row.site_id,
                           session_id=session_id)
    if publish is not None:
        publish(
            events.attendance_channel(row.conference_id),
            events.encode_checkout(
                conference_id=row.conference_id, site_id=row.site_id, session_id=session_id,
                attendee_id=attendee_id, at=now,
            ),
        )
    return row
