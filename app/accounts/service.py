"""Use cases of accounts: who is admin, logging in and out, the first admin."""

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts import errors
from app.accounts.models import AccountStatus, Role, User
from app.accounts.passwords import check_new_password
from app.accounts.revocations import announce_revoked
from app.audit import service as audit_service
from app.config import DEV_ADMIN_PASSWORD
from app.realtime import Publish
from app.security import create_access_token, hash_password, read_access_token, verify_password


def is_admin(user: User) -> bool:
    """Central-office accounts see and change everything."""
    return user.role == Role.admin and user.status == AccountStatus.active


def require_admin(user: User) -> None:
    """Refuse anyone but the central office."""
    if not is_admin(user):
        raise errors.AdminOnly()


def normalize_username(username: str) -> str:
    """Usernames compare case-insensitively."""
    return username.strip().casefold()


def authenticate(db: Session, *, username: str, password: str) -> User:
    """The active account whose credentials these are."""
    user = db.exec(select(User).where(User.username == normalize_username(username))).first()
    if not verify_password(password, user.password_hash if user else None) or user is None:
        raise errors.InvalidCredentials()
    if user.status != AccountStatus.active:
        raise errors.AccountNotActive()
    return user


def issue_token(*, user: User, secret: str) -> str:
    """A login token for `user` (bearer for /api, cookie for pages)."""
    assert user.id is not None
    return create_access_token(secret=secret, user_id=user.id, version=user.token_version)


def user_for_token(db: Session, *, token: str, secret: str, max_age_seconds: int) -> User | None:
    """The active user a valid token belongs to, or None."""
    claims = read_access_token(secret=secret, token=token, max_age_seconds=max_age_seconds)
    if claims is None:
        return None
    user = db.get(User, claims.user_id)
    if user is None or user.status != AccountStatus.active:
        return None
    if user.token_version != claims.version:
        return None
    return user


def logout(db: Session, *, user: User, publish: Publish | None = None) -> None:
    """End every session of `user`: tokens issued before now stop working.

    With `publish`, the user's open websockets are closed too (in every worker).
    """
    db.execute(
        update(User).where(col(User.id) == user.id).values(token_version=User.token_version + 1)
    )
    # A statement, not an ORM write: the log is told (a security event, in the same commit).
    audit_service.record(db, action="logout", object_type="user_account", object_id=user.id,
                         site_id=user.site_id)
    db.commit()
    if publish is not None and user.id is not None:
        announce_revoked(publish, user_id=user.id)


def change_password(
    db: Session, *, user: User, current: str, new: str, publish: Publish
) -> User:
    """Change one's own password; every other session of the account ends.

    Returns the account as saved (issue the caller a fresh token from it).
    """
    # Both argon2 runs happen before `db` opens its (write) transaction.
    if not verify_password(current, user.password_hash):
        raise errors.WrongCurrentPassword()
    check_new_password(new, username=user.username)
    return set_password(db, user_id=user.id, password_hash=hash_password(new), publish=publish)


def set_password(
    db: Session, *, user_id: int | None, password_hash: str, publish: Publish
) -> User:
    """Store a new hash (of a password checked against the policy); end every session."""
    saved = db.get(User, user_id) if user_id is not None else None
    if saved is None:
        raise errors.AccountNotFound()
    saved.password_hash = password_hash
    saved.token_version += 1
    db.add(saved)
    db.commit()
    db.refresh(saved)
    announce_revoked(publish, user_id=saved.id or 0)
    return saved


def stale_sessions(db: Session, pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Of (user id, token version) pairs, those whose account is gone, inactive or re-versioned."""
    ids = {uid for uid, _ in pairs}
    rows = db.exec(
        select(User.id, User.status, User.token_version).where(col(User.id).in_(ids))
    ).all()
    valid = {(uid, ver) for uid, status, ver in rows if status == AccountStatus.active}
    return {pair for pair in pairs if pair not in valid}


def default_admin_works(db: Session, *, username: str, password: str) -> bool:
    """True when the published development password logs into the central office.

    Either no account exists yet and the first one would get it, or the named
    central-office account still has it.
    """
    if db.exec(select(User.id).limit(1)).first() is None:
        return password == DEV_ADMIN_PASSWORD
    user = db.exec(select(User).where(User.username == normalize_username(username))).first()
    return user is not None and verify_password(DEV_ADMIN_PASSWORD, user.password_hash)


def add_user(db: Session, user: User) -> User:
    """Save a new account; a username already in use is refused."""
    db.add(user)
    try:
        db.commit()
    except IntegrityError as exc:
        db.rollback()
        raise errors.UsernameTaken() from exc
    return user


def create_admin(db: Session, *, username: str, password: str, full_name: str) -> User:
    """A central-office account (used by `diemcau create-admin` and at first start)."""
    return add_user(
        db,
        User(
            username=normalize_username(username),
            password_hash=hash_password(password),
            full_name=full_name,
            role=Role.admin,
        ),
    )


def ensure_admin(db: Session, *, username: str, password: str) -> User | None:
    """Create the first central-office account when no account exists yet."""
    if db.exec(select(User.id).limit(1)).first() is not None:
        return None
    try:
        return create_admin(db, username=username, password=password, full_name="Ban tổ chức")
    except errors.UsernameTaken:
        return None  # another worker starting at the same moment created it first
