"""An attendee's written question from the follow page: for the session on stage, with
or without their personal code (with it, the question is theirs and their site's).

The follow link names the conference; the code, when given, must be the short code of
an attendee of that conference, else `personal_code_wrong` and nothing is stored.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session

from app.audit.context import act_as_attendee
from app.config import Settings
from app.realtime import Publish
from checkin import errors, roster
from checkin.models import Attendee
from sessions import service as sessions_service


@dataclass(frozen=True, slots=True)
class CodeOwner:
    """Whose personal code it is: the attendee and their own site."""

    id: int
    site_id: int


_a = Attendee.__table__  # type: ignore[attr-defined]
# Core, not the ORM: the answer path asks this for every signed answer (500 a second).
_BY_CODE = sa_select(_a.c.id, _a.c.site_id).where(
    _a.c.conference_id == bindparam("conference_id"), _a.c.short_code == bindparam("short"),
    _a.c.erased_at.is_(None), _a.c.deleted_at.is_(None))


def attendee_by_code(db: Session, *, conference_id: int, code: str) -> CodeOwner:
    """The attendee of the conference whose personal code this is (not erased, not
    deleted); `personal_code_wrong` otherwise."""
    short = roster.normalize_short_code(code)
    if short is None:
        raise errors.PersonalCodeWrong()
    found = db.connection().execute(
        _BY_CODE, {"conference_id": conference_id, "short": short}).first()
    if found is None:
        raise errors.PersonalCodeWrong()
    return CodeOwner(found.id, found.site_id)


def ask(
    db: Session, *, token: str, text: str, code: str | None, settings: Settings,
    publish: Publish,
) -> Any:
    """Send the question (a sessions QuestionPublic-like FloorQuestion); raises the follow
    link's errors, `personal_code_wrong`, `no_session_on_stage`, `session_closed`."""
    cid = sessions_service.follow_conference(db, token=token, secret=settings.secret_key,
                                             grace_days=settings.follow_grace_days)
    if not code or not code.strip():
        return sessions_service.ask_question_on_stage(db, conference_id=cid, text=text,
                                                      publish=publish)
    attendee = attendee_by_code(db, conference_id=cid, code=code)
    assert attendee.id is not None
    act_as_attendee(attendee.id)  # the audit log keeps the question as the attendee's
    return sessions_service.ask_question_on_stage(
        db, conference_id=cid, text=text, publish=publish, attendee_id=attendee.id,
        site_id=attendee.site_id)
