"""The phone page of a site's answer link, `/a/<site code>` (the QR on the site screen).

No login. The page finds the conference live at the site and the form open on its
stage and shows its questions; its script (app/static/answer.js) sends the answer to
the JSON API with the phone's `device` and a per-form `nonce` kept in localStorage
(a lost answer is sent again with the same nonce). Without a script the form posts here
(CSRF-checked with the anonymous cookie, as the self check-in page does) with a nonce
made by the server; the phone is then known by its anonymous cookie. `/a/-?form=<id>`
(from a follow page that does not know its site) needs the personal code: the answer
counts for the attendee's own site. A wrong site code or personal code counts as a guess.
"""

import hashlib
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from app.db import ReadDbSession, WriteGateDep
from app.deps import CsrfChecked, HubDep, SettingsDep, expected_csrf_token
from app.errors import AppError
from app.templating import render_page
from app.throttle import Throttle
from app.throttle_deps import ThrottleDep, client_address
from checkin import errors
from checkin.answer_links import site_from_answer_code
from checkin.answer_models import AnswerSubmit, ChoiceIn
from checkin.answer_routes import AnswerJob, answer_in_gate
from checkin.answer_throttle import answer_attempts, count_view
from checkin.answer_view import AskedForm, asked_form, form_at_site
from sessions import errors as sessions_errors

router = APIRouter(include_in_schema=False)
SiteCode = Annotated[str, Path(max_length=24)]
NO_SITE = "-"
_CLOSED = "Phiếu “{title}” đã đóng: không nhận thêm câu trả lời."
_NONE = "Chưa có phiếu nào đang mở. Khi người trình bày mở phiếu, hãy tải lại trang này."
_NO_CONFERENCE = "Hiện không có hội nghị nào đang diễn ra tại điểm cầu này."


def _form_id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else None


def _find(db: Session, request: Request, code: str, settings: Any) -> dict[str, Any]:
    """What the link shows: the form's questions, or why there are none."""
    if code == NO_SITE:
        form_id = _form_id(request.query_params.get("form"))
        if form_id is None:
            raise errors.AnswerSiteUnknown()
        return {"form": asked_form(db, form_id=form_id), "site_code": "", "site_name": None}
    site_id = site_from_answer_code(code, settings)
    if site_id is None:
        raise errors.AnswerSiteUnknown("Mã điểm cầu không đúng: hãy quét lại mã QR "
                                       "trên màn hình của điểm cầu.")
    found = form_at_site(db, site_id=site_id)
    view: dict[str, Any] = {"site_code": code, "site_name": found.site_name, "form": None}
    if found.conference_id is None:
        view["message"] = _NO_CONFERENCE
    elif found.form is None or found.form.status == "draft":
        view["message"] = _NONE
    else:
        assert found.form.id is not None
        view["form"] = asked_form(db, form_id=found.form.id)
        if found.form.status == "closed":
            view.update(message=_CLOSED.format(title=found.form.title), closed=True)
    return view


def _render(request: Request, view: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    return render_page(request, None, "checkin/answer.html", {
        "nonce": secrets.token_urlsafe(16), "code_required": not view.get("site_code"),
        "values": {}, **view}, status=status)


def _refused(request: Request, exc: AppError, view: dict[str, Any] | None = None
             ) -> HTMLResponse:
    page = _render(request, {"site_code": "", "form": None, **(view or {}),
                             "error": exc.detail, "error_code": exc.code},
                   status=exc.status_code)
    page.headers.update(exc.headers)  # Retry-After when throttled
    return page


def _guessed(throttle: Throttle, client: str, exc: AppError) -> None:
    if exc.code in ("answer_site_unknown", "personal_code_wrong"):
        throttle.failed(*answer_attempts(client))


@router.get("/a/{code}", response_class=HTMLResponse)
def answer_page(request: Request, code: SiteCode, db: ReadDbSession, settings: SettingsDep,
                throttle: ThrottleDep) -> Response:
    """The form open at the site now, to answer on the phone (no login)."""
    client = client_address(request)
    try:
        throttle.check(*answer_attempts(client))
        count_view(throttle, client)
        view = _find(db, request, code, settings)
    except AppError as exc:
        db.rollback()  # before the throttle writes (through the gate, on SQLite)
        _guessed(throttle, client, exc)
        return _refused(request, exc)
    return _render(request, view)


async def _fields(request: Request) -> list[tuple[str, str]]:
    """The posted fields, repeats kept (async: the CSRF check read and cached the form)."""
    raw = await request.form()
    return [(k, v) for k, v in raw.multi_items() if isinstance(v, str)]


def _choices(form: AskedForm, fields: list[tuple[str, str]]) -> list[ChoiceIn]:
    """The plain form's `q<position>` fields as the API's answers (option ids as values)."""
    picked: dict[str, list[str]] = {}
    for name, value in fields:
        if value.strip():
            picked.setdefault(name, []).append(value.strip())
    out = []
    for q in form.questions:
        values = picked.get(f"q{q.position}", [])
        if not values:
            continue
        if q.kind in ("single", "multi"):
            out.append(ChoiceIn(question_id=q.id, options=[
                int(v) for v in values if v.isdigit() and len(v) < 10]))
        elif q.kind == "rating":
            rating = int(values[0]) if values[0].isdigit() and len(values[0]) < 3 else 0
            out.append(ChoiceIn(question_id=q.id, rating=rating))
        else:
            out.append(ChoiceIn(question_id=q.id, text=values[0]))
    return out


def _device(request: Request) -> str | None:
    """The phone without a script: known by the cookie its CSRF token is bound to (the
    anonymous one, or a login), hashed: the cookie itself is never stored."""
    bound = expected_csrf_token(request)
    return "c" + hashlib.sha256(bound.encode()).hexdigest()[:40] if bound else None


@router.post("/a/{code}", dependencies=[CsrfChecked])
def answer_submit(
    request: Request, code: SiteCode, db: ReadDbSession, settings: SettingsDep,
    hub: HubDep, gate: WriteGateDep, throttle: ThrottleDep,
    fields: Annotated[list[tuple[str, str]], Depends(_fields)],
) -> Response:
    """The answer from the plain form (the no-script path), throttled as the API is."""
    client = client_address(request)
    view: dict[str, Any] = {}
    given = dict(fields)
    try:
        throttle.check(*answer_attempts(client))
        view = _find(db, request, code, settings)
        form = view.get("form")
        if form is None or view.get("closed"):
            return _render(request, view, status=409)
        data = AnswerSubmit(nonce=given.get("nonce", ""), device=_device(request),
                            code=given.get("code", "").strip() or None,
                            site=view["site_code"] or None, answers=_choices(form, fields))
        db.rollback()  # free SQLite's read snapshot: the gate's thread writes
        answered = gate.call(answer_in_gate, AnswerJob(
            form.id, data, client, gate, settings, hub, throttle))
    except ValidationError:
        return _refused(request, sessions_errors.AnswerInvalid(
            "Câu trả lời không hợp lệ: hãy kiểm tra rồi gửi lại."), view)
    except AppError as exc:
        db.rollback()
        if exc.code == "answer_site_unknown":
            _guessed(throttle, client, exc)
        return _refused(request, exc, {**view, "values": given})
    return _render(request, {**view, "answer": answered.answer},
                   status=201 if answered.created else 200)
