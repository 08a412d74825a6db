"""JSON API of offline sync: a site's queued scans, headcounts and incidents, sent back."""

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
from checkin.offline_sync import ItemResult, SyncTally

router = APIRouter(prefix="/api/v1")
#: Items per trip through the write gate. Trips of every queue take turns, and only when
#: no live write waits (`WriteGate.run_behind`): a live scan elsewhere waits for one trip
#: at most (5 items, ~6 ms), not for every island's queue sent at the same moment.
CHUNK = 5
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not_authenticated (the device lost its login: keep the queue)"},
    403: {"description": "site_out_of_scope"},
    404: {"description": "site_not_found"},
    422: {"description": "validation_error (more than 500 items, a time without offset…)"},
}


def _chunk(gate: WriteGate, site_id: int, items: list[SyncItem], device: str | None,
           user: User, settings: Settings, hub: Hub) -> list[ItemResult]:
    with gate.session() as db:
        return offline_sync.sync_items(db, site_id=site_id, items=items, device=device,
                                       actor=user, settings=settings, publish=hub.publish)


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
    for start in range(0, len(data.items), CHUNK):
        chunk = data.items[start:start + CHUNK]
        tally.add(await gate.run_behind(_chunk, gate, site_id, chunk, data.device, user,
                                        settings, hub), chunk)
    await gate.run(_record, gate, site_id, tally, data.device, hub)
    results = tally.results
    return SyncPublic(
        results=[_public(r) for r in results],
        accepted=sum(r.outcome == "accepted" for r in results),
        already=sum(r.outcome == "already" for r in results),
        refused=tally.refused, synced_at=utcnow())
