"""The central office's queue of the attendees' requests about their data (HTML): open
ones first, each closed by correcting the attendee, erasing them, or refusing with a
reason. The same use cases as the JSON API (checkin/data_requests.py)."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from app.accounts.models import User
from app.db import DbSession
from app.deps import AdminUser, CsrfChecked
from app.errors import AppError
from app.templating import render_page
from checkin import data_requests
from checkin.rights_models import KIND_LABELS, STATUS_LABELS, AttendeeCorrection

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form(max_length=2000)]
_NOTICES = {"corrected": "Đã sửa thông tin và đóng yêu cầu.",
            "erased": "Đã xoá dữ liệu cá nhân và đóng yêu cầu.",
            "refused": "Đã từ chối yêu cầu; đại biểu sẽ thấy lý do."}


def _queue_page(
    request: Request, db: Session, user: User, *, error: str | None = None,
    error_id: int | None = None, status: int = 200,
) -> HTMLResponse:
    items = data_requests.queue(db, actor=user)
    people = data_requests.identities(db, attendee_ids=[i.attendee_id for i in items
                                                        if i.status == "open"])
    return render_page(request, user, "checkin/requests.html", {
        "items": items, "people": people, "kinds": KIND_LABELS, "statuses": STATUS_LABELS,
        "error": error, "error_id": error_id,
        # Shown in the request's card while it is open, else above the list.
        "error_inline": error_id in {i.id for i in items if i.status == "open"},
        "notice": _NOTICES.get(request.query_params.get("msg") or ""),
        "open_count": sum(1 for i in items if i.status == "open"),
    }, status=status)


@router.get("/data-requests", response_class=HTMLResponse)
def queue_page(request: Request, db: DbSession, user: AdminUser) -> Response:
    """The requests queue of the central office."""
    return _queue_page(request, db, user)


def _done(msg: str) -> RedirectResponse:
    return RedirectResponse(f"/data-requests?msg={msg}", status_code=303)


def _failed(request: Request, db: Session, user: User, request_id: int, exc: AppError
            ) -> HTMLResponse:
    db.rollback()
    return _queue_page(request, db, user, error=exc.detail, error_id=request_id,
                       status=exc.status_code)


def _correction(full_name: str, unit: str, position: str, phone: str) -> AttendeeCorrection:
    """The form's fields as a correction: blank clears unit, position and phone."""
    return AttendeeCorrection(full_name=full_name, unit=unit.strip() or None,
                              position=position.strip() or None, phone=phone.strip() or None)


@router.post("/data-requests/{request_id}/correct", dependencies=[CsrfChecked])
def correct_submit(
    request: Request, request_id: int, db: DbSession, user: AdminUser,
    full_name: FormText = "", unit: FormText = "", position: FormText = "",
    phone: FormText = "",
) -> Response:
    """Correct the attendee with the form's values and close the request."""
    try:
        changes = _correction(full_name, unit, position, phone)
    except ValidationError as exc:
        detail = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        return _queue_page(request, db, user, error=detail, error_id=request_id, status=422)
    try:
        data_requests.handle_correct(db, request_id=request_id, actor=user, changes=changes)
    except AppError as exc:
        return _failed(request, db, user, request_id, exc)
    return _done("corrected")


@router.post("/data-requests/{request_id}/erase", dependencies=[CsrfChecked])
def erase_submit(request: Request, request_id: int, db: DbSession, user: AdminUser) -> Response:
    """Erase the attendee and close the request."""
    try:
        data_requests.handle_erase(db, request_id=request_id, actor=user)
    except AppError as exc:
        return _failed(request, db, user, request_id, exc)
    return _done("erased")


@router.post("/data-requests/{request_id}/refuse", dependencies=[CsrfChecked])
def refuse_submit(
    request: Request, request_id: int, db: DbSession, user: AdminUser, reason: FormText = ""
) -> Response:
    """Refuse the request with a reason."""
    try:
        data_requests.refuse(db, request_id=request_id, actor=user, reason=reason)
    except AppError as exc:
        return _failed(request, db, user, request_id, exc)
    return _done("refused")
