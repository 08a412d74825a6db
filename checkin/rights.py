"""Use cases of the data subject's rights on the staff side: what is held about one
person (the export, JSON or CSV), its correction and its erasure.

The central office may do each for anyone; a site coordinator within their subtree only
(an attendee outside it is not found, as everywhere else in the roster). A coordinator
may erase too: the issue limits them to their subtree, not to asking. Every one of these
is in the audit log: a correction through the ORM (before and after, sealed), an erasure
and an export as explicit entries (anonymise writes with core statements).
"""

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.audit import service as audit
from app.db import LOCAL_TZ, utcnow
from app.tabular.export import CsvValue
from app.text import mask_phone, search_key
from checkin import answer_privacy, basis, errors, roster
from checkin.anonymise import anonymise
from checkin.models import CONFERENCE_LEVEL, Attendance, Attendee, AttendeeWord
from checkin.privacy_models import DataRequest, RequestStatus
from checkin.rights_models import (
    KIND_LABELS,
    METHOD_LABELS,
    STATUS_LABELS,
    AttendanceEntry,
    AttendeeCorrection,
    Identity,
    PersonalData,
    QuestionEntry,
    RequestPublic,
)
from endpoints.models import Conference
from sessions import service as sessions_service
from sessions.models import ConferenceSession

CONFERENCE_ENTRY = "Hội nghị (điểm danh vào hội nghị)"
ERASED_OUTCOME = "Đã xoá dữ liệu cá nhân."
FIELD_LABELS = {"full_name": "họ và tên", "unit": "đơn vị", "position": "chức vụ",
                "phone": "số điện thoại"}


def notice_url(conference_id: int) -> str:
    """Where the conference's privacy notice is published."""
    return f"/privacy/{conference_id}"


def find_attendee(db: Session, *, attendee_id: int, actor: User) -> Attendee:
    """An attendee of a site in the actor's scope, even one taken off the roster (their
    data is still held); `attendee_not_found` otherwise."""
    return roster.get_attendee(db, attendee_id=attendee_id, actor=actor, deleted_too=True)


# ------------------------------------------------------------ what is held


def request_public(r: DataRequest) -> RequestPublic:
    assert r.id is not None
    return RequestPublic(
        id=r.id, conference_id=r.conference_id, attendee_id=r.attendee_id, kind=str(r.kind),
        message=r.message, status=str(r.status), created_at=r.created_at,
        handled_by_id=r.handled_by_id, handled_at=r.handled_at, outcome=r.outcome,
    )


def _identity(db: Session, attendee: Attendee, site_name: str, whole_phone: bool) -> Identity:
    assert attendee.id is not None
    conference = db.get(Conference, attendee.conference_id)
    supplier = db.get(User, attendee.supplied_by_id) if attendee.supplied_by_id else None
    return Identity(
        id=attendee.id, conference_id=attendee.conference_id,
        conference_title=conference.title if conference else "",
        full_name=attendee.full_name, unit=attendee.unit, position=attendee.position,
        phone=attendee.phone if whole_phone else mask_phone(attendee.phone),
        short_code=attendee.short_code, site_id=attendee.site_id, site_name=site_name,
        basis=attendee.basis,
        basis_label=basis.basis_label(attendee.basis) if attendee.basis else None,
        supplied_by=supplier.full_name if supplier else None, supplied_at=attendee.supplied_at,
        created_at=attendee.created_at, revoked=attendee.revoked,
        deleted_at=attendee.deleted_at, erased_at=attendee.erased_at,
    )


def _attendance(db: Session, attendee: Attendee) -> tuple[list[Attendance], dict[int, str]]:
    rows = list(db.exec(select(Attendance).where(Attendance.attendee_id == attendee.id)
                        .order_by(col(Attendance.checked_in_at), col(Attendance.id))).all())
    keys = {r.session_key for r in rows} - {CONFERENCE_LEVEL}
    titles = {int(s.id or 0): s.title for s in db.exec(
        select(ConferenceSession).where(col(ConferenceSession.id).in_(keys))).all()}
    return rows, titles


def _questions(db: Session, attendee: Attendee) -> list[QuestionEntry]:
    sent = sessions_service.attendee_questions(db, attendee_id=int(attendee.id or 0))
    return [QuestionEntry(session_id=q.session_id, session_title=q.session_title, text=q.text,
                          status=q.status, status_label=q.status_label, asked_at=q.asked_at)
            for q in sent]


def personal_data(db: Session, *, attendee: Attendee, whole_phone: bool) -> PersonalData:
    """Everything held about `attendee`: identity, attendance, answers, requests, the
    questions they sent with their personal code."""
    rows, titles = _attendance(db, attendee)
    names = roster.site_names(db, conference_id=attendee.conference_id,
                              site_ids=[attendee.site_id, *(r.site_id for r in rows)])
    requests = db.exec(select(DataRequest).where(DataRequest.attendee_id == attendee.id)
                       .order_by(col(DataRequest.created_at).desc())).all()
    return PersonalData(
        identity=_identity(db, attendee, names.get(attendee.site_id, ""), whole_phone),
        attendance=[
            AttendanceEntry(
                session_id=r.session_key or None,
                session_title=titles.get(r.session_key, CONFERENCE_ENTRY)
                if r.session_key else CONFERENCE_ENTRY,
                site_id=r.site_id, site_name=names.get(r.site_id, ""),
                checked_in_at=r.checked_in_at, checked_out_at=r.checked_out_at,
                method=r.method, method_label=METHOD_LABELS.get(r.method, r.method),
            )
            for r in rows
        ],
        answers=answer_privacy.attendee_answers(db, attendee_id=int(attendee.id or 0)),
        requests=[request_public(r) for r in requests],
        questions=_questions(db, attendee),
        notice_url=notice_url(attendee.conference_id),
    )


def export_data(db: Session, *, attendee_id: int, actor: User, fmt: str) -> PersonalData:
    """One person's data for the staff (phone masked for a coordinator); the export is
    recorded in the audit log and committed."""
    attendee = find_attendee(db, attendee_id=attendee_id, actor=actor)
    data = personal_data(db, attendee=attendee, whole_phone=accounts_service.is_admin(actor))
    audit.record(db, action="export", object_type="attendee", object_id=attendee_id,
                 conference_id=attendee.conference_id, site_id=attendee.site_id,
                 detail={"format": fmt})
    db.commit()
    return data


def _local(value: datetime | None) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M") if value else ""


def csv_rows(data: PersonalData) -> Iterator[Sequence[CsvValue]]:
    """The export as CSV rows: part, item, value, site, time (Vietnam time)."""
    yield ("Phần", "Mục", "Giá trị", "Điểm cầu", "Thời gian")
    i = data.identity
    part = "Thông tin cá nhân"
    for label, value in (
        ("Hội nghị", i.conference_title), ("Họ và tên", i.full_name), ("Đơn vị", i.unit),
        ("Chức vụ", i.position), ("Số điện thoại", i.phone), ("Mã cá nhân", i.short_code),
        ("Căn cứ xử lý", i.basis_label), ("Người cung cấp", i.supplied_by),
    ):
        yield (part, label, value, "", "")
    yield (part, "Điểm cầu", i.site_name, i.site_name, "")
    yield (part, "Thời điểm cung cấp", "", "", _local(i.supplied_at))
    yield (part, "Thời điểm ghi nhận", "", "", _local(i.created_at))
    for a in data.attendance:
        yield ("Điểm danh", a.session_title, a.method_label, a.site_name,
               _local(a.checked_in_at))
    for r in data.requests:
        yield ("Yêu cầu", KIND_LABELS.get(r.kind, r.kind),
               f"{STATUS_LABELS.get(r.status, r.status)}: {r.message or ''}".rstrip(": "),
               "", _local(r.created_at))
    for q in data.questions:
        yield ("Câu hỏi", q.session_title, q.text, q.status_label, _local(q.asked_at))
    for ans in data.answers:
        yield ("Câu trả lời", ans.question, ans.answer, "", _local(ans.answered_at))
    if not data.answers:
        yield ("Câu trả lời", "Không có câu trả lời nào được lưu", "", "", "")


# ------------------------------------------------------------ correct, erase


def apply_correction(db: Session, *, attendee: Attendee, changes: AttendeeCorrection) -> list[str]:
    """Set the fields sent (not committed); the labels of those that changed."""
    if attendee.erased_at is not None:
        raise errors.AttendeeErased()
    sent = {name: getattr(changes, name) for name in changes.model_fields_set}
    if not sent:
        raise errors.CorrectionEmpty()
    changed = [name for name in FIELD_LABELS  # in the form's order
               if name in sent and getattr(attendee, name) != sent[name]]
    for name in changed:
        setattr(attendee, name, sent[name])
    if "full_name" in changed:
        attendee.name_key = search_key(attendee.full_name)[:200]
        attendee.sort_key = roster.sort_key(attendee.full_name)
        _rewrite_words(db, attendee)
    db.add(attendee)
    return [FIELD_LABELS[name] for name in changed]


def _rewrite_words(db: Session, attendee: Attendee) -> None:
    db.execute(delete(AttendeeWord).where(col(AttendeeWord.attendee_id) == attendee.id))
    words = [{"conference_id": attendee.conference_id, "word": w,
              "sort_key": attendee.sort_key, "attendee_id": attendee.id}
             for w in roster.name_words(attendee.full_name)]
    if words:
        db.execute(insert(AttendeeWord.__table__), words)  # type: ignore[attr-defined]


def correct(
    db: Session, *, attendee_id: int, actor: User, changes: AttendeeCorrection
) -> Attendee:
    """Correct an attendee's identity fields; logged with before and after."""
    attendee = find_attendee(db, attendee_id=attendee_id, actor=actor)
    db.refresh(attendee, with_for_update=True)  # not erased meanwhile
    apply_correction(db, attendee=attendee, changes=changes)
    db.commit()
    db.refresh(attendee)
    return attendee


def close_open(db: Session, *, attendee_id: int, actor: User, outcome: str) -> None:
    """Close every open request of the attendee as done (not committed)."""
    for r in db.exec(select(DataRequest).where(
            DataRequest.attendee_id == attendee_id, DataRequest.status == RequestStatus.open)):
        r.status, r.handled_by_id = RequestStatus.done, actor.id
        r.handled_at, r.outcome = utcnow(), outcome
        db.add(r)


def erase(
    db: Session, *, attendee_id: int, actor: User, request_id: int | None = None
) -> Attendee:
    """Replace the attendee's identity with an anonymous id (attendance kept, so every
    total stays), close their open requests, record the erasure; committed."""
    attendee = find_attendee(db, attendee_id=attendee_id, actor=actor)
    # Locked until the commit (PostgreSQL; SQLite's writer holds the database): a second
    # erasure racing this one waits, then sees it done.
    db.refresh(attendee, with_for_update=True)
    if attendee.erased_at is not None:
        raise errors.AttendeeAlreadyErased()
    close_open(db, attendee_id=attendee_id, actor=actor, outcome=ERASED_OUTCOME)
    db.flush()
    anonymise(db, attendee_ids=[attendee_id])
    audit.record(db, action="erase", object_type="attendee", object_id=attendee_id,
                 conference_id=attendee.conference_id, site_id=attendee.site_id,
                 detail={"request_id": request_id} if request_id else None)
    db.commit()
    db.refresh(attendee)
    return attendee
