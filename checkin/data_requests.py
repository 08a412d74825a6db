"""Requests about one's own data: an attendee asks (correction or erasure) from their
link, the central office's queue lists them and closes each by correcting, erasing or
refusing with a reason.

One open request of each kind per attendee at a time: a second is refused
(`data_request_already_open`) until the first is handled. The attendee's row is locked
for the check and the insert (PostgreSQL; on SQLite the writer holds the database), so
two submits at once cannot both pass it; a request being handled is locked the same way.
"""

from sqlmodel import Session, col, select

from app.accounts import service as accounts_service
from app.accounts.errors import AdminOnly
from app.accounts.models import User
from app.audit import service as audit
from app.db import utcnow
from app.text import TextError, clean_text
from checkin import errors, rights, roster
from checkin.models import Attendee
from checkin.privacy_models import DataRequest, RequestKind, RequestStatus
from checkin.rights_models import AttendeeCorrection, QueueItem
from endpoints.models import Conference

MAX_MESSAGE = 1000
CLOSED_SHOWN = 200  # handled requests the queue shows after the open ones


def clean_message(raw: str | None) -> str | None:
    """The attendee's words on one line, NFC, at most 1000 characters (None if blank)."""
    text = " ".join((raw or "").split())
    if not text:
        return None
    try:
        return clean_text(text, max_length=MAX_MESSAGE, field="Nội dung yêu cầu")
    except TextError as exc:
        raise errors.CorrectionEmpty(str(exc) + ".") from exc


def ask(db: Session, *, attendee: Attendee, kind: RequestKind, message: str | None) -> DataRequest:
    """Record the attendee's request for the central office; committed."""
    db.refresh(attendee, with_for_update=True)
    if attendee.erased_at is not None:
        raise errors.AttendeeErased()
    text = clean_message(message)
    if kind == RequestKind.correct and text is None:
        raise errors.CorrectionEmpty("Hãy ghi rõ thông tin nào cần sửa và sửa thành gì.")
    already = db.exec(select(DataRequest.id).where(
        DataRequest.attendee_id == attendee.id, DataRequest.kind == kind,
        DataRequest.status == RequestStatus.open)).first()
    if already is not None:
        raise errors.DataRequestOpen()
    assert attendee.id is not None
    request = DataRequest(conference_id=attendee.conference_id, attendee_id=attendee.id,
                          kind=kind, message=text)
    db.add(request)
    db.commit()
    db.refresh(request)
    return request


def _admin(actor: User) -> None:
    if not accounts_service.is_admin(actor):
        raise AdminOnly()


def _items(db: Session, requests: list[DataRequest]) -> list[QueueItem]:
    people = {a.id: a for a in db.exec(select(Attendee).where(
        col(Attendee.id).in_({r.attendee_id for r in requests}))).all()}
    titles = {c.id: c.title for c in db.exec(select(Conference).where(
        col(Conference.id).in_({r.conference_id for r in requests}))).all()}
    names: dict[int, str] = {}
    for cid in titles:
        names |= roster.site_names(db, conference_id=int(cid or 0), site_ids=[
            a.site_id for a in people.values() if a.conference_id == cid])
    items = []
    for r in requests:
        person = people[r.attendee_id]
        items.append(QueueItem(
            **rights.request_public(r).model_dump(), attendee_name=person.full_name,
            site_id=person.site_id, site_name=names.get(person.site_id, ""),
            conference_title=titles.get(r.conference_id, "")))
    return items


def queue(
    db: Session, *, actor: User, conference_id: int | None = None, open_only: bool = False
) -> list[QueueItem]:
    """The central office's queue: open requests, oldest first, then the latest handled;
    the view is recorded in the audit log (committed)."""
    _admin(actor)
    base = select(DataRequest)
    if conference_id is not None:
        base = base.where(DataRequest.conference_id == conference_id)
    found = list(db.exec(base.where(DataRequest.status == RequestStatus.open)
                         .order_by(col(DataRequest.created_at), col(DataRequest.id))).all())
    if not open_only:
        found += db.exec(base.where(DataRequest.status != RequestStatus.open)
                         .order_by(col(DataRequest.handled_at).desc(),
                                   col(DataRequest.id).desc()).limit(CLOSED_SHOWN)).all()
    items = _items(db, found)
    # The queue shows people's names and words: a view of personal data, on the record.
    audit.record(db, action="view", object_type="data_request", conference_id=conference_id,
                 detail={"count": len(items), "open_only": open_only})
    db.commit()
    return items


def _open(db: Session, request_id: int, actor: User) -> DataRequest:
    _admin(actor)
    request = db.get(DataRequest, request_id, with_for_update=True)
    if request is None:
        raise errors.DataRequestNotFound()
    if request.status != RequestStatus.open:
        raise errors.DataRequestClosed()
    return request


def _close(db: Session, request: DataRequest, actor: User, *, status: RequestStatus,
           outcome: str) -> QueueItem:
    request.status, request.handled_by_id = status, actor.id
    request.handled_at, request.outcome = utcnow(), outcome
    db.add(request)
    db.commit()
    db.refresh(request)
    return _items(db, [request])[0]


def handle_correct(
    db: Session, *, request_id: int, actor: User, changes: AttendeeCorrection
) -> QueueItem:
    """Correct the attendee as the request asks and close it (in one transaction)."""
    request = _open(db, request_id, actor)
    attendee = rights.find_attendee(db, attendee_id=request.attendee_id, actor=actor)
    changed = rights.apply_correction(db, attendee=attendee, changes=changes)
    outcome = "Đã sửa: " + ", ".join(changed) + "." if changed else "Không có gì thay đổi."
    return _close(db, request, actor, status=RequestStatus.done, outcome=outcome)


def handle_erase(db: Session, *, request_id: int, actor: User) -> QueueItem:
    """Erase the attendee; this request and their other open ones are closed with it."""
    request = _open(db, request_id, actor)
    rights.erase(db, attendee_id=request.attendee_id, actor=actor, request_id=request_id)
    db.refresh(request)
    return _items(db, [request])[0]


def refuse(db: Session, *, request_id: int, actor: User, reason: str) -> QueueItem:
    """Close the request without acting on it, with the reason the attendee will read."""
    request = _open(db, request_id, actor)
    try:
        text = clean_text(reason, max_length=500, field="Lý do từ chối")
    except TextError as exc:
        raise errors.RefusalReasonMissing(str(exc) + ".") from exc
    return _close(db, request, actor, status=RequestStatus.refused, outcome=text)


def identities(db: Session, *, attendee_ids: list[int]) -> dict[int, Attendee]:
    """The attendees the open requests are about (the queue's correction forms)."""
    if not attendee_ids:
        return {}
    found = db.exec(select(Attendee).where(col(Attendee.id).in_(set(attendee_ids)))).all()
    return {int(a.id or 0): a for a in found}
