"""Use cases of site screens: enrolment by token or pairing code, revocation, presence."""

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.audit import service as audit_service
from app.db import utcnow
from app.security import hash_token
from endpoints import errors
from endpoints import service as registry
from endpoints.models import Participation, Site
from endpoints.screen_models import ScreenDevice

PAIRING_MINUTES = 10
# A screen is online while its heartbeats (every 15 s, flushed every 10 s) keep coming.
ONLINE_SECONDS = 45
# No 0/O or 1/I/L: the code is read off a phone and typed on a projector PC.
_PAIR_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _new_token() -> tuple[str, str]:
    token = "scr_" + secrets.token_urlsafe(32)
    return token, hash_token(token)


def _normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _screen_name(db: Session, site_id: int, name: str | None) -> str:
    if name:
        return name
    count = db.exec(
        select(func.count()).select_from(ScreenDevice).where(ScreenDevice.site_id == site_id)
    ).one()
    return f"Màn hình {int(count) + 1}"


def enroll_screen(
    db: Session, *, site_id: int, actor: User, name: str | None = None
) -> tuple[ScreenDevice, str]:
    """Enrol a screen of a site in the actor's scope; the token is returned once."""
    registry.get_site(db, site_id=site_id, actor=actor)
    token, token_hash = _new_token()
    now = utcnow()
    screen = ScreenDevice(
        site_id=site_id,
        name=_screen_name(db, site_id, name),
        token_hash=token_hash,
        enrolled_at=now,
        created_by_id=actor.id,
    )
    db.add(screen)
    db.commit()
    return screen, token


def _derived_code(secret: str, screen_id: int, expires_at: datetime) -> str:
    """The pairing code of a screen, derived from the secret key: the page that shows it
    can show it again after a reload, while the database keeps only its hash."""
    at = int(expires_at.replace(tzinfo=expires_at.tzinfo or UTC).timestamp())
    message = f"diemcau.pair\x00{screen_id}\x00{at}".encode()
    number = int.from_bytes(hmac.new(secret.encode(), message, hashlib.sha256).digest())
    letters = []
    for _ in range(8):
        number, index = divmod(number, len(_PAIR_ALPHABET))
        letters.append(_PAIR_ALPHABET[index])
    return "".join(letters)


def _shown(raw: str) -> str:
    return f"{raw[:4]}-{raw[4:]}"


def create_pairing_code(
    db: Session, *, site_id: int, actor: User, name: str | None = None,
    secret: str | None = None,
) -> tuple[ScreenDevice, str]:
    """A short code, valid 10 minutes, that a projector PC types to enrol itself.

    With `secret` the code is derived from it (see :func:`pending_pairing_code`), else
    random (the JSON API shows it once)."""
    registry.get_site(db, site_id=site_id, actor=actor)
    # Whole seconds: the derived code is computed from the expiry as stored.
    expires = (utcnow() + timedelta(minutes=PAIRING_MINUTES)).replace(microsecond=0)
    screen = ScreenDevice(
        site_id=site_id,
        name=_screen_name(db, site_id, name),
        pairing_expires_at=expires,
        created_by_id=actor.id,
    )
    db.add(screen)
    db.flush()
    assert screen.id is not None
    if secret is not None:
        raw = _derived_code(secret, screen.id, expires)
    else:
        raw = "".join(secrets.choice(_PAIR_ALPHABET) for _ in range(8))
    screen.pairing_code_hash = hash_token(raw)
    db.add(screen)
    db.commit()
    return screen, _shown(raw)


def pending_pairing_code(
    db: Session, *, site_id: int, screen_id: int, actor: User, secret: str
) -> tuple[ScreenDevice, str | None]:
    """A screen of a site in the actor's scope and its code while it still waits to be
    paired (None once paired, expired, revoked or made without `secret`)."""
    registry.get_site(db, site_id=site_id, actor=actor)
    screen = db.get(ScreenDevice, screen_id)
    if screen is None or screen.site_id != site_id:
        raise errors.ScreenNotFound()
    expires = screen.pairing_expires_at
    if (screen.revoked or screen.pairing_code_hash is None or expires is None
            or expires <= utcnow()):
        return screen, None
    raw = _derived_code(secret, screen_id, expires)
    if not hmac.compare_digest(hash_token(raw), screen.pairing_code_hash):
        return screen, None
    return screen, _shown(raw)


def pair_screen(db: Session, *, code: str) -> tuple[ScreenDevice, str]:
    """Exchange a pairing code for a screen token; a code works once."""
    code_hash = hash_token(_normalise_code(code))
    token, token_hash = _new_token()
    now = utcnow()
    # One conditional UPDATE claims the code: two screens typing it at once get one winner.
    claimed = db.execute(
        update(ScreenDevice)
        .where(
            col(ScreenDevice.pairing_code_hash) == code_hash,
            col(ScreenDevice.pairing_expires_at) > now,
            col(ScreenDevice.revoked).is_(False),
        )
        .values(token_hash=token_hash, pairing_code_hash=None, enrolled_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise errors.PairingCodeInvalid()
    screen = db.exec(select(ScreenDevice).where(ScreenDevice.token_hash == token_hash)).one()
    audit_service.record(db, action="pair", object_type="screen_device", object_id=screen.id,
                         site_id=screen.site_id)
    db.commit()
    return screen, token


def list_screens(db: Session, *, site_id: int, actor: User) -> Sequence[ScreenDevice]:
    """Screens of a site in the actor's scope."""
    registry.get_site(db, site_id=site_id, actor=actor)
    return db.exec(
        select(ScreenDevice).where(ScreenDevice.site_id == site_id).order_by(col(ScreenDevice.id))
    ).all()


def revoke_screen(db: Session, *, screen_id: int, actor: User) -> ScreenDevice:
    """Stop a screen's token from working (its open socket is closed at its next check)."""
    screen = db.get(ScreenDevice, screen_id)
    if screen is None:
        raise errors.ScreenNotFound()
    registry.get_site(db, site_id=screen.site_id, actor=actor)
    screen.revoked = True
    screen.token_hash = None
    screen.pairing_code_hash = None
    db.add(screen)
    db.commit()
    return screen


def mark_seen(db: Session, *, screen_ids: Iterable[int]) -> set[int]:
    """Record a heartbeat for many screens, 500 per statement; returns the revoked ones."""
    ids = sorted(set(screen_ids))
    now = utcnow()
    revoked: set[int] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        db.execute(
            update(ScreenDevice)
            .where(col(ScreenDevice.id).in_(chunk), col(ScreenDevice.revoked).is_(False))
            .values(last_seen_at=now)
        )
        revoked.update(
            i
            for i in db.exec(
                select(ScreenDevice.id).where(
                    col(ScreenDevice.id).in_(chunk), col(ScreenDevice.revoked).is_(True)
                )
            ).all()
            if i is not None
        )
    db.commit()
    return revoked


def count_online(db: Session, *, conference_id: int, actor: User) -> tuple[int, int]:
    """Screens of a conference's sites and distinct sites with a heartbeat in the last
    45 s (in the actor's scope)."""
    registry.get_conference(db, conference_id=conference_id, actor=actor)
    since = utcnow() - timedelta(seconds=ONLINE_SECONDS)
    participants = select(Participation.site_id).where(
        Participation.conference_id == conference_id
    )
    query = select(func.count(), func.count(func.distinct(ScreenDevice.site_id))).where(
        col(ScreenDevice.site_id).in_(participants),
        col(ScreenDevice.revoked).is_(False),
        col(ScreenDevice.last_seen_at) > since,
    )
    if not accounts_service.is_admin(actor):
        root = db.get(Site, actor.site_id) if actor.site_id else None
        if root is None:
            return 0, 0
        query = query.join(Site, col(Site.id) == ScreenDevice.site_id).where(
            col(Site.path).startswith(root.path)
        )
    screens, sites = db.exec(query).one()
    return int(screens), int(sites)
