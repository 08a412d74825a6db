"""Check-in: one function behind every way in (staff scan, name search, self check-in).

The hot path is three statements on the write connection — one SELECT that joins the
scanning site, its participation in the attendee's conference (outside it: refused),
the attendee (by pass id or short code), their home site, the actor's root site and the
session; one `INSERT … ON CONFLICT DO NOTHING RETURNING`; the COMMIT — and no
read-then-write: the unique constraints on (attendee, session) and
(conference, nonce) decide who was first, however many devices scan at once. Only a
repeat reads the earlier row. Pass signatures are checked against keys held in
memory. Failed staff scans are kept in `scan_failure`, each in its own short
transaction; anonymous ones (self check-in) are counted in memory (`checkin.misses`).
Every scan, accepted or refused, is counted for the audit log's batch summary
(`checkin.scan_audit`): a counter bump after the commit, never an audit row per scan.
The statements themselves are in `checkin.statements`; on SQLite the routes run every
check-in in the one thread of `app.db.WriteGate`, so writers never fight for the lock.

The roster use cases live in `checkin.roster`, headcounts in `checkin.headcounts`.
"""

import logging
import time
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import AccountStatus, Role, User
from app.config import Settings
from app.db import utcnow
from app.errors import AppError
from app.realtime import Publish
from checkin import errors, events, keys, misses, qr, scan_audit, site_tokens, statements
from checkin import sites as checkin_sites
from checkin.checkout import check_out as check_out
from checkin.models import CONFERENCE_LEVEL, ScanFailure
from checkin.roster import normalize_short_code
from checkin.site_tokens import SiteQr as SiteQr
from checkin.site_tokens import page_token as page_token
from checkin.site_tokens import site_qr as site_qr
from checkin.site_tokens import site_qr_info as site_qr_info
from checkin.site_tokens import site_qr_secret as site_qr_secret
from checkin.statements import ScanContext
from endpoints import errors as endpoints_errors
from endpoints.models import Readiness, Site, SiteView

log = logging.getLogger(__name__)

Status = Literal["checked_in", "already_checked_in"]
CODE_PREFIX_CHARS = 40

@dataclass(frozen=True)
class CheckedAttendee:
    """Who was checked in (what a scanner shows: no phone, no position)."""

    id: int
    full_name: str
    unit: str | None
    site_id: int
    site_name: str


@dataclass(frozen=True)
class CheckinResult:
    """The answer to a scan: first time, or already, with when and where."""

    status: Status
    attendee: CheckedAttendee
    checked_in_at: datetime
    site_id: int
    site_name: str
    conference_id: int
    session_id: int | None
    foreign_site: bool
    first: bool
    replayed: bool = False
    # The site that scanned (site_id/site_name above are the first check-in's, on a repeat).
    here_id: int = 0
    here_name: str = ""
    # First check-in of this attendee at the conference level (a session check-in counts
    # there too): the conference's dashboard counts it.
    conference_first: bool = False


@dataclass(frozen=True)
class Scan:
    """What a scan asks for, before the database is touched."""

    code: str
    site_id: int
    session_id: int | None
    nonce: str | None
    device: str | None
    method: str
    actor: User | None
    # When the scan happened, for a scan queued offline and synced later (None: now).
    at: datetime | None = None


# ------------------------------------------------------------------- code


def _printable(value: str) -> str:
    """What was scanned, cut and with control characters made harmless, for the failure log."""
    cut = value[:CODE_PREFIX_CHARS]
    return "".join("?" if unicodedata.category(ch).startswith("C") else ch for ch in cut)


def _claims(db: Session, code: str, settings: Settings,
            at: datetime | None = None) -> qr.PassClaims:
    bind = db.get_bind()
    ring = keys.key_ring(bind, secret_key=settings.secret_key)
    # A scan synced from offline is judged at the time it happened (expiry included).
    now = int(at.timestamp()) if at is not None else int(time.time())
    # A repeat scan skips the signature check (~0.1 ms); expiry is still checked.
    known = ring.verified.get(code)
    if known is not None and known.expires_at > now:
        claims = known
    else:
        try:
            claims = qr.verify_pass(code, ring.public, now)
            ring.remember(code, claims)
        except errors.PassUnknownKey:
            # Another process may have rotated keys since this one loaded them.
            fresh = keys.reload_for_unknown_kid(bind, secret_key=settings.secret_key)
            if fresh is None:
                raise
            ring = fresh
            claims = qr.verify_pass(code, ring.public, now)
    if claims.kid in ring.revoked:
        raise errors.PassKeyRevoked()
    return claims


# ---------------------------------------------------------------- context


def _load_context(
    db: Session, scan: Scan, attendee_id: int | None, short_code: str | None
) -> ScanContext:
    ctx = statements.load_context(
        db, site_id=scan.site_id, root_id=_root_id(scan.actor), session_id=scan.session_id,
        attendee_id=attendee_id, short_code=short_code,
    )
    if ctx is None:
        raise endpoints_errors.SiteNotFound()
    return ctx


def _root_id(actor: User | None) -> int | None:
    if actor is None or accounts_service.is_admin(actor):
        return None
    return actor.site_id


def _check_scope(ctx: ScanContext, actor: User | None) -> None:
    if actor is None or accounts_service.is_admin(actor):
        return
    if (
        actor.role != Role.coordinator
        or actor.status != AccountStatus.active
        or ctx.root_path is None
        or not ctx.scan_path.startswith(ctx.root_path)
    ):
        raise endpoints_errors.SiteOutOfScope()


def _check_pass(
    ctx: ScanContext, scan: Scan, claims: qr.PassClaims | None, settings: Settings
) -> int:
    """Refuse what cannot be checked in; the conference of the check-in when accepted."""
    if ctx.attendee_id is None:
        if claims is None:
            raise errors.ShortCodeNotFound()
        raise errors.AttendeeNotFound()
    conference_id = ctx.attendee_conference_id
    if claims is not None and claims.conference_id != conference_id:
        raise errors.PassOtherConference()
    # The scanning site must take part in the attendee's conference.
    if ctx.scan_conference_id is None:
        raise errors.PassOtherConference()
    if ctx.scan_readiness == Readiness.not_participating:
        raise errors.SiteNotParticipating()
    if scan.session_id is not None and ctx.session_conference_id != conference_id:
        raise errors.CheckinSessionNotFound()
    if ctx.deleted_at is not None:
        raise errors.AttendeeNotFound()
    if ctx.revoked or (claims is not None and claims.version != ctx.pass_version):
        raise errors.PassRevoked()
    return ctx.scan_conference_id


def _foreign(ctx: ScanContext, scan: Scan, settings: Settings) -> bool:
    """True when the attendee belongs to another site (refused if the policy says so)."""
    foreign = ctx.home_site_id != scan.site_id
    if foreign and settings.foreign_site_policy == "refuse":
        raise errors.PassWrongSite()
    return foreign


# ----------------------------------------------------------------- record


def _result(
    ctx: ScanContext,
    scan: Scan,
    *,
    conference_id: int,
    status: Status,
    at: datetime,
    site_id: int,
    site_name: str,
    foreign: bool,
    first: bool,
    replayed: bool = False,
) -> CheckinResult:
    assert ctx.attendee_id is not None and ctx.home_site_id is not None
    return CheckinResult(
        status=status,
        attendee=CheckedAttendee(
            id=ctx.attendee_id,
            full_name=ctx.full_name or "",
            unit=ctx.unit,
            site_id=ctx.home_site_id,
            site_name=ctx.home_name or "",
        ),
        checked_in_at=at,
        site_id=site_id,
        site_name=site_name,
        conference_id=conference_id,
        session_id=scan.session_id,
        foreign_site=foreign,
        first=first,
        replayed=replayed,
        here_id=scan.site_id,
        here_name=ctx.scan_name,
    )


def _earlier(
    db: Session, ctx: ScanContext, scan: Scan, session_key: int, conference_id: int
) -> CheckinResult:
    """The answer when the insert did nothing: a repeat, or a retry of the same scan."""
    assert ctx.attendee_id is not None
    rows = statements.earlier_checkins(
        db, attendee_id=ctx.attendee_id, session_key=session_key,
        conference_id=conference_id, nonce=scan.nonce,
    )
    mine = [r for r in rows if r.attendee_id == ctx.attendee_id]
    if not mine:
        raise errors.NonceReused()
    earlier = mine[0]
    replayed = scan.nonce is not None and earlier.nonce == scan.nonce
    return _result(
        ctx,
        scan,
        conference_id=conference_id,
        status="checked_in" if replayed else "already_checked_in",
        at=earlier.checked_in_at,
        site_id=earlier.site_id,
        site_name=earlier.site_name,
        foreign=earlier.foreign_site,
        first=replayed,
        replayed=replayed,
    )


def record(
    db: Session,
    scan: Scan,
    claims: qr.PassClaims | None,
    short_code: str | None,
    settings: Settings,
    *,
    commit: bool = True,
) -> CheckinResult:
    """The check-in of a read code, or its typed refusal (raised: roll back what it
    wrote). `commit` False leaves the transaction open (a batch of scans)."""
    ctx = _load_context(db, scan, claims.attendee_id if claims else None, short_code)
    _check_scope(ctx, scan.actor)
    conference_id = _check_pass(ctx, scan, claims, settings)
    foreign = _foreign(ctx, scan, settings)
    session_key = scan.session_id if scan.session_id is not None else CONFERENCE_LEVEL
    now = scan.at or utcnow()
    row = {
        "conference_id": conference_id,
        "attendee_id": ctx.attendee_id,
        "session_key": session_key,
        "site_id": scan.site_id,
        "checked_in_at": now,
        "checked_out_at": None,
        "method": scan.method,
        "device": scan.device,
        "nonce": scan.nonce,
        "foreign_site": foreign,
        "actor_id": scan.actor.id if scan.actor else None,
        "synced_at": None if scan.at is None else utcnow(),
    }
    if session_key == CONFERENCE_LEVEL:
        first = at_conference = statements.insert_checkin(db, row)
    else:
        first, at_conference = statements.insert_session_checkin(db, row)
    if first:
        result = _result(
            ctx, scan, conference_id=conference_id, status="checked_in", at=now,
            site_id=scan.site_id, site_name=ctx.scan_name, foreign=foreign, first=True,
        )
    else:
        result = _earlier(db, ctx, scan, session_key, conference_id)
    if commit:
        db.commit()
    return replace(result, conference_first=at_conference)


def note_failure(
    db: Session, scan: Scan, reason: str, claims: qr.PassClaims | None = None, *,
    batched: bool = False,
) -> None:
    """Keep a refused scan (who, where, what, why) in its own short transaction (in a
    batch: in the batch's, its own writes already undone); an anonymous one (self
    check-in) is only counted in memory (`checkin.misses`)."""
    if not batched:
        db.rollback()
    bind, site_id, session_id = db.get_bind(), scan.site_id, scan.session_id
    if scan.actor is None:
        conference = claims.conference_id if claims is not None else None
        misses.counter_for(bind).note(conference_id=conference, site_id=site_id,
                                      session_id=session_id, reason=reason)
        scan_audit.scanned(bind, conference_id=conference, site_id=site_id,
                           session_id=session_id, method=scan.method, outcome=reason)
        return
    try:
        # Counted in the pass's conference, else the session's, else the site's current.
        conference_id = claims.conference_id if claims is not None else (
            checkin_sites.known_conference(db, site_id=site_id, session_id=session_id))
        scan_audit.scanned(bind, conference_id=conference_id, site_id=site_id,
                           session_id=session_id, method=scan.method, outcome=reason)
        db.add(
            ScanFailure(
                conference_id=conference_id,
                site_id=scan.site_id,
                session_key=scan.session_id or CONFERENCE_LEVEL,
                # Only the start of one of our own passes (verified, then refused: expired,
                # revoked, another conference). Anything else scanned is not kept: it can be
                # a citizen ID card's QR or any other personal text (Law 91/2025).
                code_prefix=_printable(scan.code) if claims is not None else "",
                reason=reason[:40],
                method=scan.method,
                device=scan.device,
                actor_id=scan.actor.id if scan.actor else None,
            )
        )
        if not batched:  # a batch's failure undoes the batch: its scans go one by one
            db.commit()
    except SQLAlchemyError:
        if batched:
            raise
        db.rollback()
        log.exception("could not record a failed scan")


def _device(device: str | None) -> str | None:
    if device is None:
        return None
    cleaned = _printable(device[:100]).strip()
    return cleaned[:100] or None


def check_in(
    db: Session,
    *,
    code: str,
    site_id: int,
    actor: User | None,
    session_id: int | None = None,
    nonce: str | None = None,
    device: str | None = None,
    method: str = "scan",
    settings: Settings,
    publish: Publish | None = None,
    at: datetime | None = None,
) -> CheckinResult:
    """Check an attendee in at a site by pass code or short code: exactly once per session.

    A first scan answers "checked_in"; later scans "already_checked_in" with when and
    where; a retry with the same `nonce` gets the first answer again. A refused scan
    raises a typed error (stable `code`) and is recorded in `scan_failure`.
    """
    scan = new_scan(code=code, site_id=site_id, session_id=session_id, nonce=nonce,
                    device=device, method=method, actor=actor, at=at)
    claims: qr.PassClaims | None = None
    try:
        claims, short_code = read_code(db, code, settings, at)
        result = record(db, scan, claims, short_code, settings)
    except AppError as exc:
        note_failure(db, scan, exc.code, claims)
        raise
    announce(db, scan, result, publish)
    return result


def new_scan(*, code: str, site_id: int, actor: User | None, session_id: int | None = None,
             nonce: str | None = None, device: str | None = None,
             method: str = "scan", at: datetime | None = None) -> Scan:
    """What a scan asks for (its device name cleaned), before the database is touched."""
    return Scan(code=code, site_id=site_id, session_id=session_id, nonce=nonce,
                device=_device(device), method=method, actor=actor, at=at)


def read_code(
    db: Session, code: str, settings: Settings, at: datetime | None = None
) -> tuple[qr.PassClaims | None, str | None]:
    """A pass's verified claims (judged at `at`, default now), or a short code
    normalised; `pass_*` errors otherwise."""
    if qr.looks_like_pass(code) or len(code) > qr.MAX_CODE_CHARS:
        return _claims(db, code, settings, at), None
    short_code = normalize_short_code(code)
    if short_code is None:
        raise errors.PassMalformed()
    return None, short_code


def announce(db: Session, scan: Scan, result: CheckinResult, publish: Publish | None) -> None:
    """After the COMMIT: a counter bump for the audit log's batch summary (no I/O), and
    the new check-in on the attendance channel."""
    scan_audit.scanned(db.get_bind(), conference_id=result.conference_id,
                       site_id=scan.site_id, session_id=scan.session_id, method=scan.method,
                       outcome=result.status)
    if publish is not None:
        _announce(publish, result, scan.site_id)


def _announce(publish: Publish, result: CheckinResult, site_id: int) -> None:
    """One message per new check-in: the session's (saying whether the conference level
    counts it too), or a conference-level one when only that row was new."""
    first = result.first and not result.replayed
    if not first and not result.conference_first:
        return
    publish(events.attendance_channel(result.conference_id), events.encode_checkin(
        conference_id=result.conference_id, site_id=site_id,
        session_id=result.session_id if first else None, attendee_id=result.attendee.id,
        foreign_site=result.foreign_site, at=result.checked_in_at,
        conference=result.conference_first,
    ))


# ------------------------------------------------------------ self check-in


def self_checkin_site(
    db: Session, *, site_token: str, settings: Settings, now: float | None = None
) -> SiteView:
    """The site a screen's rotating QR names, if genuine and current (no login needed), as
    the conference current there sees it."""
    site_id = site_tokens.verify_self_token(site_token, settings, now).site_id
    site = db.get(Site, site_id)
    if site is None:
        raise errors.SiteQrInvalid()
    return checkin_sites.current_view(db, site=site)


def self_check_in(
    db: Session,
    *,
    site_token: str,
    code: str,
    settings: Settings,
    publish: Publish | None = None,
    session_id: int | None = None,
    nonce: str | None = None,
    now: float | None = None,
) -> CheckinResult:
    """An attendee checks themself in after scanning the QR on their site's screen."""
    try:
        site_id = site_tokens.verify_self_token(site_token, settings, now).site_id
    except AppError as exc:
        note_failure(db, Scan(code=code, site_id=0, session_id=session_id, nonce=None,
                                device="self", method="self", actor=None), exc.code)
        raise
    return check_in(
        db, code=code, site_id=site_id, actor=None, session_id=session_id, nonce=nonce,
        device="self", method="self", settings=settings, publish=publish,
    )
