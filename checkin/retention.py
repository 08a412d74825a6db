"""The retention purge: identities of ended conferences replaced by anonymous ids.

A conference keeps its attendees' identities `retention_days` after its last day; then
the purge replaces each name by an anonymous id and drops unit, position and phone
(`checkin.anonymise`, the function behind erasure), clears the details of refused scans
(the scanned text, the device, the staff account: reason, time, site and session stay,
so failed-scan counts do not move), the device label of check-ins and the text of the
attendees' requests, and on the floor the speakers' names and positions, the topics,
the decline reasons and the questions' texts (`sessions.floor_privacy`: which site spoke,
when and for how long stays). Attendance rows, headcounts and sites are untouched, so every
report and the dashboard give the same numbers before and after.

Attendees are anonymised in chunks, each committed on its own: a national conference
(150,000 people) never holds SQLite's write lock for longer than one chunk, and memory
stays bounded. The last transaction clears the rest, sets `purged_at` and records the
one audit entry of the purge; a purge interrupted before it is finished by the next run
(anonymised rows are skipped). Site contacts and coordinators belong to the site
registry, which outlives conferences: the purge leaves them.
"""

from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlmodel import Session, col

from app.audit import service as audit
from app.db import utcnow
from checkin import answer_privacy, errors
from checkin.anonymise import anonymise
from checkin.models import Attendance, Attendee, ScanFailure
from checkin.privacy_models import DataRequest
from checkin.retention_models import PurgeReport, RetentionPlan
from endpoints import errors as endpoints_errors
from endpoints.models import Conference
from sessions import service as sessions_service

CHUNK = 500


def kept_until(conference: Conference) -> date:
    """The last day a conference's identities are kept (its last day + retention)."""
    return conference.ends_on + timedelta(days=conference.retention_days)


def is_due(conference: Conference, *, today: date) -> bool:
    """Ended, retention over, not purged yet."""
    return conference.purged_at is None and kept_until(conference) < today


def due_conferences(db: Session, *, today: date) -> list[Conference]:
    """Conferences the daily job purges on `today`, oldest first."""
    ended = db.execute(
        select(Conference).where(col(Conference.ends_on) < today,
                                 col(Conference.purged_at).is_(None))
        .order_by(col(Conference.ends_on), col(Conference.id))
    ).scalars()
    return [c for c in ended if is_due(c, today=today)]


def _conference(db: Session, conference_id: int, *, fresh: bool = False) -> Conference:
    conference = db.get(Conference, conference_id, populate_existing=fresh)
    if conference is None:
        raise endpoints_errors.ConferenceNotFound()
    return conference


def _count(db: Session, query: Any) -> int:
    return int(db.execute(query).scalar_one())


def _failed_with_details(conference_id: int) -> Any:
    return and_(col(ScanFailure.conference_id) == conference_id,
                or_(col(ScanFailure.code_prefix) != "", col(ScanFailure.device).is_not(None),
                    col(ScanFailure.actor_id).is_not(None)))


def _requests_with_text(conference_id: int) -> Any:
    return and_(col(DataRequest.conference_id) == conference_id,
                or_(col(DataRequest.message).is_not(None),
                    col(DataRequest.outcome).is_not(None)))


def _devices(conference_id: int) -> Any:
    return and_(col(Attendance.conference_id) == conference_id,
                col(Attendance.device).is_not(None))


def purge_plan(db: Session, *, conference_id: int, today: date) -> RetentionPlan:
    """What a purge of the conference would change now (counts only; changes nothing)."""
    conference = _conference(db, conference_id)
    named = and_(col(Attendee.conference_id) == conference_id,
                 col(Attendee.erased_at).is_(None))
    count = select(func.count())
    assert conference.id is not None
    floor_requests, questions = sessions_service.floor_to_purge(db, conference_id=conference_id)
    return RetentionPlan(
        conference_id=conference.id, title=conference.title, ends_on=conference.ends_on,
        retention_days=conference.retention_days, kept_until=kept_until(conference),
        ended=conference.ends_on < today, due=is_due(conference, today=today),
        purged_at=conference.purged_at,
        attendees=_count(db, count.select_from(Attendee).where(named)),
        phones=_count(db, count.select_from(Attendee).where(
            named, col(Attendee.phone).is_not(None))),
        failed_scans=_count(db, count.select_from(ScanFailure).where(
            _failed_with_details(conference_id))),
        devices=_count(db, count.select_from(Attendance).where(_devices(conference_id))),
        requests=_count(db, count.select_from(DataRequest).where(
            _requests_with_text(conference_id))),
        floor_requests=floor_requests, questions=questions,
        answer_texts=answer_privacy.texts_to_purge(db, conference_id=conference_id),
    )


def check_purgeable(conference: Conference, *, today: date, early: bool = False) -> None:
    """Refuse a purge that must not run: already done, not ended, or (unless `early`)
    retention not over."""
    if conference.purged_at is not None:
        raise errors.ConferenceAlreadyPurged(purged_at=conference.purged_at.isoformat())
    if conference.ends_on >= today:
        raise errors.ConferenceNotEnded(ends_on=conference.ends_on.isoformat())
    if not early and not is_due(conference, today=today):
        raise errors.RetentionNotOver(kept_until=kept_until(conference).isoformat())


def check_conference(db: Session, *, conference_id: int, today: date, early: bool = False
                     ) -> None:
    """`check_purgeable` for a conference by id (refused: not found)."""
    check_purgeable(_conference(db, conference_id), today=today, early=early)


def _anonymise_chunks(db: Session, conference_id: int) -> tuple[int, int]:
    """Anonymise the conference's named attendees, one committed chunk at a time;
    (attendees, phones) done."""
    ids = [int(i) for i in db.execute(
        select(col(Attendee.id)).where(col(Attendee.conference_id) == conference_id,
                                       col(Attendee.erased_at).is_(None))
        .order_by(col(Attendee.id))).scalars()]
    db.commit()  # with the requests' text, cleared first
    done = phones = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        phones += _count(db, select(func.count()).select_from(Attendee).where(
            col(Attendee.id).in_(chunk), col(Attendee.erased_at).is_(None),
            col(Attendee.phone).is_not(None)))
        done += anonymise(db, attendee_ids=chunk)
        db.commit()
    return done, phones


_QUIET: dict[str, Any] = {"synchronize_session": False}


def _clear_requests(db: Session, conference_id: int) -> int:
    """Clear the text of the attendees' requests (anonymise clears messages only)."""
    return int(db.execute(
        update(DataRequest).where(_requests_with_text(conference_id))
        .values(message=None, outcome=None).execution_options(**_QUIET)
    ).rowcount)  # type: ignore[attr-defined]


def _clear_details(db: Session, conference_id: int) -> tuple[int, int]:
    """Clear refused scans' details and check-ins' device labels, revoke every pass;
    (failed scans, devices) cleared."""
    quiet = _QUIET
    failed = db.execute(
        update(ScanFailure).where(_failed_with_details(conference_id))
        .values(code_prefix="", device=None, actor_id=None).execution_options(**quiet)
    ).rowcount  # type: ignore[attr-defined]
    devices = db.execute(
        update(Attendance).where(_devices(conference_id)).values(device=None)
        .execution_options(**quiet)
    ).rowcount  # type: ignore[attr-defined]
    # No pass of the conference checks anyone in again, by QR or by short code.
    db.execute(update(Attendee).where(col(Attendee.conference_id) == conference_id,
                                      col(Attendee.revoked).is_(False))
               .values(revoked=True).execution_options(**quiet))
    return int(failed), int(devices)


def purge(db: Session, *, conference_id: int, today: date, early: bool = False) -> PurgeReport:
    """Purge one conference (refused with a 409 code when it must not run, changing
    nothing). Commits: the requests' text with the list of attendees, the attendees chunk
    by chunk, then the rest with the audit entry."""
    conference = _conference(db, conference_id)
    check_purgeable(conference, today=today, early=early)
    requests = _clear_requests(db, conference_id)
    attendees, phones = _anonymise_chunks(db, conference_id)
    conference = _conference(db, conference_id, fresh=True)
    check_purgeable(conference, today=today, early=early)  # another process finished it
    requests += _clear_requests(db, conference_id)  # made while the chunks ran
    late_attendees, late_phones = _late_attendees(db, conference_id)
    failed, devices = _clear_details(db, conference_id)
    floor_requests, questions = sessions_service.purge_floor(db, conference_id=conference_id)
    answer_texts = answer_privacy.purge_texts(db, conference_id=conference_id)
    now = utcnow()
    db.execute(update(Conference).where(col(Conference.id) == conference_id)
               .values(purged_at=now).execution_options(synchronize_session=False))
    report = PurgeReport(
        conference_id=conference_id, purged_at=now, early=not is_due(conference, today=today),
        attendees=attendees + late_attendees, phones=phones + late_phones,
        failed_scans=failed, devices=devices, requests=requests,
        floor_requests=floor_requests, questions=questions, answer_texts=answer_texts,
    )
    audit.record(db, action="purge", object_type="conference", object_id=conference_id,
                 conference_id=conference_id, detail={
                     **report.model_dump(exclude={"conference_id", "purged_at"}),
                     "retention_days": conference.retention_days,
                     "kept_until": kept_until(conference).isoformat(),
                 })
    db.commit()
    return report


def _late_attendees(db: Session, conference_id: int) -> tuple[int, int]:
    """Anonymise, in the last transaction, anyone added while the chunks ran."""
    named = and_(col(Attendee.conference_id) == conference_id,
                 col(Attendee.erased_at).is_(None))
    ids = [int(i) for i in db.execute(select(col(Attendee.id)).where(named)).scalars()]
    if not ids:
        return 0, 0
    phones = _count(db, select(func.count()).select_from(Attendee).where(
        named, col(Attendee.phone).is_not(None)))
    return anonymise(db, attendee_ids=ids), phones
