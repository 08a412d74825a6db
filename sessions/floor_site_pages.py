"""The coordinator's phone page of the floor: ask to speak (or change the request),
withdraw it, follow its status, send written questions.

Each form posts here (CSRF-checked), calls the same service functions as the JSON API
with the same rates (sessions/floor_throttle.py), and answers with a redirect and a
message, so the page works without JavaScript; its script only polls the status.
"""

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from app.accounts.models import User
from app.db import DbSession, ReadDbSession
from app.deps import CsrfChecked, CurrentUser, HubDep
from app.errors import AppError, describe_validation
from app.templating import render_page
from app.throttle import Throttle
from app.throttle_deps import ThrottleDep, client_address
from sessions import floor, floor_questions, floor_throttle
from sessions.floor_models import MAX_QUESTION, MAX_TOPIC, FloorAsk, FloorStatus, QuestionAsk
from sessions.floor_site_view import site_floor, site_stage

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form(max_length=2000)]
_NOTICES = {
    "asked": "Đã gửi đăng ký phát biểu.",
    "changed": "Đã cập nhật đăng ký phát biểu (giữ nguyên thứ tự trong hàng đợi).",
    "withdrawn": "Đã rút đăng ký phát biểu.",
    "question_sent": "Đã gửi câu hỏi; câu hỏi chờ Ban tổ chức duyệt.",
}
_FIELDS = {"topic": "Nội dung phát biểu", "speaker_name": "Người phát biểu",
           "speaker_position": "Chức vụ", "text": "Câu hỏi"}


def _page(
    request: Request, db: Session, user: User, site_id: int, *, error: str | None = None,
    values: dict[str, str] | None = None, status: int = 200,
) -> HTMLResponse:
    at = site_stage(db, site_id=site_id, actor=user)
    state = site_floor(db, site_id=site_id, actor=user)
    req = state.request
    if values is None and req is not None and req.status == FloorStatus.open:
        values = {"topic": req.topic, "speaker_name": req.speaker_name,
                  "speaker_position": req.speaker_position}
    return render_page(request, user, "sessions/floor_site.html", {
        "site": at.site, "site_id": site_id, "state": state,
        "open": req is not None and req.status == FloorStatus.open,
        "values": values or {}, "error": error, "max_topic": MAX_TOPIC,
        "max_question": MAX_QUESTION,
        "notice": _NOTICES.get(request.query_params.get("msg") or ""),
    }, status=status)


def _describe(exc: ValidationError) -> str:
    first = describe_validation([dict(e) for e in exc.errors()])[0]
    field = _FIELDS.get(first["field"], first["field"])
    return f"{field}: {first['message']}".strip(": ") if field else str(first["message"])


def _refused(
    request: Request, db: Session, user: User, site_id: int, exc: AppError,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    db.rollback()
    page = _page(request, db, user, site_id, error=exc.detail, values=values,
                 status=exc.status_code)
    page.headers.update(exc.headers)  # Retry-After when throttled
    return page


def _done(site_id: int, msg: str) -> RedirectResponse:
    return RedirectResponse(f"/sites/{site_id}/floor?msg={msg}", status_code=303)


@router.get("/sites/{site_id}/floor", response_class=HTMLResponse)
def floor_site_page(
    request: Request, site_id: int, db: ReadDbSession, user: CurrentUser
) -> Response:
    """The site's floor on a phone: the session on stage, the request, the questions."""
    return _page(request, db, user, site_id)


def _ask(
    db: Session, *, site_id: int, session_id: str, values: dict[str, str], user: User,
    throttle: Throttle, client: str, hub: Any,
) -> bool:
    data = FloorAsk.model_validate({k: v for k, v in values.items()
                                    if k != "speaker_position" or v.strip()})
    sid = int(session_id) if session_id.isdigit() and int(session_id) < 2**31 else 0
    count = partial(floor_throttle.count_ask, throttle, site_id=site_id, client=client)
    return floor.ask(db, session_id=sid, site_id=site_id, data=data, actor=user,
                     publish=hub.publish, count=count).created


@router.post("/sites/{site_id}/floor", dependencies=[CsrfChecked])
def floor_ask_submit(
    request: Request, site_id: int, db: DbSession, user: CurrentUser, hub: HubDep,
    throttle: ThrottleDep, session_id: FormText = "", topic: FormText = "",
    speaker_name: FormText = "", speaker_position: FormText = "",
) -> Response:
    """Ask for the floor in the session on stage, or change the open request."""
    site_stage(db, site_id=site_id, actor=user)  # scope first: nobody spends another's rate
    values = {"topic": topic, "speaker_name": speaker_name,
              "speaker_position": speaker_position}
    try:
        created = _ask(db, site_id=site_id, session_id=session_id.strip(), values=values,
                       user=user, throttle=throttle, client=client_address(request), hub=hub)
    except ValidationError as exc:
        return _page(request, db, user, site_id, error=_describe(exc), values=values,
                     status=422)
    except AppError as exc:
        return _refused(request, db, user, site_id, exc, values)
    return _done(site_id, "asked" if created else "changed")


@router.post("/sites/{site_id}/floor/withdraw", dependencies=[CsrfChecked])
def floor_withdraw_submit(
    request: Request, site_id: int, db: DbSession, user: CurrentUser, hub: HubDep,
    throttle: ThrottleDep, request_id: FormText = "",
) -> Response:
    """Withdraw an open request (the service checks the caller may act for its site;
    the rate counts against that site)."""
    site_stage(db, site_id=site_id, actor=user)
    try:
        rid = int(request_id) if request_id.strip().isdigit() else 0
        client = client_address(request)
        floor.withdraw(db, request_id=min(rid, 2**31 - 1), actor=user, publish=hub.publish,
                       count=lambda site: floor_throttle.count_ask(throttle, site_id=site,
                                                                   client=client))
    except AppError as exc:
        return _refused(request, db, user, site_id, exc)
    return _done(site_id, "withdrawn")


@router.post("/sites/{site_id}/floor/questions", dependencies=[CsrfChecked])
def floor_question_submit(
    request: Request, site_id: int, db: DbSession, user: CurrentUser, hub: HubDep,
    throttle: ThrottleDep, session_id: FormText = "", text: FormText = "",
) -> Response:
    """Send a written question for the session on stage."""
    site_stage(db, site_id=site_id, actor=user)
    try:
        data = QuestionAsk.model_validate({"text": text})
        sid = int(session_id) if session_id.strip().isdigit() else 0
        count = partial(floor_throttle.count_question, throttle, site_id=site_id,
                        client=client_address(request))
        floor_questions.ask_for_site(db, session_id=min(sid, 2**31 - 1), site_id=site_id,
                                     text=data.text, actor=user, publish=hub.publish,
                                     count=count)
    except ValidationError as exc:
        return _page(request, db, user, site_id, error=_describe(exc), status=422)
    except AppError as exc:
        return _refused(request, db, user, site_id, exc)
    return _done(site_id, "question_sent")
