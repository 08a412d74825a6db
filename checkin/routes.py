"""JSON API of check-in itself: scan, self check-in, check-out."""

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

from app.audit.context import Actor, acting, current_actor
from app.config import Settings
from app.db import DbSession, WriteGate, WriteGateDep
from app.deps import (
    BearerToken,
    CookieCsrf,
    CurrentUser,
    HubDep,
    SettingsDep,
    TokenCache,
    TokenCacheDep,
    bearer_token,
    find_user,
    verify_cookie_csrf,
)
from app.direct import json_body, replay, respond
from app.errors import AppError, app_error_response
from app.group_commit import Outcome
from app.realtime import Hub
from app.throttle import Rule, Throttle
from app.throttle_deps import ThrottleDep, client_address
from checkin import scan_batch, service
from checkin.follow_offer import follow_url
from checkin.models import (
    CheckedAttendee,
    CheckinPublic,
    CheckinRequest,
    CheckoutRequest,
    SelfCheckinPublic,
    SelfCheckinRequest,
)
from checkin.self_throttle import is_miss, self_attempts
from checkin.service import Scan

router = APIRouter(prefix="/api/v1")
# The scan routes alone, included first by app.main: a request is matched against the
# routers in order, and walking every other router first cost ~0.2 ms per scan.
scan_router = APIRouter(prefix="/api/v1")
_CHECKIN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "pass_malformed, pass_bad_signature, pass_unknown_key"},
    403: {"description": "site_out_of_scope"},
    404: {"description": "attendee_not_found, short_code_not_found, site_not_found, "
                         "session_not_found"},
    409: {"description": "pass_other_conference, pass_wrong_site, nonce_reused"},
    410: {"description": "pass_expired, pass_revoked, pass_key_revoked"},
}


def _checkin_public(result: service.CheckinResult) -> CheckinPublic:
    a = result.attendee
    return CheckinPublic(
        status=result.status,
        attendee=CheckedAttendee(id=a.id, full_name=a.full_name, unit=a.unit, site_id=a.site_id,
                                 site_name=a.site_name),
        checked_in_at=result.checked_in_at,
        site_id=result.site_id,
        site_name=result.site_name,
        session_id=result.session_id,
        foreign_site=result.foreign_site,
        first=result.first,
        replayed=result.replayed,
    )


def _encoded(result: service.CheckinResult) -> tuple[int, bytes]:
    status = 200 if result.status == "already_checked_in" else 201
    return status, _checkin_public(result).model_dump_json().encode()


@dataclass(frozen=True)
class ScanJob:
    """One scan waiting for the gate, with what its batch needs."""

    request: Request
    data: CheckinRequest
    bearer: str | None
    gate: WriteGate
    settings: Settings
    hub: Hub
    cache: TokenCache
    # The request's audit actor (its address; its user once found): the batch runs in a
    # context of its own, and each scan is counted as its request's.
    actor: Actor = field(default_factory=current_actor)


def scan_jobs(jobs: list[ScanJob]) -> list[Outcome[tuple[int, bytes]]]:
    """The scans that queued together, in the gate's thread: each one's user (validated
    tokens are cached a few seconds: no account lookup per scan), then all of them in one
    transaction (`scan_batch`), then each one's JSON (encoded here, off the event loop).
    All jobs of a batch come from one app: one gate, hub, settings."""
    first = jobs[0]
    outcomes: list[Outcome[tuple[int, bytes]] | None] = [None] * len(jobs)
    scans: list[tuple[int, Scan]] = []
    for i, job in enumerate(jobs):
        try:
            with acting(job.actor):  # the login found is this request's actor
                user = find_user(job.request, db=first.gate.read_session,
                                 settings=first.settings, bearer=job.bearer,
                                 cache=first.cache)
        except AppError as exc:
            outcomes[i] = exc
            continue
        d = job.data
        scans.append((i, service.new_scan(
            code=d.code, site_id=d.site_id, actor=user, session_id=d.session_id,
            nonce=d.nonce, device=d.device, method=d.method)))
    with first.gate.session() as db:
        done = scan_batch.check_in_many(
            db, scans=[s for _, s in scans], settings=first.settings,
            publish=first.hub.publish, actors=[jobs[i].actor for i, _ in scans])
    for (i, _), result in zip(scans, done, strict=True):
        outcomes[i] = result if isinstance(result, Exception) else _encoded(result)
    return [o for o in outcomes if o is not None]


@scan_router.post(
    "/checkins",
    response_model=CheckinPublic,
    status_code=201,
    tags=["checkins"],
    responses={200: {"description": "already_checked_in", "model": CheckinPublic},
               **_CHECKIN_ERRORS},
    dependencies=[CookieCsrf],  # async, before the body is read: no thread hop
)
async def check_in(
    data: CheckinRequest,
    request: Request,
    bearer: BearerToken,
    gate: WriteGateDep,
    settings: SettingsDep,
    hub: HubDep,
    cache: TokenCacheDep,
) -> Response:
    """Check a pass (QR code or short code) in at a site: 201 the first time, 200
    `already_checked_in` after (with when and where), 4xx with a stable `code` otherwise.
    Auth: bearer token, or the login cookie with `X-CSRF-Token`."""
    return await _scanned(request, data, bearer, gate=gate, settings=settings, hub=hub,
                          cache=cache)


async def _scanned(request: Request, data: CheckinRequest, bearer: str | None, *,
                   gate: WriteGate, settings: Settings, hub: Hub,
                   cache: TokenCache) -> Response:
    # Scans that arrive while the gate is busy go in together: one hop, one COMMIT.
    status, body = await gate.group(scan_jobs).submit(
        ScanJob(request, data, bearer, gate, settings, hub, cache))
    # Encoded in the worker thread; the declared response_model documents the shape.
    return Response(body, status_code=status, media_type="application/json")


#: The scans' path, for the shortcut past FastAPI's machinery (`app.direct`).
CHECKINS_PATH = "/api/v1/checkins"


async def check_in_direct(scope: Scope, receive: Receive, send: Send,
                          declared: ASGIApp) -> None:
    """`check_in` without FastAPI's request machinery (`app.direct`): the same CSRF
    check (before the body is read), auth, scan and error bodies; a body that is not a
    valid scan in JSON goes to the declared route, which refuses it as usual (422)."""
    request = Request(scope, receive)
    state = request.app.state
    try:
        bearer = await bearer_token(request)
        await verify_cookie_csrf(request, bearer)
    except AppError as exc:
        await app_error_response(request, exc)(scope, receive, send)
        return
    body = await request.body()
    data = json_body(request, body, CheckinRequest)
    if data is None:
        await declared(scope, replay(body, receive), send)
        return
    await respond(request, send, _scanned(
        request, data, bearer, gate=state.write_gate, settings=state.settings,
        hub=state.hub, cache=state.token_cache))


def self_public(result: service.CheckinResult, follow_url: str | None = None) -> SelfCheckinPublic:
    """The attendee's name and the site they stand at: never their unit or earlier scans."""
    return SelfCheckinPublic(status=result.status, full_name=result.attendee.full_name,
                             site_id=result.here_id, site_name=result.here_name,
                             follow_url=follow_url)


def _self_check_in(
    data: SelfCheckinRequest, gate: WriteGate, settings: Settings, hub: Hub,
    throttle: Throttle, attempts: tuple[tuple[Rule, str], ...], base: str,
) -> tuple[int, bytes]:
    throttle.check(*attempts)  # 429 before any database work for a client that must wait
    try:
        with gate.session() as db:
            result = service.self_check_in(
                db, site_token=data.site_token, code=data.code, settings=settings,
                publish=hub.publish, session_id=data.session_id, nonce=data.nonce,
            )
            # Remembered per process for a few seconds: no read on most check-ins.
            link = follow_url(db, base=base, conference_id=result.conference_id,
                              settings=settings)
    except AppError as exc:
        if is_miss(exc):  # the session is closed: its write lock is free again
            throttle.failed(*attempts)
        raise
    status = 200 if result.status == "already_checked_in" else 201
    return status, self_public(result, link).model_dump_json().encode()


@scan_router.post(
    "/checkins/self",
    response_model=SelfCheckinPublic,
    status_code=201,
    tags=["checkins"],
    responses={200: {"description": "already_checked_in", "model": SelfCheckinPublic},
               **_CHECKIN_ERRORS,
               410: {"description": "site_qr_expired, pass_expired, pass_revoked, "
                                    "pass_key_revoked"},
               429: {"description": "too_many_attempts (Retry-After)"}},
)
async def self_check_in(
    data: SelfCheckinRequest, request: Request, gate: WriteGateDep, settings: SettingsDep,
    hub: HubDep, throttle: ThrottleDep,
) -> Response:
    """Self check-in (no login): the token of the QR on the site screen plus the pass code.
    Answers only the attendee's name and this site (a guessed code learns nothing else).
    Repeated misses from one client, or at one site, are answered 429 with Retry-After."""
    attempts = self_attempts(settings, client=client_address(request), site_token=data.site_token)
    throttle.check_cached(*attempts)  # known to wait: refused here, no hop to the gate
    status, body = await gate.run(_self_check_in, data, gate, settings, hub, throttle, attempts,
                                  str(request.base_url))
    return Response(body, status_code=status, media_type="application/json")


class CheckoutPublic(BaseModel):
    attendee_id: int
    session_id: int | None
    site_id: int
    checked_in_at: Any
    checked_out_at: Any


@router.post(
    "/checkouts", response_model=CheckoutPublic, tags=["checkins"], dependencies=[CookieCsrf]
)
def check_out(
    data: CheckoutRequest, db: DbSession, user: CurrentUser, hub: HubDep
) -> CheckoutPublic:
    """Note that a checked-in attendee left."""
    row = service.check_out(
        db, attendee_id=data.attendee_id, session_id=data.session_id, actor=user,
        publish=hub.publish,
    )
    return CheckoutPublic(
        attendee_id=row.attendee_id, session_id=data.session_id, site_id=row.site_id,
        checked_in_at=row.checked_in_at, checked_out_at=row.checked_out_at,
    )
