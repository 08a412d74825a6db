"""The central office's hold on accounts: list, disable, enable, force a logout."""

from collections.abc import Sequence

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app.accounts import errors
from app.accounts.models import AccountStatus, User
from app.accounts.revocations import announce_revoked
from app.accounts.service import require_admin
from app.realtime import Publish


def list_accounts(
    db: Session,
    *,
    actor: User,
    query: str | None = None,
    status: AccountStatus | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[User], int]:
    """One page of accounts (matching `query` in username or name) and how many match."""
    require_admin(actor)
    stmt = select(User)
    if query:
        like = f"%{query.strip().casefold()}%"
        stmt = stmt.where(
            or_(col(User.username).like(like), func.lower(col(User.full_name)).like(like))
        )
    if status is not None:
        stmt = stmt.where(col(User.status) == status)
    total = db.exec(select(func.count()).select_from(stmt.subquery())).one()
    users = db.exec(stmt.order_by(col(User.id)).limit(limit).offset(offset)).all()
    return users, int(total)


def get_account(db: Session, *, user_id: int, actor: User) -> User:
    """An account, for the central office."""
    require_admin(actor)
    user = db.get(User, user_id)
    if user is None:
        raise errors.AccountNotFound()
    return user


def _other_account(db: Session, *, user_id: int, actor: User) -> User:
    user = get_account(db, user_id=user_id, actor=actor)
    if user.id == actor.id:
        raise errors.CannotChangeOwnAccount()  # the last central office must not lock itself out
    return user


def _end_sessions(db: Session, user: User, publish: Publish) -> User:
    user.token_version += 1
    db.add(user)
    db.commit()
    db.refresh(user)
    assert user.id is not None
    announce_revoked(publish, user_id=user.id)
    return user


def disable_account(db: Session, *, user_id: int, actor: User, publish: Publish) -> User:
    """Lock an account: it cannot log in, and its tokens and open sockets die now."""
    user = _other_account(db, user_id=user_id, actor=actor)
    user.status = AccountStatus.disabled
    return _end_sessions(db, user, publish)


def enable_account(db: Session, *, user_id: int, actor: User) -> User:
    """Unlock a disabled account (its old tokens stay dead: it logs in again)."""
    user = get_account(db, user_id=user_id, actor=actor)
    if user.status != AccountStatus.disabled:
        raise errors.AccountNotDisabled()
    user.status = AccountStatus.active
    db.add(user)
    db.commit()
    db.refresh(user)
    return user


def force_logout(db: Session, *, user_id: int, actor: User, publish: Publish) -> User:
    """End every session of another account, its open sockets included."""
    user = _other_account(db, user_id=user_id, actor=actor)
    return _end_sessions(db, user, publish)
