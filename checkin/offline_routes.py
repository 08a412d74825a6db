"""JSON API of offline sync: a site's queued scans, headcounts and incidents, sent back."""

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter

from app.accounts.models import User
from app.config import Settings
from app.db import WriteGate, WriteGateDep, utcnow
from app.deps import CookieCsrf, CurrentUser, HubDep, SettingsDep
from app.realtime import Hub
from checkin import offline_sync
from checkin.models import CheckedAttendee
from checkin.offline_models import SyncItem, SyncPublic, SyncRequest, SyncResultPublic
from checkin.offline_sync import ItemResult, Judge, SyncTally

router = APIRouter(prefix="/api/v1")
#: Items per trip through the write gate. Trips of every queue take turns, and only when
#: no live write waits (`WriteGate.run_behind`): a live scan elsewhere waits for one trip
#: at most (2 items, a few ms), not for every island's queue sent at the same moment.
CHUNK = 2
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not_authenticated (the device lost its login: keep the queue)"},
    403: {"description": "site_out_of_scope"},
    404: {"description": "site_not_found"},
    422: {"description": "validation_error (more than 500 items, a time without offset…)"},
}


@dataclass(frozen=True)
class _Trip:
    """What every trip of one sync request shares."""

    gate: WriteGate
    site_id: int
    device: str | None
    user: User
    settings: Settings
    hub: Hub
    judge: Judge


def _chunk(trip: _Trip, items: list[SyncItem], in_scope: bool) -> list[ItemResult]:
    with trip.gate.session() as db:
        return offline_sync.sync_items(
            db, site_id=trip.site_id, items=items, device=trip.device, actor=trip.user,
            settings=trip.settings, publish=trip.hub.publish, judge=trip.judge,
            in_scope=in_scope)


def _record(gate: WriteGate, site_id: int, tally: SyncTally, device: str | None,
            hub: Hub) -> None:
    with gate.session() as db:
        offline_sync.record_sync(db, site_id=site_id, tally=tally, device=device,
                                 publish=hub.publish)


def _public(result: ItemResult) -> SyncResultPublic:
    a = result.attendee
    return SyncResultPublic(
        nonce=result.nonce, kind=result.kind, outcome=result.outcome, status=result.status,
        code=result.code, detail=result.detail, at=result.at,
        attendee=None if a is None else CheckedAttendee(
            id=a.id, full_name=a.full_name, unit=a.unit, site_id=a.site_id,
            site_name=a.site_name))


@router.post("/sites/{site_id}/sync", response_model=SyncPublic, tags=["checkins"],
             responses=_ERRORS, dependencies=[CookieCsrf])
async def sync(site_id: int, data: SyncRequest, user: CurrentUser, gate: WriteGateDep,
               settings: SettingsDep, hub: HubDep) -> SyncPublic:
    """What a site's scanner queued while cut off (≤ 500 items a request, in queue order):
    scans recorded at the time they happened, exactly once (a replay of the queue, or a
    person also scanned online meanwhile, counts once); headcounts, readiness and
    incidents applied in order, once. Each item gets `accepted`, `already` or `refused`
    with its `code`. Auth: bearer token, or the login cookie with `X-CSRF-Token`."""
    tally = SyncTally()
    trip = _Trip(gate, site_id, data.device, user, settings, hub, offline_sync.judge_for(settings))
    for start in range(0, len(data.items), CHUNK):
        chunk = data.items[start:start + CHUNK]
        # The scope is checked on the first trip (403 before anything is applied).
        tally.add(await gate.run_behind(_chunk, trip, chunk, start > 0), chunk)
    await gate.run(_record, gate, site_id, tally, data.device, hub)
    results = tally.results
    return SyncPublic(
        results=[_public(r) for r in results],
        accepted=sum(r.outcome == "accepted" for r in results),
        already=sum(r.outcome == "already" for r in results),
        refused=tally.refused, synced_at=utcnow())
