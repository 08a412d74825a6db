"""Scans that queued together (group commit, `app.group_commit`): one transaction and
one COMMIT for all of them, each session scan in a SAVEPOINT of its own.

A refused session scan can have written before it is refused (it writes the
conference-level row in the same statement; a clash can still be another scan's nonce):
its SAVEPOINT is rolled back, so nothing of it stays but its `scan_failure` row, written
in the batch's transaction. An unexpected failure rolls the batch back and each scan is
tried alone (`service.check_in`), so it stays with the scan that caused it. Announcing
(the audit counter, the attendance channel) waits for the COMMIT, as for a lone scan.
"""

from collections.abc import Callable, Sequence

from sqlmodel import Session

from app.audit.context import Actor, acting, current_actor
from app.config import Settings
from app.errors import AppError
from app.group_commit import Outcome
from app.realtime import Publish
from checkin import qr, service
from checkin.service import CheckinResult, Scan

#: A last word on a scan once its code is read (an offline scan's time): raises to refuse.
Judge = Callable[[Session, Scan, qr.PassClaims | None], None]


def check_in_many(
    db: Session, *, scans: Sequence[Scan], settings: Settings, publish: Publish | None,
    actors: Sequence[Actor] | None = None, judge: Judge | None = None,
) -> list[Outcome[CheckinResult]]:
    """`service.check_in` for scans that queued together: one outcome per scan, in
    order (its result, or the error it alone raised). `actors`: each scan's request's
    actor, so the audit log counts each scan as its own (default: the current one)."""
    each = list(actors) if actors is not None else [current_actor()] * len(scans)
    outcomes: list[Outcome[CheckinResult]] = []
    try:
        for scan, actor in zip(scans, each, strict=True):
            with acting(actor):
                outcomes.append(_one(db, scan, settings, judge))
        db.commit()
    except Exception:
        db.rollback()
        outcomes = []
        for scan, actor in zip(scans, each, strict=True):
            with acting(actor):
                outcomes.append(_alone(db, scan, settings, publish, judge))
        return outcomes
    for scan, actor, outcome in zip(scans, each, outcomes, strict=True):
        if not isinstance(outcome, Exception):
            with acting(actor):
                service.announce(db, scan, outcome, publish)
    return outcomes


def _one(db: Session, scan: Scan, settings: Settings,
         judge: Judge | None) -> Outcome[CheckinResult]:
    claims = None
    try:
        claims, short_code = service.read_code(db, scan.code, settings, scan.at)
        if judge is not None:
            judge(db, scan, claims)
        if scan.session_id is None:
            # One INSERT … ON CONFLICT DO NOTHING, and every refusal is decided before it
            # or after it wrote nothing: no SAVEPOINT needed (two statements per scan less).
            return service.record(db, scan, claims, short_code, settings, commit=False)
        with db.begin_nested():  # a refusal can follow the conference row's insert
            return service.record(db, scan, claims, short_code, settings, commit=False)
    except AppError as exc:
        service.note_failure(db, scan, exc.code, claims, batched=True)
        return exc


def _alone(db: Session, scan: Scan, settings: Settings, publish: Publish | None,
           judge: Judge | None) -> Outcome[CheckinResult]:
    try:
        if judge is not None:
            claims = None
            try:
                claims, _ = service.read_code(db, scan.code, settings, scan.at)
                judge(db, scan, claims)
            except AppError as exc:
                service.note_failure(db, scan, exc.code, claims)
                return exc
        return service.check_in(
            db, code=scan.code, site_id=scan.site_id, actor=scan.actor,
            session_id=scan.session_id, nonce=scan.nonce, device=scan.device,
            method=scan.method, settings=settings, publish=publish, at=scan.at)
    except Exception as exc:
        db.rollback()
        return exc
