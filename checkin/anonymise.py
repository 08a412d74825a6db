"""Replacing identities by anonymous ids: the one function behind erasure and the
retention purge.

The attendee row stays (its attendance, and so every total, is unchanged); what named
the person goes: name, unit, position and phone, their search words, the text of their
requests and of the questions they sent with their personal code, and the keys of
their values in the audit log. The name becomes an anonymous id ("Ẩn danh 7Q4K2MXA")
drawn at random, so it says nothing about the person, and the pass version grows, so a
printed pass no longer checks in.
"""

import secrets
from collections.abc import Sequence

from sqlalchemy import bindparam, delete, select, update
from sqlmodel import Session, col

from app.audit import keys
from app.audit import service as audit
from app.db import utcnow
from app.text import search_key
from checkin import answer_privacy
from checkin.models import SHORT_CODE_ALPHABET, Attendee, AttendeeWord
from checkin.privacy_models import DataRequest
from checkin.roster import chunks, sort_key
from sessions import service as sessions_service

ANONYMOUS = "Ẩn danh"
_CHUNK = 500


def anonymous_name() -> str:
    """A fresh anonymous id, e.g. "Ẩn danh 7Q4K2MXA"."""
    return f"{ANONYMOUS} " + "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(8))


def anonymise(db: Session, *, attendee_ids: Sequence[int]) -> int:
    """Replace the identities of `attendee_ids` not yet erased (in `db`'s transaction,
    not committed); how many were replaced. Logs nothing itself: its callers record
    an erasure or a purge."""
    now = utcnow()
    done = 0
    table = Attendee.__table__  # type: ignore[attr-defined]
    for chunk in chunks(list(attendee_ids), _CHUNK):
        ids = [int(i) for i in db.execute(select(col(Attendee.id)).where(
            col(Attendee.id).in_(chunk), col(Attendee.erased_at).is_(None))).scalars()]
        if not ids:
            continue
        names = [anonymous_name() for _ in ids]
        db.execute(
            update(table).where(table.c.id == bindparam("b_id")).values(
                full_name=bindparam("b_name"), name_key=bindparam("b_key"),
                sort_key=bindparam("b_sort"), unit=None, position=None, phone=None,
                pass_version=table.c.pass_version + 1, revoked=True, erased_at=now,
            ).execution_options(synchronize_session=False),
            [{"b_id": i, "b_name": n, "b_key": search_key(n), "b_sort": sort_key(n)}
             for i, n in zip(ids, names, strict=True)],
        )
        db.execute(delete(AttendeeWord).where(col(AttendeeWord.attendee_id).in_(ids)))
        requests = [int(r) for r in db.execute(select(col(DataRequest.id)).where(
            col(DataRequest.attendee_id).in_(ids))).scalars()]
        if requests:
            db.execute(update(DataRequest).where(col(DataRequest.id).in_(requests))
                       .values(message=None).execution_options(synchronize_session=False))
        # Their written questions go with them (text replaced, link cleared).
        sessions_service.erase_attendee_questions(db, attendee_ids=ids)
        # Their form answers stay in the counts, unlinked; their short texts go.
        answer_privacy.erase_attendee_answers(db, attendee_ids=ids)
        audit.forget(db, subjects=[keys.subject_of("attendee", i) for i in ids]
                     + [keys.subject_of("data_request", r) for r in requests])
        done += len(ids)
    return done
