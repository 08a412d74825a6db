"""JSON API of check-in: parse → service → schema."""

import asyncio
import io
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from functools import lru_cache
from typing import Annotated, Any

import qrcode
import qrcode.constants
import qrcode.image.svg
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.config import Settings
from app.db import DbSession, ReadDbSession
from app.deps import (
    CookieCsrf,
    CurrentUser,
    HubDep,
    SettingsDep,
    cached_user_for_token,
    verify_cookie_csrf,
)
from app.errors import NotAuthenticated, PayloadTooLarge
from app.security import SESSION_COOKIE
from checkin import attendance as attendance_counts
from checkin import errors, headcounts, keys, roster, service
from checkin.models import (
    AttendancePublic,
    Attendee,
    AttendeeCreate,
    AttendeePublic,
    CheckedAttendee,
    CheckinPublic,
    CheckinRequest,
    CheckoutRequest,
    Headcount,
    HeadcountCreate,
    HeadcountPublic,
    PassKeyPublic,
    SelfCheckinRequest,
    SiteAttendancePublic,
)
from endpoints import service as endpoints_service
from endpoints import uploads

router = APIRouter(prefix="/api/v1")
# The scan routes alone, included first by app.main: a request is matched against the
# routers in order, and walking every other router first cost ~0.2 ms per scan.
scan_router = APIRouter(prefix="/api/v1")
_executor_lock = threading.Lock()
_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
MAX_ATTENDEES_PER_REQUEST = 10_000
_CHECKIN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "pass_malformed, pass_bad_signature, pass_unknown_key"},
    403: {"description": "site_out_of_scope"},
    404: {"description": "attendee_not_found, short_code_not_found, site_not_found, "
                         "session_not_found"},
    409: {"description": "pass_other_conference, pass_wrong_site, nonce_reused"},
    410: {"description": "pass_expired, pass_revoked"},
}


# ------------------------------------------------------------------ roster


def _public(attendee: Attendee, code: str) -> AttendeePublic:
    assert attendee.id is not None
    return AttendeePublic(
        id=attendee.id,
        conference_id=attendee.conference_id,
        code=code,
        short_code=attendee.short_code,
        full_name=attendee.full_name,
        site_id=attendee.site_id,
        unit=attendee.unit,
        position=attendee.position,
        pass_version=attendee.pass_version,
        revoked=attendee.revoked,
    )


@router.post(
    "/conferences/{conference_id}/attendees",
    response_model=list[AttendeePublic],
    status_code=201,
    tags=["attendees"],
    dependencies=[CookieCsrf],
)
def create_attendees(
    conference_id: int,
    items: list[AttendeeCreate],
    db: DbSession,
    user: CurrentUser,
    settings: SettingsDep,
) -> list[AttendeePublic]:
    """Add attendees (at most 10,000 per call); each answer carries `code`, what the QR encodes."""
    if len(items) > MAX_ATTENDEES_PER_REQUEST:
        raise PayloadTooLarge("Tối đa 10.000 đại biểu mỗi lần; hãy chia nhỏ hoặc nhập bằng tệp.")
    created = roster.create_attendees(db, conference_id=conference_id, items=items, actor=user)
    return [_public(a, roster.issue_pass(db, attendee=a, settings=settings)) for a in created]


class AttendeeImportResult(BaseModel):
    """What an accepted roster import did."""

    created: int
    rows: int
    encoding: str
    warnings: list[str]
    by_site: dict[str, int]
    seconds: dict[str, float]


@router.post(
    "/conferences/{conference_id}/attendees/import",
    response_model=AttendeeImportResult,
    status_code=201,
    tags=["attendees"],
    dependencies=[CookieCsrf],
    responses={
        413: {"description": "file_too_large, too_many_rows"},
        415: {"description": "unsupported_file, encoding_unsupported"},
        422: {"description": "import_invalid (with per-line `errors`), missing_columns"},
    },
)
async def import_attendees(
    conference_id: int,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    settings: SettingsDep,
    filename: Annotated[str | None, Query(max_length=200)] = None,
) -> AttendeeImportResult:
    """Import a roster from CSV/XLSX (multipart field `file`, or a raw text/csv body with
    `?filename=`): họ và tên, mã điểm cầu, đơn vị, chức vụ, số điện thoại. All or none."""
    upload = await uploads.read_upload(
        request, max_bytes=settings.max_import_bytes, filename=filename
    )
    report = await run_in_threadpool(
        roster.import_attendees,
        db,
        conference_id=conference_id,
        filename=upload.filename,
        data=upload.data,
        actor=user,
        max_bytes=settings.max_import_bytes,
        max_rows=settings.max_roster_rows,
    )
    return AttendeeImportResult(**asdict(report))


class AttendeeListItem(BaseModel):
    id: int
    full_name: str
    unit: str | None
    position: str | None
    site_id: int
    site_name: str
    short_code: str


@router.get(
    "/conferences/{conference_id}/attendees",
    response_model=list[AttendeeListItem],
    tags=["attendees"],
)
def search_attendees(
    conference_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=200)] = "",
    site_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[AttendeeListItem]:
    """Attendees by name (no accents needed; each word a prefix) or short code, in
    Vietnamese order; `site_id` narrows to a site and those below it."""
    found = roster.search_attendees(
        db, conference_id=conference_id, q=q, actor=user, site_id=site_id, limit=limit
    )
    names = roster.site_names(db, site_ids=[a.site_id for a in found])
    return [
        AttendeeListItem(
            id=a.id or 0, full_name=a.full_name, unit=a.unit, position=a.position,
            site_id=a.site_id, site_name=names.get(a.site_id, ""), short_code=a.short_code,
        )
        for a in found
    ]


@router.get("/attendees/{attendee_id}", response_model=AttendeePublic, tags=["attendees"])
def get_attendee(
    attendee_id: int, db: ReadDbSession, user: CurrentUser, settings: SettingsDep
) -> AttendeePublic:
    """One attendee with their pass code."""
    attendee = roster.get_attendee(db, attendee_id=attendee_id, actor=user)
    return _public(attendee, roster.issue_pass(db, attendee=attendee, settings=settings))


@router.delete(
    "/attendees/{attendee_id}", status_code=204, tags=["attendees"], dependencies=[CookieCsrf]
)
def delete_attendee(attendee_id: int, db: DbSession, user: CurrentUser) -> None:
    """Take an attendee off the roster; their pass is refused from now on."""
    roster.delete_attendee(db, attendee_id=attendee_id, actor=user)


@router.post(
    "/attendees/{attendee_id}/reissue",
    response_model=AttendeePublic,
    tags=["attendees"],
    dependencies=[CookieCsrf],
)
def reissue_pass(
    attendee_id: int, db: DbSession, user: CurrentUser, settings: SettingsDep
) -> AttendeePublic:
    """A new pass and short code; every earlier pass of this attendee is refused."""
    attendee = roster.reissue_pass(db, attendee_id=attendee_id, actor=user)
    return _public(attendee, roster.issue_pass(db, attendee=attendee, settings=settings))


def _qr(text: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, box_size=8)
    code.add_data(text)
    code.make(fit=True)
    return code


def qr_png(text: str) -> bytes:
    """A QR of `text` as PNG."""
    buf = io.BytesIO()
    _qr(text).make_image().save(buf)
    return buf.getvalue()


def qr_svg(text: str) -> bytes:
    """A QR of `text` as SVG (one path: small and crisp at any size)."""
    buf = io.BytesIO()
    _qr(text).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buf)
    return buf.getvalue()


_NO_STORE = {"Cache-Control": "private, no-store"}


@router.get(
    "/attendees/{attendee_id}/pass.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
    tags=["attendees"],
)
def pass_png(
    attendee_id: int, db: ReadDbSession, user: CurrentUser, settings: SettingsDep
) -> Response:
    """The pass QR as PNG."""
    attendee = roster.get_attendee(db, attendee_id=attendee_id, actor=user)
    code = roster.issue_pass(db, attendee=attendee, settings=settings)
    return Response(qr_png(code), media_type="image/png", headers=_NO_STORE)


@router.get(
    "/attendees/{attendee_id}/pass.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
    tags=["attendees"],
)
def pass_svg(
    attendee_id: int, db: ReadDbSession, user: CurrentUser, settings: SettingsDep
) -> Response:
    """The pass QR as SVG."""
    attendee = roster.get_attendee(db, attendee_id=attendee_id, actor=user)
    code = roster.issue_pass(db, attendee=attendee, settings=settings)
    return Response(qr_svg(code), media_type="image/svg+xml", headers=_NO_STORE)


@router.get("/pass-keys", response_model=list[PassKeyPublic], tags=["attendees"])
def pass_keys(db: ReadDbSession) -> list[PassKeyPublic]:
    """Public keys of every pass-signing key (Ed25519, raw 32 bytes in base64), for
    verifying passes offline; public by design."""
    return [
        PassKeyPublic(kid=k.kid, public_key=k.public_key, created_at=k.created_at,
                      retired_at=k.retired_at)
        for k in keys.list_keys(db.get_bind())
    ]


# ---------------------------------------------------------------- check-in


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


def _scan_executor(request: Request) -> ThreadPoolExecutor | None:
    """On SQLite, one thread per process does every check-in: writes take turns anyway,
    and one thread avoids dozens of pool threads fighting over the GIL and the lock
    during a burst. PostgreSQL takes writers in parallel: the shared pool (None)."""
    state = request.app.state
    executor: ThreadPoolExecutor | None = getattr(state, "checkin_executor", None)
    if executor is None and state.settings.is_sqlite:
        with _executor_lock:
            executor = getattr(state, "checkin_executor", None)
            if executor is None:
                executor = ThreadPoolExecutor(1, thread_name_prefix="checkin")
                state.checkin_executor = executor
                weakref.finalize(request.app, executor.shutdown, False)
    return executor


def _scan_in_thread(
    request: Request, data: CheckinRequest, bearer: str | None
) -> service.CheckinResult:
    """Auth, CSRF and the check-in in one worker-thread hop (the hot path of a burst:
    FastAPI would spend a thread hop on each sync dependency)."""
    state = request.app.state
    settings: Settings = state.settings
    # Validated tokens are cached for a few seconds: no account lookup per scan.
    user = cached_user_for_token(request, bearer) or cached_user_for_token(
        request, request.cookies.get(SESSION_COOKIE)
    )
    if user is None:
        raise NotAuthenticated()
    verify_cookie_csrf(request, bearer)
    with Session(state.engine, expire_on_commit=False) as db:
        return service.check_in(
            db, code=data.code, site_id=data.site_id, actor=user, session_id=data.session_id,
            nonce=data.nonce, device=data.device, method=data.method, settings=settings,
            publish=state.hub.publish,
        )


@scan_router.post(
    "/checkins",
    response_model=CheckinPublic,
    status_code=201,
    tags=["checkins"],
    responses={200: {"description": "already_checked_in", "model": CheckinPublic},
               **_CHECKIN_ERRORS},
)
async def check_in(
    data: CheckinRequest,
    request: Request,
    bearer: Annotated[str | None, Depends(_bearer)],
) -> Response:
    """Check a pass (QR code or short code) in at a site: 201 the first time, 200
    `already_checked_in` after (with when and where), 4xx with a stable `code` otherwise.
    Auth: bearer token, or the login cookie with `X-CSRF-Token`."""
    loop = asyncio.get_running_loop()
    status, body = await loop.run_in_executor(
        _scan_executor(request), _scan_and_encode, request, data, bearer
    )
    # Encoded in the worker thread; the declared response_model documents the shape.
    return Response(body, status_code=status, media_type="application/json")


def _scan_and_encode(
    request: Request, data: CheckinRequest, bearer: str | None
) -> tuple[int, bytes]:
    result = _scan_in_thread(request, data, bearer)
    status = 200 if result.status == "already_checked_in" else 201
    return status, _checkin_public(result).model_dump_json().encode()


@scan_router.post(
    "/checkins/self",
    response_model=CheckinPublic,
    status_code=201,
    tags=["checkins"],
    responses={200: {"description": "already_checked_in", "model": CheckinPublic},
               **_CHECKIN_ERRORS,
               410: {"description": "site_qr_expired, pass_expired, pass_revoked"}},
)
def self_check_in(
    data: SelfCheckinRequest,
    response: Response,
    db: DbSession,
    settings: SettingsDep,
    hub: HubDep,
) -> CheckinPublic:
    """Self check-in (no login): the token of the QR on the site screen plus the pass code."""
    result = service.self_check_in(
        db, site_token=data.site_token, code=data.code, settings=settings,
        publish=hub.publish, session_id=data.session_id, nonce=data.nonce,
    )
    if result.status == "already_checked_in":
        response.status_code = 200
    return _checkin_public(result)


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


# ------------------------------------------------------------ self-check QR


class SiteQrPublic(BaseModel):
    token: str
    url: str
    step: int
    expires_in: float


def _screen_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "screen" and value.strip():
        return value.strip()
    return request.query_params.get("screen_token") or None


def _optional_user(
    request: Request, db: ReadDbSession, settings: SettingsDep,
    bearer: Annotated[str | None, Depends(_bearer)],
) -> User | None:
    for token in (bearer, request.cookies.get(SESSION_COOKIE)):
        if token:
            user = accounts_service.user_for_token(
                db, token=token, secret=settings.secret_key,
                max_age_seconds=settings.access_token_minutes * 60,
            )
            if user is not None:
                return user
    return None


def _site_qr(
    request: Request, site_id: int, db: ReadDbSession, settings: SettingsDep,
    user: Annotated[User | None, Depends(_optional_user)],
) -> SiteQrPublic:
    service.authorize_site_screen(db, site_id=site_id, screen_token=_screen_token(request),
                                  actor=user)
    info = service.site_qr_info(site_id, settings)
    base = str(request.base_url).rstrip("/")
    return SiteQrPublic(token=info.token, url=f"{base}/c/{info.token}", step=info.step,
                        expires_in=info.expires_in)


SiteQrDep = Annotated[SiteQrPublic, Depends(_site_qr)]


@router.get("/sites/{site_id}/self-checkin-qr", response_model=SiteQrPublic, tags=["checkins"])
def self_checkin_qr(qr_now: SiteQrDep) -> SiteQrPublic:
    """The rotating self check-in token of a site (changes every 20 s) and the URL its QR
    encodes. Auth: `Authorization: Screen <token>` (an enrolled screen) or a user in scope."""
    return qr_now


@router.get(
    "/sites/{site_id}/self-checkin-qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
    tags=["checkins"],
)
def self_checkin_qr_svg(qr_now: SiteQrDep) -> Response:
    """The current self check-in QR as SVG (`?screen_token=` works where headers cannot)."""
    return Response(
        qr_svg(qr_now.url),
        media_type="image/svg+xml",
        headers={**_NO_STORE, "X-QR-Expires-In": str(qr_now.expires_in)},
    )


class ScreenQrPublic(SiteQrPublic):
    site_id: int
    site_name: str
    svg: str


@lru_cache(maxsize=1024)
def _qr_svg_text(url: str) -> str:
    # The screens of one site ask for the same URL within a step: draw it once.
    return qr_svg(url).decode()


@router.get("/screen/self-checkin-qr", response_model=ScreenQrPublic, tags=["checkins"])
def screen_self_checkin_qr(
    request: Request, db: ReadDbSession, settings: SettingsDep
) -> ScreenQrPublic:
    """For a site screen (`Authorization: Screen <token>`, no site id needed): its site's
    current self check-in token, the URL its QR encodes, and that QR as SVG."""
    screen = endpoints_service.screen_for_token(db, token=_screen_token(request) or "")
    if screen is None:
        raise errors.ScreenTokenInvalid()
    info = service.site_qr_info(screen.site_id, settings)
    url = f"{str(request.base_url).rstrip('/')}/c/{info.token}"
    return ScreenQrPublic(
        site_id=screen.site_id, site_name=screen.site_name, token=info.token, url=url,
        step=info.step, expires_in=info.expires_in, svg=_qr_svg_text(url),
    )


# --------------------------------------------------------------- headcounts


def _headcount(h: Headcount) -> HeadcountPublic:
    assert h.id is not None
    return HeadcountPublic(
        id=h.id, conference_id=h.conference_id, site_id=h.site_id,
        session_id=h.session_key or None, counts=dict(h.counts), total=h.total,
        reported_by=h.reported_by, reported_at=h.reported_at, superseded=h.superseded,
    )


@router.post(
    "/sites/{site_id}/headcounts",
    response_model=HeadcountPublic,
    status_code=201,
    tags=["headcounts"],
    dependencies=[CookieCsrf],
)
def report_headcount(
    site_id: int, data: HeadcountCreate, db: DbSession, user: CurrentUser, hub: HubDep
) -> HeadcountPublic:
    """Report how many are present (by category); replaces the site's earlier report."""
    report = headcounts.report_headcount(
        db,
        site_id=site_id,
        session_id=data.session_id,
        counts={str(k): v for k, v in data.counts.items()},
        actor=user,
        publish=hub.publish,
    )
    return _headcount(report)


@router.get(
    "/sites/{site_id}/headcounts", response_model=list[HeadcountPublic], tags=["headcounts"]
)
def list_headcounts(
    site_id: int, db: ReadDbSession, user: CurrentUser, session_id: int | None = None
) -> list[HeadcountPublic]:
    """Reports of a site, newest first; the first not superseded is the current one."""
    return [
        _headcount(h)
        for h in headcounts.list_headcounts(db, site_id=site_id, actor=user, session_id=session_id)
    ]


@router.get(
    "/conferences/{conference_id}/attendance", response_model=AttendancePublic, tags=["checkins"]
)
def attendance(
    conference_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    session_id: int | None = None,
    site_id: int | None = None,
) -> AttendancePublic:
    """Totals and per-site counts: checked in, headcount reported, expected, screens online."""
    summary = attendance_counts.attendance_summary(
        db, conference_id=conference_id, actor=user, session_id=session_id, site_id=site_id
    )
    body = asdict(summary)
    body["sites"] = [
        SiteAttendancePublic(**asdict(s), present=s.present) for s in summary.sites
    ]
    return AttendancePublic(**body)
