"""The attendee's own side: their personal link opens their pass; their personal code
(the short code printed on the pass) opens everything held about them and lets them
ask for a correction or an erasure.

Every wrong code and every forged link counts against the caller in the throttle
(checkin/own_throttle.py); a view of the data is in the audit log as the attendee's.
"""

import hmac

from sqlmodel import Session

from app.audit import service as audit
from app.audit.context import act_as_attendee
from app.config import Settings
from checkin import attendee_links, data_requests, errors, rights, roster
from checkin.models import Attendee
from checkin.privacy_models import DataRequest, RequestKind
from checkin.rights_models import PersonalData


def open_link(db: Session, *, token: str, settings: Settings) -> Attendee:
    """The attendee of a personal link. An erased attendee is returned as they are (the
    page says their data was erased); a link of an older pass is `attendee_link_revoked`."""
    claims = attendee_links.read_link(token, secret=settings.secret_key)
    attendee = db.get(Attendee, claims.attendee_id)
    if attendee is None:
        raise errors.AttendeeLinkInvalid()
    if attendee.erased_at is None and attendee.pass_version != claims.version:
        raise errors.AttendeeLinkRevoked()
    return attendee


def check_code(attendee: Attendee, code: str) -> None:
    """Refuse (`personal_code_wrong`) anything but the attendee's own short code."""
    typed = roster.normalize_short_code(code) or ""
    if not hmac.compare_digest(typed.encode(), attendee.short_code.encode()):
        raise errors.PersonalCodeWrong()


def view(db: Session, *, attendee: Attendee) -> PersonalData:
    """Everything held about the attendee, for their own eyes (the whole phone); the view
    is recorded as the attendee's and committed."""
    assert attendee.id is not None
    act_as_attendee(attendee.id)
    data = rights.personal_data(db, attendee=attendee, whole_phone=True)
    audit.record(db, action="view", object_type="attendee", object_id=attendee.id,
                 conference_id=attendee.conference_id, site_id=attendee.site_id,
                 detail={"by": "attendee"})
    db.commit()
    return data


def ask(db: Session, *, attendee: Attendee, kind: str, message: str | None) -> DataRequest:
    """The attendee asks for a correction or an erasure (written as theirs)."""
    assert attendee.id is not None
    try:
        chosen = RequestKind(kind)
    except ValueError as exc:
        raise errors.CorrectionEmpty("Loại yêu cầu không hợp lệ.") from exc
    act_as_attendee(attendee.id)
    return data_requests.ask(db, attendee=attendee, kind=chosen, message=message)
