"""Follow-along links: signed, per conference, rotatable, and expiring with the conference.

A link's token signs the conference and the link generation it was made in. The central
office rotates a conference's link (a new generation): every link given out before is
refused with `follow_link_revoked`. Every link stops at the end of the conference's last
day (Vietnam time) plus `follow_grace_days` (`follow_link_expired`). A forged or malformed
token is refused by its signature alone (`follow_link_invalid`), before any lookup; a
genuine one costs one small read, remembered per conference for CACHE_SECONDS (a
rotation in this process is seen at once, in another within that time).
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.audit import service as audit_service
from app.db import LOCAL_TZ, PerPool, utcnow
from endpoints import service as endpoints_service
from endpoints.models import Conference
from sessions import errors
from sessions.models import FollowLinkGeneration

FOLLOW_SALT = "diemcau.follow"
MAX_TOKEN_CHARS = 200
CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class FollowClaims:
    """What a genuine token says: the conference, and the link generation it belongs to."""

    conference_id: int
    generation: int


@dataclass(frozen=True)
class _Known:
    generation: int
    expires_at: float  # Unix time
    checked_at: float  # time.monotonic()


# Per database (connection pool), then per conference.
_known: PerPool[dict[int, _Known]] = PerPool(dict)


def _memo(db: Session) -> dict[int, _Known]:
    return _memo_of(db.get_bind())


def _memo_of(bind: Any) -> dict[int, _Known]:
    return _known(bind)


def sign(*, conference_id: int, generation: int, secret: str) -> str:
    """The token of a conference's link in a generation (0: before any rotation)."""
    data = {"c": conference_id} if generation == 0 else {"c": conference_id, "g": generation}
    return URLSafeSerializer(secret, salt=FOLLOW_SALT).dumps(data)


def read(*, token: str, secret: str) -> FollowClaims | None:
    """The claims of a genuine token; None when forged or malformed (no lookup)."""
    if len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        data = URLSafeSerializer(secret, salt=FOLLOW_SALT).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    cid, gen = data.get("c"), data.get("g", 0)
    if not isinstance(cid, int) or not isinstance(gen, int) or bool in (type(cid), type(gen)):
        return None
    return FollowClaims(conference_id=cid, generation=gen)


def expires_at(conference: Conference, *, grace_days: int) -> float:
    """End of the conference's last day (Vietnam time) plus the grace, as Unix time."""
    end = datetime.combine(conference.ends_on + timedelta(days=grace_days + 1), dtime(),
                           tzinfo=LOCAL_TZ)
    return end.astimezone(UTC).timestamp()


def _lookup(db: Session, conference_id: int, grace_days: int) -> _Known | None:
    conference = db.get(Conference, conference_id)
    if conference is None:
        return None
    row = db.get(FollowLinkGeneration, conference_id)
    known = _Known(generation=row.generation if row is not None else 0,
                   expires_at=expires_at(conference, grace_days=grace_days),
                   checked_at=time.monotonic())
    _memo(db)[conference_id] = known
    return known


def _fresh(bind: Any, conference_id: int) -> _Known | None:
    known = _memo_of(bind).get(conference_id)
    if known is not None and time.monotonic() - known.checked_at < CACHE_SECONDS:
        return known
    return None


def _current(db: Session, conference_id: int, grace_days: int) -> _Known | None:
    known = _fresh(db.get_bind(), conference_id)
    return known if known is not None else _lookup(db, conference_id, grace_days)


def _decide(claims: FollowClaims, known: _Known | None, now: float | None) -> int:
    if known is None:
        raise errors.FollowLinkInvalid()
    if claims.generation != known.generation:
        raise errors.FollowLinkRevoked()
    if (time.time() if now is None else now) >= known.expires_at:
        raise errors.FollowLinkExpired()
    return claims.conference_id


def conference_if_known(bind: Any, *, claims: FollowClaims) -> int | None:
    """The decision from this process's memory alone (no lookup); None when it has to
    look (raises like `conference_of` when the remembered state refuses the link)."""
    known = _fresh(bind, claims.conference_id)
    return None if known is None else _decide(claims, known, None)


def conference_of(
    db: Session, *, token: str, secret: str, grace_days: int, now: float | None = None
) -> int:
    """The conference a follow link names, if the link is genuine, current and unexpired;
    else follow_link_invalid (404), follow_link_revoked or follow_link_expired (410)."""
    claims = read(token=token, secret=secret)
    if claims is None:
        raise errors.FollowLinkInvalid()
    return _decide(claims, _current(db, claims.conference_id, grace_days), now)


def forget(db: Session) -> None:
    """Drop what this process remembers of the database's links (tests, maintenance)."""
    _memo(db).clear()


def current_token(db: Session, *, conference_id: int, secret: str) -> str:
    """The token of the conference's current link."""
    row = db.get(FollowLinkGeneration, conference_id)
    return sign(conference_id=conference_id, generation=row.generation if row else 0,
                secret=secret)


def offered_token(
    db: Session, *, conference_id: int, secret: str, grace_days: int, now: float | None = None
) -> str | None:
    """The token of the conference's current link, to hand out where attendees are (a
    site screen, a self check-in); None once its links have expired or when there is no
    such conference. Read through this process's memory, like `conference_of`: after a
    rotation elsewhere the new link is offered within CACHE_SECONDS."""
    known = _current(db, conference_id, grace_days)
    if known is None or (time.time() if now is None else now) >= known.expires_at:
        return None
    return sign(conference_id=conference_id, generation=known.generation, secret=secret)


def rotate(db: Session, *, conference_id: int, actor: User, secret: str) -> str:
    """A new link for the conference (central office); every earlier link is refused."""
    accounts_service.require_admin(actor)
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    bumped = db.execute(
        update(FollowLinkGeneration)
        .where(FollowLinkGeneration.conference_id == conference_id)  # type: ignore[arg-type]
        .values(generation=FollowLinkGeneration.generation + 1, rotated_at=utcnow())
    )
    if bumped.rowcount == 0:  # type: ignore[attr-defined]
        db.add(FollowLinkGeneration(conference_id=conference_id, generation=1))
    else:  # a statement the ORM listener cannot see
        audit_service.record(db, action="rotate", object_type="follow_link",
                             conference_id=conference_id)
    try:
        db.commit()
    except IntegrityError:  # another rotation created the row first: bump it
        db.rollback()
        return rotate(db, conference_id=conference_id, actor=actor, secret=secret)
    _memo(db).pop(conference_id, None)
    return current_token(db, conference_id=conference_id, secret=secret)
