"""JSON API of check-in itself: scan, self check-in, check-out."""

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

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
    find_user,
)
from app.errors import AppError
from app.realtime import Hub
from app.throttle import Rule, Throttle
from app.throttle_deps import ThrottleDep, client_address
from checkin import service
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


def _scan_and_encode(
    request: Request,
    data: CheckinRequest,
    bearer: str | None,
    gate: WriteGate,
    settings: Settings,
    hub: Hub,
    cache: TokenCache,
) -> tuple[int, bytes]:
    """Auth, the check-in and the JSON encoding in one hop to the gate's thread (the
    hot path of a burst: FastAPI would spend a thread hop on each sync dependency)."""
    # Validated tokens are cached for a few seconds: no account lookup (no session) per scan.
    user = find_user(request, db=gate.read_session, settings=settings, bearer=bearer, cache=cache)
    with gate.session() as db:
        result = service.check_in(
            db, code=data.code, site_id=data.site_id, actor=user, session_id=data.session_id,
            nonce=data.nonce, device=data.device, method=data.method, settings=settings,
            publish=hub.publish,
        )
    return _encoded(result)


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
    status, body = await gate.run(
        _scan_and_encode, request, data, bearer, gate, settings, hub, cache
    )
    # Encoded in the worker thread; the declared response_model documents the shape.
    return Response(body, status_code=status, media_type="application/json")


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
