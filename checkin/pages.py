"""HTML pages of check-in: passes, badge sheets, the scanner page, self check-in, headcounts.

The scanner and self check-in pages talk to the JSON API from their scripts; each form
also posts here (CSRF-checked) and calls the same service function, so they work without
JavaScript too.
"""

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import Session

from app.accounts.models import User
from app.audit import service as audit_service
from app.audit import spool
from app.config import Settings
from app.db import DbSession, ReadDbSession, WriteGateDep
from app.deps import CsrfChecked, CurrentUser, HubDep, SettingsDep
from app.errors import AppError
from app.headers import allow_camera
from app.qrimage import qr_svg_inline
from app.templating import LOCAL_TZ
from app.templating import render_page as _page
from app.throttle_deps import ThrottleDep, client_address
from checkin import attendee_links, basis, errors, follow_offer, headcounts, roster, service
from checkin import sites as checkin_sites
from checkin.models import HEADCOUNT_CATEGORIES, Attendee
from checkin.self_throttle import is_miss, self_attempts
from endpoints import service as endpoints_service
from endpoints.models import SiteView
from sessions import service as sessions_service

router = APIRouter(include_in_schema=False)

BADGES_PER_PRINT = 200  # one request renders at most 25 A4 sheets of 8
HEADCOUNT_LABELS = HEADCOUNT_CATEGORIES
MAX_COUNT = 100_000
_NOTICES = {"headcount_saved": "Đã ghi nhận báo cáo số lượng (thay cho báo cáo trước).",
            "declared_ready": "Đã ghi tình trạng: sẵn sàng.",
            "incident_reported": "Đã báo sự cố; ban tổ chức thấy ngay trên bảng điều khiển."}
SiteToken = Annotated[str, Path(max_length=200)]
FormText = Annotated[str, Form(max_length=2000)]
_LIVE = -1  # "no session chosen": the scanner and headcount pages take the live one


# ------------------------------------------------------------------ helpers




def _session_id(raw: str | None) -> int | None:
    # "" and "0" both mean the conference-level check-in; junk means the same (no 500).
    value = (raw or "").strip()
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


def _live_if_asked(db: Session, user: User, conference_id: int, session_id: int | None
                   ) -> int | None:
    """`_LIVE` (no session chosen) becomes the live session, or the conference level."""
    if session_id != _LIVE:
        return session_id
    live = sessions_service.live_session(db, conference_id=conference_id, actor=user)
    return live.id if live is not None else None


def _sessions(db: Session, conference_id: int, user: User) -> list[Any]:
    return list(sessions_service.list_sessions(db, conference_id=conference_id, actor=user))


def _conference_id(raw: str | None) -> int | None:
    # `?conference_id=` picks the conference of a site page; junk means the current one.
    value = (raw or "").strip()
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


def _site_and_conference(
    db: Session, site_id: int, user: User, conference_id: int | None = None
) -> tuple[SiteView, Any]:
    """A site as one conference sees it: the one asked for, else the site's current one."""
    site = checkin_sites.site_in(db, site_id=site_id, actor=user, conference_id=conference_id)
    conference = endpoints_service.get_conference(
        db, conference_id=site.conference_id, actor=user
    )
    return site, conference


ConferenceQuery = Annotated[str, Query(max_length=20)]


def _badge(
    db: Session, attendee: Attendee, site: SiteView, settings: Settings
) -> dict[str, Any]:
    try:
        qr: Markup | None = qr_svg_inline(
            roster.issue_pass(db, attendee=attendee, settings=settings)
        )
    except errors.PassRevoked:
        qr = None  # a revoked pass prints no QR, so an old sheet cannot be reused
    return {
        "attendee": attendee,
        "site": site,
        "qr": qr,
        "short_code": roster.format_short_code(attendee.short_code),
    }


# ------------------------------------------------------------ passes, badges


@router.get("/attendees/{attendee_id}/pass", response_class=HTMLResponse)
def pass_page(
    request: Request, attendee_id: int, db: DbSession, user: CurrentUser, settings: SettingsDep
) -> Response:
    """An attendee's pass: name, unit, site, the QR and the short code (prints on A6/phone)."""
    attendee = roster.get_attendee(db, attendee_id=attendee_id, actor=user)
    site, conference = _site_and_conference(db, attendee.site_id, user, attendee.conference_id)
    spool.viewed(db, what="pass", object_id=attendee_id, conference_id=attendee.conference_id,
                 site_id=attendee.site_id)
    return _page(
        request,
        user,
        "checkin/pass.html",
        {"conference": conference, **_badge(db, attendee, site, settings),
         "provenance": basis.provenance(db, attendee=attendee),
         "own_link": attendee_links.link_path(attendee, secret=settings.secret_key)},
    )


@router.get("/sites/{site_id}/badges", response_class=HTMLResponse)
def badges_page(
    request: Request,
    site_id: int,
    db: DbSession,
    user: CurrentUser,
    settings: SettingsDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    conference_id: ConferenceQuery = "",
) -> Response:
    """Printable A4 sheets, 8 badges each, of the attendees whose home is this site."""
    site, conference = _site_and_conference(db, site_id, user, _conference_id(conference_id))
    attendees = roster.list_site_attendees(db, conference_id=site.conference_id,
                                           site_id=site_id, actor=user)
    pages = max(1, -(-len(attendees) // BADGES_PER_PRINT))
    start = (page - 1) * BADGES_PER_PRINT
    chunk = attendees[start : start + BADGES_PER_PRINT]
    badges = [_badge(db, a, site, settings) for a in chunk]
    # Printed sheets of names leave the screen: an export, recorded before it is shown.
    audit_service.record(db, action="export", object_type="badges", site_id=site_id,
                         conference_id=site.conference_id,
                         detail={"what": "badges", "page": page, "rows": len(chunk)})
    db.commit()
    return _page(
        request,
        user,
        "checkin/badges.html",
        {
            "conference": conference,
            "site": site,
            "badges": badges,
            "total": len(attendees),
            "page": page,
            "pages": pages,
        },
    )


# --------------------------------------------------------- coordinator scan


def _checkin_page(
    request: Request,
    db: Session,
    user: User,
    site_id: int,
    *,
    session_id: int | None = None,
    conference_id: int | None = None,
    result: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    site, conference = _site_and_conference(db, site_id, user, conference_id)
    session_id = _live_if_asked(db, user, site.conference_id, session_id)
    page = _page(
        request,
        user,
        "checkin/checkin.html",
        {
            "conference": conference,
            "site": site,
            "sessions": _sessions(db, site.conference_id, user),
            "session_id": session_id or 0,
            "result": result,
        },
        status=status,
    )
    # The desk reads QR codes with the camera; every other page is refused it.
    return allow_camera(page)


def result_view(outcome: Any) -> dict[str, Any]:
    """What the result panel shows for a check-in outcome (the same words as the scripts)."""
    attendee = outcome.attendee
    when = outcome.checked_in_at
    if outcome.status == "already_checked_in":
        kind, title = "warn", "Đã điểm danh"
    elif outcome.foreign_site:
        kind, title = "warn", "Đại biểu của điểm cầu khác"
    else:
        kind, title = "ok", "Đã điểm danh"
    home = getattr(attendee, "site_name", None) or ""
    return {
        "kind": kind,
        "title": title,
        "name": attendee.full_name,
        "unit": attendee.unit or "",
        "detail": f"Đại biểu của: {home}" if outcome.foreign_site and home else "",
        "status": outcome.status,
        "when": when.astimezone(LOCAL_TZ).strftime("%H:%M") if when else "",
        "site_name": getattr(outcome, "site_name", None) or "",
    }


def self_result_view(outcome: Any) -> dict[str, Any]:
    """The self check-in panel: the attendee's name and this site only (no unit, no earlier
    time or site: whoever typed the code may not be its owner)."""
    already = outcome.status == "already_checked_in"
    return {"kind": "warn" if already else "ok",
            "title": "Bạn đã điểm danh rồi" if already else "Đã điểm danh",
            "name": outcome.attendee.full_name, "status": outcome.status,
            "detail": f"Tại {outcome.here_name}" if outcome.here_name else ""}


def _refusal(exc: AppError) -> dict[str, Any]:
    return {"kind": "err", "title": "Không điểm danh được", "detail": exc.detail,
            "code": exc.code}


@router.get("/sites/{site_id}/checkin", response_class=HTMLResponse)
def checkin_page(
    request: Request, site_id: int, db: ReadDbSession, user: CurrentUser,
    conference_id: ConferenceQuery = "",
    session_id: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The coordinator's check-in desk: scanner input, camera, name search, live count.

    Without `session_id` it scans into the live session, if one is (0: the conference)."""
    chosen = _session_id(session_id) if session_id.strip() else _LIVE
    return _checkin_page(request, db, user, site_id, session_id=chosen,
                         conference_id=_conference_id(conference_id))


@router.post("/sites/{site_id}/checkin", dependencies=[CsrfChecked])
def checkin_submit(
    request: Request,
    site_id: int,
    db: DbSession,
    user: CurrentUser,
    settings: SettingsDep,
    hub: HubDep,
    gate: WriteGateDep,
    code: FormText = "",
    session_id: FormText = "",
    conference_id: FormText = "",
) -> Response:
    """Check a pass in from the page's form (the no-script path of the scanner page)."""
    chosen = _session_id(session_id)
    cid = _conference_id(conference_id)
    endpoints_service.get_site(db, site_id=site_id, actor=user)
    db.rollback()  # free SQLite's write lock: the gate's thread may be waiting for it
    try:
        outcome = gate.call(lambda: service.check_in(
            db, code=code.strip(), site_id=site_id, actor=user, session_id=chosen,
            device="web-form", method="scan", settings=settings, publish=hub.publish,
        ))
    except AppError as exc:
        db.rollback()
        return _checkin_page(request, db, user, site_id, session_id=chosen, conference_id=cid,
                             result=_refusal(exc), status=exc.status_code)
    return _checkin_page(request, db, user, site_id, session_id=chosen,
                         conference_id=outcome.conference_id, result=result_view(outcome),
                         status=201 if outcome.status == "checked_in" else 200)


# ------------------------------------------------------------ self check-in


_EXPIRED = "Mã QR đã hết hạn, hãy quét lại mã trên màn hình."


def _self_page(
    request: Request,
    site_token: str,
    site: Any,
    *,
    result: dict[str, Any] | None = None,
    error: AppError | None = None,
    status: int = 200,
    follow_url: str | None = None,
    code: str = "",
) -> HTMLResponse:
    detail = None
    if error is not None:
        detail = _EXPIRED if error.code == "site_qr_expired" else error.detail
    return _page(
        request,
        None,
        "checkin/self.html",
        {
            "site": site,
            "site_token": site_token,
            "result": result,
            "token_error": detail,
            "token_error_code": error.code if error else None,
            "follow_url": follow_url,
            # What the attendee typed survives every refusal (the form or the error shows it).
            "code": code,
        },
        status=status,
    )


@router.get("/c/{site_token}", response_class=HTMLResponse)
def self_page(
    request: Request, site_token: SiteToken, db: ReadDbSession, settings: SettingsDep
) -> Response:
    """Where the site screen's QR leads (no login): type or recall the pass code. The form
    keeps a page code for the same site and step, valid long enough to type."""
    try:
        site = service.self_checkin_site(db, site_token=site_token, settings=settings)
    except AppError as exc:
        return _self_page(request, site_token, None, error=exc, status=exc.status_code)
    return _self_page(request, service.page_token(site_token, settings), site)


@router.post("/c/{site_token}", dependencies=[CsrfChecked])
def self_submit(
    request: Request,
    site_token: SiteToken,
    db: DbSession,
    settings: SettingsDep,
    hub: HubDep,
    gate: WriteGateDep,
    throttle: ThrottleDep,
    code: FormText = "",
) -> Response:
    """Self check-in from the form (the no-script path), throttled as the API is."""
    attempts = self_attempts(settings, client=client_address(request), site_token=site_token)
    try:
        throttle.check(*attempts)
        site = service.self_checkin_site(db, site_token=site_token, settings=settings)
    except AppError as exc:
        db.rollback()
        if is_miss(exc):
            throttle.failed(*attempts)
        page = _self_page(request, site_token, None, error=exc, status=exc.status_code,
                          code=code)
        page.headers.update(exc.headers)  # Retry-After when throttled
        return page
    db.rollback()  # free SQLite's write lock: the gate's thread may be waiting for it
    token = service.page_token(site_token, settings)
    try:
        outcome = gate.call(lambda: service.self_check_in(
            db, site_token=site_token, code=code.strip(), settings=settings, publish=hub.publish
        ))
    except AppError as exc:
        db.rollback()  # before the throttle writes (through the gate, on SQLite)
        if is_miss(exc):
            throttle.failed(*attempts)
        if exc.code in ("site_qr_expired", "site_qr_invalid"):
            return _self_page(request, site_token, None, error=exc, status=exc.status_code,
                              code=code)
        return _self_page(request, token, site, result=_refusal(exc),
                          status=exc.status_code, code=code)
    link = follow_offer.follow_url(db, base=str(request.base_url),
                                     conference_id=outcome.conference_id, settings=settings)
    return _self_page(request, token, site, result=self_result_view(outcome),
                      status=201 if outcome.status == "checked_in" else 200, follow_url=link)


# ---------------------------------------------------------------- headcount


def _headcount_page(
    request: Request,
    db: Session,
    user: User,
    site_id: int,
    *,
    session_id: int | None,
    conference_id: int | None = None,
    values: Mapping[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    site, conference = _site_and_conference(db, site_id, user, conference_id)
    session_id = _live_if_asked(db, user, site.conference_id, session_id)
    history: Sequence[Any] = headcounts.list_headcounts(
        db, site_id=site_id, session_id=session_id, actor=user,
        conference_id=site.conference_id,
    )
    current = next((h for h in history if not h.superseded), None)
    if values is None and current is not None:
        # A correction starts from the current figures: a field left as it is keeps its
        # number instead of becoming 0.
        values = {key: str(current.counts.get(key, 0)) for key in HEADCOUNT_LABELS}
    return _page(
        request,
        user,
        "checkin/headcount.html",
        {
            "conference": conference,
            "site": site,
            "sessions": _sessions(db, site.conference_id, user),
            "session_id": session_id or 0,
            "labels": HEADCOUNT_LABELS,
            "values": values or {},
            "current": current,
            "history": history,
            "error": error,
            "notice": _NOTICES.get(request.query_params.get("msg") or ""),
        },
        status=status,
    )


def parse_counts(values: Mapping[str, str]) -> dict[str, int]:
    """The form's counts; blank is 0. Raises ValueError with a Vietnamese message."""
    counts: dict[str, int] = {}
    for key, label in HEADCOUNT_LABELS.items():
        raw = values.get(key, "").strip().replace(".", "")
        if not raw:
            counts[key] = 0
            continue
        if not raw.isdigit() or int(raw) > MAX_COUNT:
            raise ValueError(f"{label}: phải là số nguyên từ 0 đến {MAX_COUNT:,}".replace(",", "."))
        counts[key] = int(raw)
    return counts


@router.get("/sites/{site_id}/headcount", response_class=HTMLResponse)
def headcount_page(
    request: Request,
    site_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    session_id: Annotated[str, Query(max_length=20)] = "",
    conference_id: ConferenceQuery = "",
) -> Response:
    """The number present at a site (by category), with every earlier report; without
    `session_id`, of the live session if one is, as the dashboard (0: the conference)."""
    chosen = _session_id(session_id) if session_id.strip() else _LIVE
    return _headcount_page(request, db, user, site_id, session_id=chosen,
                           conference_id=_conference_id(conference_id))


@router.post("/sites/{site_id}/headcount", dependencies=[CsrfChecked])
def headcount_submit(
    request: Request,
    site_id: int,
    db: DbSession,
    user: CurrentUser,
    hub: HubDep,
    session_id: FormText = "",
    dai_bieu: FormText = "",
    khach_moi: FormText = "",
    phong_vien: FormText = "",
    khac: FormText = "",
    conference_id: FormText = "",
) -> Response:
    """Report the headcount; it replaces the site's earlier report for that session."""
    chosen = _session_id(session_id)
    values = {"dai_bieu": dai_bieu, "khach_moi": khach_moi, "phong_vien": phong_vien,
              "khac": khac}
    cid = checkin_sites.site_in(db, site_id=site_id, actor=user,
                                conference_id=_conference_id(conference_id),
                                session_id=chosen).conference_id
    try:
        counts = parse_counts(values)
        headcounts.report_headcount(
            db, site_id=site_id, session_id=chosen, counts=counts, actor=user,
            publish=hub.publish, conference_id=cid,
        )
    except ValueError as exc:
        return _headcount_page(request, db, user, site_id, session_id=chosen, conference_id=cid,
                               values=values, error=str(exc), status=422)
    except AppError as exc:
        db.rollback()
        return _headcount_page(request, db, user, site_id, session_id=chosen, conference_id=cid,
                               values=values, error=exc.detail, status=exc.status_code)
    # The session is always named: without it the page would open on the live one.
    query = f"?conference_id={cid}&msg=headcount_saved&session_id={chosen or 0}"
    return RedirectResponse(f"/sites/{site_id}/headcount{query}", status_code=303)
