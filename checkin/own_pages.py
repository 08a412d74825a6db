"""The attendee's own pages (no login): their pass through their personal link
(/p/{token}), everything held about them once they type their personal code, and their
requests for a correction or an erasure.

The code travels with each form (a hidden field of the page it opened, served
no-store), so no session is kept: every post checks the link and the code again, and
every forged link or wrong code counts in the throttle (checkin/own_throttle.py).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlmodel import Session

from app.config import Settings
from app.db import DbSession
from app.deps import CsrfChecked, SettingsDep
from app.errors import AppError
from app.qrimage import qr_svg_inline
from app.templating import render_page
from app.throttle import Throttle
from app.throttle_deps import ThrottleDep, client_address
from checkin import own_data, rights, roster
from checkin.models import Attendee
from checkin.own_throttle import is_miss, own_attempts
from checkin.rights_models import KIND_LABELS, STATUS_LABELS, PersonalData
from endpoints.models import Conference

router = APIRouter(include_in_schema=False)

LinkToken = Annotated[str, Path(max_length=200)]
CodeField = Annotated[str, Form(max_length=50)]
_NOTICES = {"correct": "Đã gửi yêu cầu chỉnh sửa. Văn phòng trung ương sẽ xem xét và trả lời.",
            "erase": "Đã gửi yêu cầu xoá dữ liệu. Văn phòng trung ương sẽ xem xét và trả lời."}


def _qr(db: Session, attendee: Attendee, settings: Settings) -> Markup | None:
    if attendee.erased_at is not None:
        return None
    try:
        return qr_svg_inline(roster.issue_pass(db, attendee=attendee, settings=settings))
    except AppError:
        return None  # revoked or taken off the roster: no QR to show


def _render(
    request: Request, db: Session, settings: Settings, token: str, *,
    attendee: Attendee | None = None, data: PersonalData | None = None, code: str = "",
    error: AppError | None = None, notice: str | None = None, status: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "token": token, "attendee": attendee, "data": data, "code": code, "notice": notice,
        "error": error.detail if error else None, "error_code": error.code if error else None,
        "kinds": KIND_LABELS, "statuses": STATUS_LABELS, "qr": None, "site_name": "",
    }
    if attendee is not None:
        context["qr"] = _qr(db, attendee, settings)
        context["site_name"] = roster.site_names(
            db, conference_id=attendee.conference_id, site_ids=[attendee.site_id]
        ).get(attendee.site_id, "")
        context["notice_url"] = rights.notice_url(attendee.conference_id)
        context["conference_title"] = (data.identity.conference_title if data else
                                       _conference_title(db, attendee))
    page = render_page(request, None, "checkin/my_data.html", context, status=status)
    page.headers["Cache-Control"] = "private, no-store"
    if error is not None:
        page.headers.update(error.headers)  # Retry-After when throttled
    return page


def _conference_title(db: Session, attendee: Attendee) -> str:
    conference = db.get(Conference, attendee.conference_id)
    return conference.title if conference else ""


def _guard(
    request: Request, db: Session, throttle: Throttle, settings: Settings, token: str,
    code: str | None,
) -> tuple[Attendee | None, AppError | None]:
    """The link's attendee (code checked when given, unless erased), or the refusal; a
    forged link or a wrong code is counted against the caller."""
    client, attendee, attendee_id = client_address(request), None, None
    try:
        throttle.check(*own_attempts(client=client, attendee_id=None))
        attendee = own_data.open_link(db, token=token, settings=settings)
        attendee_id = attendee.id
        throttle.check(*own_attempts(client=client, attendee_id=attendee_id))
        if code is not None and attendee.erased_at is None:
            own_data.check_code(attendee, code)
    except AppError as exc:
        # End the write transaction before the throttle writes (through the gate, on
        # SQLite), and touch no expired attribute after it: that would begin another.
        db.rollback()
        if is_miss(exc):
            throttle.failed(*own_attempts(client=client, attendee_id=attendee_id))
        return attendee, exc
    return attendee, None


@router.get("/p/{token}", response_class=HTMLResponse)
def own_pass(
    request: Request, token: LinkToken, db: DbSession, settings: SettingsDep,
    throttle: ThrottleDep,
) -> Response:
    """The attendee's pass from their personal link, and the personal code form that
    opens "Dữ liệu của tôi"."""
    attendee, exc = _guard(request, db, throttle, settings, token, None)
    if exc is not None:
        return _render(request, db, settings, token, error=exc, status=exc.status_code)
    return _render(request, db, settings, token, attendee=attendee)


def _refusal(
    request: Request, db: Session, settings: Settings, token: str,
    attendee: Attendee | None, exc: AppError, code: str = "",
) -> HTMLResponse:
    if attendee is None:  # the link itself was refused (or the caller throttled)
        return _render(request, db, settings, token, error=exc, status=exc.status_code)
    return _render(request, db, settings, token, attendee=attendee, error=exc,
                   status=exc.status_code, code=code)


@router.post("/p/{token}", dependencies=[CsrfChecked])
def own_data_page(
    request: Request, token: LinkToken, db: DbSession, settings: SettingsDep,
    throttle: ThrottleDep, code: CodeField = "",
) -> Response:
    """Everything held about the attendee, once their personal code is right."""
    attendee, exc = _guard(request, db, throttle, settings, token, code)
    if exc is not None or attendee is None:
        assert exc is not None
        return _refusal(request, db, settings, token, attendee, exc)
    if attendee.erased_at is not None:
        return _render(request, db, settings, token, attendee=attendee)
    data = own_data.view(db, attendee=attendee)
    return _render(request, db, settings, token, attendee=attendee, data=data, code=code)


@router.post("/p/{token}/requests", dependencies=[CsrfChecked])
def own_request(
    request: Request, token: LinkToken, db: DbSession, settings: SettingsDep,
    throttle: ThrottleDep, code: CodeField = "",
    kind: Annotated[str, Form(max_length=20)] = "",
    message: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Ask the central office for a correction (what to correct) or an erasure."""
    attendee, exc = _guard(request, db, throttle, settings, token, code)
    if exc is not None or attendee is None:
        assert exc is not None
        return _refusal(request, db, settings, token, attendee, exc)
    try:
        own_data.ask(db, attendee=attendee, kind=kind, message=message or None)
    except AppError as err:
        db.rollback()
        if attendee.erased_at is not None:
            return _render(request, db, settings, token, attendee=attendee)
        data = own_data.view(db, attendee=attendee)
        return _render(request, db, settings, token, attendee=attendee, data=data, code=code,
                       error=err, status=err.status_code)
    data = own_data.view(db, attendee=attendee)
    return _render(request, db, settings, token, attendee=attendee, data=data, code=code,
                   notice=_NOTICES.get(kind), status=201)

