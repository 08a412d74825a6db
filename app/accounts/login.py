"""Logging in under the throttle: blocked clients and accounts never reach the password check.

Two subjects are counted for every wrong password: the client address (one guesser
trying many accounts) and the account (many addresses guessing one password). Past
their free failures each must wait, the wait doubling up to 15 minutes; a request
made while waiting is refused (429, Retry-After) before any database work or argon2.
A good password clears the account's count, never the address's (else a guesser
could log into their own account between guesses). Passwords are checked one at a
time per process, in one thread at the lowest CPU priority (see `_verifying`).

Every attempt is a security event on the audit log, counted in the spool (a login storm
at the opening, or a guesser's flood, is one summary entry per account, address and
outcome each few seconds, not a write per attempt): a success as the account, a refusal
with the account only when the username names one. A username that names no account is
not kept (it may be someone's e-mail or a password typed in the wrong box), nor is any
password.
"""

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import Session, select

from app.accounts import errors, service
from app.accounts.models import User
from app.audit import spool
from app.audit.context import Actor, current_actor
from app.config import Settings
from app.throttle import Rule, Throttle, Throttled

FIRST_DELAY = 1.0
MAX_DELAY = 15 * 60.0
FORGET = 15 * 60.0
QUEUE_SECONDS = 10.0
BUSY = "Máy chủ đang bận, vui lòng thử lại sau giây lát."

# One password check at a time per process. argon2 costs ~0.2 s of a core here: a burst
# of guesses would otherwise take every core from the check-ins at once, and each guess
# would pass the throttle before the ones ahead of it were counted. One slot still
# checks ~5 passwords a second per worker, plenty for people logging in.
_verifying = threading.Semaphore(1)
# Clients and accounts with a check under way: their other attempts are refused at once,
# not queued (a guesser's burst would otherwise pile up threads behind the slot).
_pending: set[str] = set()
_pending_lock = threading.Lock()


def _lower_priority() -> None:
    # Linux: a thread has its own nice value. Checking a password yields the cores to
    # check-ins and page views; on an idle server it costs nothing.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


# The thread (one, at the lowest priority) that runs argon2; callers take `_verifying` first.
_checker = ThreadPoolExecutor(1, thread_name_prefix="password-check", initializer=_lower_priority)


def login_rules(settings: Settings) -> tuple[Rule, Rule]:
    """The rules for client addresses and for accounts."""
    return (
        Rule("login-client", settings.login_failures_per_client, FIRST_DELAY, MAX_DELAY, FORGET),
        Rule("login-account", settings.login_failures_per_account, FIRST_DELAY, MAX_DELAY,
             FORGET),
    )


def login_attempts(
    settings: Settings, *, client: str, username: str
) -> tuple[tuple[Rule, str], tuple[Rule, str]]:
    """The subjects one login attempt counts against: the client and the account."""
    client_rule, account_rule = login_rules(settings)
    return (client_rule, client), (account_rule, service.normalize_username(username))


def authenticate_throttled(
    db: Session, *, throttle: Throttle, settings: Settings, client: str, username: str,
    password: str,
) -> User:
    """The account these credentials open, unless the client or account must wait.

    `db` should be a read-only session: argon2 takes tens of milliseconds and must not
    run while holding SQLite's write lock (every check-in would wait behind it).
    """
    attempts = login_attempts(settings, client=client, username=username)
    keys = {rule.key(subject) for rule, subject in attempts}
    try:
        throttle.check(*attempts)
        with _pending_lock:
            if keys & _pending:  # this client or account is being checked right now
                raise Throttled(1)
            _pending.update(keys)
        try:
            user = _verify(db, throttle=throttle, attempts=attempts, username=username,
                           password=password)
        finally:
            with _pending_lock:
                _pending.difference_update(keys)
    except (errors.InvalidCredentials, errors.AccountNotActive, Throttled) as exc:
        note_attempt(db, username=username, outcome=exc.code)
        raise
    note_attempt(db, username=username, outcome="login", user=user)
    return user


def note_attempt(db: Session, *, username: str, outcome: str, user: User | None = None) -> None:
    """Count a login attempt for the audit log (`outcome`: "login" or the refusal's code)."""
    here = current_actor()
    if user is None and outcome != Throttled.code:
        # The account the attempt named, if there is one (never the typed text otherwise);
        # a throttled attempt is not looked up (a flood must stay cheap).
        user = db.exec(select(User).where(
            User.username == service.normalize_username(username))).first()
    actor = Actor(role=str(user.role) if user else "anonymous", address=here.address,
                  user_id=user.id if user else None, username=user.username if user else None)
    spool.spool_for(db.get_bind()).note(action="login", object_type="user_account",
                                        object_id=actor.user_id, outcome=outcome, actor=actor)


def precheck(throttle: Throttle, attempts: tuple[tuple[Rule, str], ...]) -> None:
    """Refuse, without I/O (on the event loop), a client or account known to wait or
    being checked right now."""
    throttle.check_cached(*attempts)
    if any(rule.key(subject) in _pending for rule, subject in attempts):
        raise Throttled(1)


def _verify(
    db: Session, *, throttle: Throttle, attempts: tuple[tuple[Rule, str], ...], username: str,
    password: str,
) -> User:
    if not _verifying.acquire(timeout=QUEUE_SECONDS):
        raise Throttled(1, detail=BUSY)
    try:
        # Again: attempts that waited for the slot may have been counted meanwhile, so a
        # burst gets its free failures and no more.
        throttle.check(*attempts)
        try:
            user = _checker.submit(
                service.authenticate, db, username=username, password=password
            ).result()
        except errors.InvalidCredentials:
            db.rollback()  # end the read transaction before the throttle writes
            throttle.failed(*attempts)
            raise
    finally:
        _verifying.release()
    throttle.clear(*attempts[1])
    return user
