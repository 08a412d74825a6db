"""One-time password reset links: issued by the central office, used once, expiring.

Only the SHA-256 of the link's token is stored, so a copy of the database opens no
account. Issuing a new link retires the account's earlier unused ones.
"""

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.accounts import errors
from app.accounts.admin import get_account
from app.accounts.models import AccountStatus, PasswordReset, User
from app.accounts.passwords import check_new_password
from app.accounts.service import set_password
from app.db import utcnow
from app.realtime import Publish
from app.security import hash_password, hash_token, new_invite_token


def issue_reset(db: Session, *, user_id: int, actor: User, valid_hours: int) -> str:
    """A fresh reset token for the account (shown once; only its hash is kept)."""
    user = get_account(db, user_id=user_id, actor=actor)
    now = utcnow()
    db.execute(
        update(PasswordReset)
        .where(col(PasswordReset.user_id) == user.id, col(PasswordReset.used_at).is_(None))
        .values(used_at=now)
    )
    token, token_hash = new_invite_token()
    db.add(
        PasswordReset(
            user_id=user_id, token_hash=token_hash, created_by=actor.id,
            expires_at=now + timedelta(hours=valid_hours),
        )
    )
    db.commit()
    return token


def _live_reset(db: Session, token: str) -> PasswordReset:
    reset = db.exec(
        select(PasswordReset).where(PasswordReset.token_hash == hash_token(token[:200]))
    ).first()
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        raise errors.ResetLinkInvalid()
    return reset


def reset_account(db: Session, *, token: str) -> User:
    """The active account a live reset link is for (to greet the user on the page)."""
    user = db.get(User, _live_reset(db, token).user_id)
    if user is None or user.status != AccountStatus.active:
        raise errors.ResetLinkInvalid()
    return user


def redeem_reset(db: Session, *, token: str, password: str, publish: Publish) -> User:
    """Set a new password through a live link, once; every session of the account ends."""
    reset = _live_reset(db, token)
    user = reset_account(db, token=token)
    check_new_password(password, username=user.username)
    db.commit()  # end the lookup's transaction: argon2 must not run holding the write lock
    password_hash = hash_password(password)
    # Claimed by a conditional update: two submissions of one link cannot both win.
    claimed = db.execute(
        update(PasswordReset)
        .where(col(PasswordReset.id) == reset.id, col(PasswordReset.used_at).is_(None))
        .values(used_at=utcnow())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise errors.ResetLinkInvalid()
    return set_password(db, user_id=user.id, password_hash=password_hash, publish=publish)
