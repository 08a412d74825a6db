"""Offline sync: a site that was cut off sends back what it queued, applied in order.

Scans go through the same path as a live scan (`checkin.scan_batch`): the attendance
row's unique keys make each one exactly once, against a replay of the queue and against
the same person scanned online at another desk meanwhile (then the earlier check-in
stands and the item answers "already"). A scan is recorded at the time it happened at
the site; a time in the future (beyond a small clock skew), older than the configured
limit (a device with a wrong clock), outside its session or outside the conference's
days is refused with a code. Headcounts, readiness and incidents are applied in queue
order, each once (`OfflineReceipt`). Whatever is refused is answered with its code and
kept in `scan_failure` like a refused live scan.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.config import Settings
from app.db import LOCAL_TZ, utcnow
from app.errors import AppError
from app.realtime import Publish
from checkin import errors, events, headcounts, qr, scan_batch, service
from checkin import sites as checkin_sites
from checkin.offline_models import (
    HeadcountItem,
    IncidentItem,
    OfflineReceipt,
    OfflineSync,
    Outcome,
    ScanItem,
    Status,
    SyncItem,
)
from checkin.service import CheckedAttendee, CheckinResult, Scan
from endpoints import rollcall
from endpoints import service as endpoints_service
from endpoints.models import Conference, Readiness
from sessions.models import ConferenceSession

#: A session's check-in opens this long before it starts (people queue at the door).
SESSION_EARLY = timedelta(hours=2)


@dataclass(frozen=True)
class ItemResult:
    """What became of one queued item."""

    nonce: str
    kind: str
    outcome: Outcome
    status: Status | None = None
    code: str | None = None
    detail: str | None = None
    at: datetime | None = None
    attendee: CheckedAttendee | None = None
    conference_id: int | None = None
    new_checkin: bool = False  # a check-in this sync added (not a replay, not "already")


@dataclass
class SyncTally:
    """A sync request's figures, summed over the trips it took through the write gate."""

    checkins: int = 0
    applied: int = 0
    refused: int = 0
    oldest: datetime | None = None
    conference_id: int | None = None
    results: list[ItemResult] = field(default_factory=list)

    def add(self, results: Sequence[ItemResult], items: Sequence[SyncItem]) -> None:
        """Count a chunk's results (with their items, for the oldest time)."""
        for result, item in zip(results, items, strict=True):
            self.results.append(result)
            at = _utc(item.at)
            self.oldest = at if self.oldest is None else min(self.oldest, at)
            if result.outcome == "refused":
                self.refused += 1
            elif result.kind == "scan":
                self.checkins += int(result.new_checkin)
            else:
                self.applied += 1
            if self.conference_id is None and result.conference_id is not None:
                self.conference_id = result.conference_id


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


class Judge:
    """The time rules of a queued item: not in the future, not too old, inside its session
    (or the conference's days, for a conference-level scan). One per sync request: the
    windows are read once and kept as plain values, across its trips and sessions."""

    def __init__(self, settings: Settings, now: datetime) -> None:
        self.latest = now + timedelta(seconds=settings.offline_clock_skew_seconds)
        self.earliest = now - timedelta(minutes=settings.offline_max_age_minutes)
        self._sessions: dict[int, tuple[datetime, datetime] | None] = {}
        self._conferences: dict[int, tuple[date, date] | None] = {}

    def clock(self, at: datetime) -> None:
        """Refuse a time the site's clock cannot have had."""
        if at > self.latest:
            raise errors.ScanTimeFuture()
        if at < self.earliest:
            raise errors.ScanTooOld()

    def __call__(self, db: Session, scan: Scan, claims: qr.PassClaims | None) -> None:
        """`scan_batch.Judge`: a scan's time against the clock and its session or days."""
        assert scan.at is not None
        self.clock(scan.at)
        if scan.session_id is not None:
            window = self._session(db, scan.session_id)
            if window is None:
                return  # the scan itself is refused session_not_found
            if not window[0] - SESSION_EARLY <= scan.at <= window[1]:
                raise errors.ScanTimeOutsideSession()
            return
        cid = claims.conference_id if claims is not None else checkin_sites.known_conference(
            db, site_id=scan.site_id, session_id=None)
        days = self._conference(db, cid) if cid is not None else None
        if days is None:
            return  # refused by the scan itself (another conference, not taking part)
        day = scan.at.astimezone(LOCAL_TZ).date()
        if not days[0] <= day <= days[1]:
            raise errors.ScanTimeOutsideConference()

    def _session(self, db: Session, session_id: int) -> tuple[datetime, datetime] | None:
        if session_id not in self._sessions:
            row = db.get(ConferenceSession, session_id)
            self._sessions[session_id] = None if row is None else (row.starts_at, row.ends_at)
        return self._sessions[session_id]

    def _conference(self, db: Session, conference_id: int) -> tuple[date, date] | None:
        if conference_id not in self._conferences:
            row = db.get(Conference, conference_id)
            self._conferences[conference_id] = (
                None if row is None else (row.starts_on, row.ends_on))
        return self._conferences[conference_id]


def judge_for(settings: Settings) -> Judge:
    """The time rules of a sync request arriving now."""
    return Judge(settings, utcnow())


def sync_items(
    db: Session, *, site_id: int, items: Sequence[SyncItem], device: str | None,
    actor: User, settings: Settings, publish: Publish | None, now: datetime | None = None,
    judge: Judge | None = None, in_scope: bool = False,
) -> list[ItemResult]:
    """Apply queued items of one site in order: one result per item. Runs of scans go
    in one transaction (`scan_batch`); each other item in its own. A request applied in
    several trips passes its `judge` along, and `in_scope` once the scope was checked."""
    if not in_scope:
        endpoints_service.get_site(db, site_id=site_id, actor=actor)  # 404 / 403 first
        db.rollback()  # what the scope check read is not held while items are applied
    judge = judge or Judge(settings, now or utcnow())
    results: list[ItemResult] = []
    run: list[ScanItem] = []
    for item in [*items, None]:
        if isinstance(item, ScanItem):
            run.append(item)
            continue
        if run:
            results += _scans(db, run, site_id=site_id, device=device, actor=actor,
                              settings=settings, publish=publish, judge=judge)
            run = []
        if item is not None:
            results.append(_apply(db, item, site_id=site_id, actor=actor, judge=judge,
                                  publish=publish))
    return results


def _scans(
    db: Session, items: Sequence[ScanItem], *, site_id: int, device: str | None, actor: User,
    settings: Settings, publish: Publish | None, judge: Judge,
) -> list[ItemResult]:
    scans = [service.new_scan(code=i.code, site_id=site_id, actor=actor,
                              session_id=i.session_id, nonce=i.nonce, device=device,
                              method=i.method, at=_utc(i.at)) for i in items]
    done = scan_batch.check_in_many(db, scans=scans, settings=settings, publish=publish,
                                    judge=judge)
    return [_scan_result(item, outcome) for item, outcome in zip(items, done, strict=True)]


def _scan_result(item: ScanItem, outcome: CheckinResult | Exception) -> ItemResult:
    if isinstance(outcome, AppError):
        return ItemResult(nonce=item.nonce, kind="scan", outcome="refused",
                          code=outcome.code, detail=outcome.detail)
    if isinstance(outcome, Exception):
        # An unexpected failure of this scan alone (its batch was retried one by one).
        return ItemResult(nonce=item.nonce, kind="scan", outcome="refused",
                          code="internal_error", detail="Lỗi máy chủ; hãy đồng bộ lại sau.")
    new = outcome.status == "checked_in"
    return ItemResult(
        nonce=item.nonce, kind="scan", outcome="accepted" if new else "already",
        status=outcome.status, at=outcome.checked_in_at, attendee=outcome.attendee,
        conference_id=outcome.conference_id, new_checkin=new and not outcome.replayed)


def _apply(
    db: Session, item: HeadcountItem | IncidentItem | SyncItem, *, site_id: int, actor: User,
    judge: Judge, publish: Publish | None,
) -> ItemResult:
    """A headcount, readiness or incident, once: its receipt commits with it."""
    at = _utc(item.at)
    done = ItemResult(nonce=item.nonce, kind=item.kind, outcome="accepted", status="applied",
                      at=at)
    try:
        judge.clock(at)
        if _applied_before(db, site_id=site_id, nonce=item.nonce):
            return done  # a replay of the queue: nothing applied twice
        db.add(OfflineReceipt(site_id=site_id, nonce=item.nonce, kind=item.kind, at=at))
        if isinstance(item, HeadcountItem):
            report = headcounts.report_headcount(
                db, site_id=site_id, session_id=item.session_id,
                counts={str(k): v for k, v in item.counts.items()}, actor=actor,
                publish=publish, at=at)
            cid = report.conference_id
        elif isinstance(item, IncidentItem):
            cid = rollcall.report_incident(db, site_id=site_id, reason=item.reason,
                                           actor=actor, publish=publish, at=at).conference_id
        else:
            view = rollcall.declare_ready(db, site_id=site_id, readiness=Readiness.ready,
                                          actor=actor, publish=publish, at=at)
            cid = view.conference_id
    except AppError as exc:
        db.rollback()
        return ItemResult(nonce=item.nonce, kind=item.kind, outcome="refused", code=exc.code,
                          detail=exc.detail)
    except IntegrityError:
        db.rollback()  # the same queue synced twice at once: the other one applied it
        return done
    return ItemResult(nonce=done.nonce, kind=done.kind, outcome="accepted", status="applied",
                      at=at, conference_id=cid)


def _applied_before(db: Session, *, site_id: int, nonce: str) -> bool:
    return db.exec(select(col(OfflineReceipt.id)).where(
        col(OfflineReceipt.site_id) == site_id, col(OfflineReceipt.nonce) == nonce)
    ).first() is not None


def record_sync(
    db: Session, *, site_id: int, tally: SyncTally, device: str | None,
    publish: Publish | None, now: datetime | None = None,
) -> OfflineSync | None:
    """Keep one row for a sync that carried items and tell the dashboards ("đồng bộ 312
    lượt điểm danh lúc 09:41"); None when the site is in no conference."""
    cid = tally.conference_id or checkin_sites.known_conference(db, site_id=site_id,
                                                                session_id=None)
    if cid is None or not tally.results:
        return None
    row = OfflineSync(conference_id=cid, site_id=site_id, synced_at=now or utcnow(),
                      checkins=tally.checkins, headcounts=tally.applied,
                      refused=tally.refused, oldest_at=tally.oldest,
                      device=service.new_scan(code="", site_id=site_id, actor=None,
                                              device=device).device)
    db.add(row)
    db.commit()
    db.refresh(row)
    if publish is not None:
        publish(events.attendance_channel(cid), events.encode_synced(
            conference_id=cid, site_id=site_id, checkins=row.checkins,
            headcounts=row.headcounts, refused=row.refused, oldest=row.oldest_at,
            at=row.synced_at))
    return row


def latest_syncs(db: Session, *, conference_id: int) -> dict[int, OfflineSync]:
    """Each site's last sync in a conference (what the dashboard shows after a reload)."""
    last = (select(func.max(OfflineSync.id))
            .where(col(OfflineSync.conference_id) == conference_id)
            .group_by(col(OfflineSync.site_id)))
    rows = db.exec(select(OfflineSync).where(col(OfflineSync.id).in_(last))).all()
    return {row.site_id: row for row in rows}
