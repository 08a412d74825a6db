"""HTML pages of writing training forms (central office): a conference's question banks
(list, new, import with line errors, templates), the bank editor, a session's forms.

Every page works without JavaScript: the editor is one plain form whose question blocks
carry numbered fields (`q-3-text`, `q-3-opt-2`, `q-3-correct` = 2…) plus blank blocks to
fill in; app/static/forms.js only adds "add question / option" buttons. Each post calls
the same use case as the JSON API, then redirects; a refusal re-renders with the reason.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from pydantic import Field as PydField
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app import uploads
from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import DbSession, ReadDbSession
from app.deps import AdminUser, CsrfChecked, SettingsDep, StreamedCsrf, check_streamed_csrf
from app.disposition import attachment
from app.errors import AppError, CsrfFailed, describe_validation
from app.templating import render_page
from endpoints import errors as endpoints_errors
from endpoints import service as endpoints_service
from sessions import form_import, forms
from sessions.form_models import (
    FORM_KIND_LABELS,
    FORM_STATUS_LABELS,
    MAX_OPTIONS,
    MAX_QUESTIONS,
    QUESTION_KIND_LABELS,
    BankCreate,
    BankPublic,
    FormCreate,
    FormUpdate,
    QuestionKind,
    option_letter,
)
from sessions.loading import readable_session

router = APIRouter(include_in_schema=False)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_NOTICES = {
    "bank_created": "Đã tạo bộ câu hỏi; hãy thêm câu hỏi.",
    "bank_imported": "Đã nhập bộ câu hỏi từ tệp.",
    "bank_saved": "Đã lưu bộ câu hỏi.",
    "bank_deleted": "Đã xoá bộ câu hỏi.",
    "form_created": "Đã tạo phiếu.",
    "form_saved": "Đã đổi tên phiếu.",
    "form_deleted": "Đã xoá phiếu.",
}
_LABELS = {
    "FORM_KIND_LABELS": FORM_KIND_LABELS,
    "FORM_STATUS_LABELS": FORM_STATUS_LABELS,
    "QUESTION_KIND_LABELS": QUESTION_KIND_LABELS,
    "letter": option_letter,
}
_EDITOR_SLOTS = 4  # option rows each question block shows at least
_BLANK_QUESTIONS = 2  # blank blocks below the questions, to add some without JavaScript


def _describe(exc: ValidationError) -> str:
    error = exc.errors()[0]
    loc = error["loc"]
    where = f"Câu {int(loc[1]) + 1}: " if len(loc) > 1 and loc[0] == "questions" else ""
    message = describe_validation([dict(error)])[0]["message"]
    return f"{where}{message}"


def _notice(request: Request) -> str | None:
    return _NOTICES.get(request.query_params.get("msg") or "")


# ------------------------------------------------------------------ editor


@dataclass
class Draft:
    """A question block of the editor, as stored or as typed."""

    kind: str = QuestionKind.single.value
    text: str = ""
    options: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def slots(self) -> list[tuple[str, bool]]:
        """The option rows shown: the options, then blank rows (up to 10)."""
        shown = min(MAX_OPTIONS, max(_EDITOR_SLOTS, len(self.options) + 2))
        return self.options + [("", False)] * (shown - len(self.options))


def drafts_of(bank: BankPublic) -> list[Draft]:
    """A stored bank's questions as editor blocks."""
    return [Draft(q.kind.value, q.text, [(o.label, o.correct) for o in q.options])
            for q in bank.questions]


def read_editor(fields: Mapping[str, Sequence[str]]) -> tuple[str, list[Draft]]:
    """The title and question blocks of a posted editor form, in block order; blank
    blocks, blank options and blocks ticked "Xoá" are left out."""
    def one(name: str) -> str:
        values = fields.get(name) or [""]
        return values[0]

    numbers = sorted({int(k.split("-")[1]) for k in fields
                      if k.startswith("q-") and k.split("-")[1].isdigit()
                      and len(k.split("-")[1]) <= 4})
    drafts = []
    for n in numbers[:MAX_QUESTIONS * 2]:
        if one(f"q-{n}-delete"):
            continue
        correct = set(fields.get(f"q-{n}-correct") or [])
        options = [(one(f"q-{n}-opt-{j}").strip(), str(j) in correct)
                   for j in range(1, MAX_OPTIONS + 1)]
        draft = Draft(one(f"q-{n}-kind") or QuestionKind.single.value,
                      one(f"q-{n}-text").strip(), [o for o in options if o[0]])
        if draft.kind not in {k.value for k in QuestionKind}:
            draft.kind = QuestionKind.single.value
        if draft.text or draft.options:
            drafts.append(draft)
    return one("title"), drafts


def bank_data(title: str, drafts: Sequence[Draft]) -> BankCreate:
    """The editor's blocks as the use case takes them (rating and text drop options)."""
    return BankCreate.model_validate({"title": title, "questions": [
        {"kind": d.kind, "text": d.text,
         "options": [{"label": label, "correct": ok} for label, ok in d.options]
         if d.kind in (QuestionKind.single, QuestionKind.multi) else []}
        for d in drafts]})


def _bank_page(
    request: Request, db: Session, user: User, bank_id: int, *,
    edited: tuple[str, list[Draft]] | None = None, error: AppError | str | None = None,
    status: int = 200,
) -> HTMLResponse:
    bank = forms.get_bank(db, bank_id=bank_id, actor=user)
    summary = forms.bank_summary(db, bank_id=bank_id, actor=user)
    conference = endpoints_service.get_conference(db, conference_id=bank.conference_id,
                                                  actor=user)
    title, drafts = edited or (bank.title, drafts_of(bank))
    blanks = [Draft() for _ in range(_BLANK_QUESTIONS if len(drafts) < MAX_QUESTIONS else 0)]
    return render_page(request, user, "sessions/forms_bank.html", {
        **_LABELS, "conference": conference, "bank": bank, "summary": summary,
        "title": title, "drafts": drafts + blanks, "filled": len(drafts),
        "is_admin": True, "tab": "banks", "notice": _notice(request),
        "error": error.detail if isinstance(error, AppError) else error,
        "error_code": error.code if isinstance(error, AppError) else None,
    }, status=status)


@router.get("/banks/{bank_id}", response_class=HTMLResponse)
def bank_page(request: Request, bank_id: int, db: ReadDbSession, user: AdminUser) -> Response:
    """The bank editor: question blocks with kind, text, options and correct ticks."""
    return _bank_page(request, db, user, bank_id)


# Every field of a full editor: 100 questions (and blank blocks), each with its kind,
# text, "delete" and 10 options with their ticks; more than Starlette's default 1,000.
_EDITOR_FIELDS = (MAX_QUESTIONS + _BLANK_QUESTIONS) * (3 + 2 * MAX_OPTIONS) + 10


async def _editor_form(request: Request) -> None:
    """Parse the editor's form with room for all its fields (the CSRF check, next,
    reads the same parsed form)."""
    await request.form(max_fields=_EDITOR_FIELDS)


@router.post("/banks/{bank_id}", dependencies=[Depends(_editor_form), CsrfChecked])
async def bank_submit(
    request: Request, bank_id: int, db: DbSession, user: AdminUser
) -> Response:
    """Save the whole bank as typed; a refusal shows the form again, as typed."""
    form = await request.form()
    fields = {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}
    return await run_in_threadpool(_save_bank, request, db, user, bank_id, fields)


def _save_bank(request: Request, db: Session, user: User, bank_id: int,
               fields: Mapping[str, Sequence[str]]) -> Response:
    edited = read_editor(fields)
    try:
        forms.replace_bank(db, bank_id=bank_id, data=bank_data(*edited), actor=user)
    except ValidationError as exc:
        db.rollback()
        return _bank_page(request, db, user, bank_id, edited=edited, error=_describe(exc),
                          status=422)
    except AppError as exc:
        db.rollback()
        if exc.status_code == 404:
            raise
        return _bank_page(request, db, user, bank_id, edited=edited, error=exc,
                          status=exc.status_code)
    return RedirectResponse(f"/banks/{bank_id}?msg=bank_saved", status_code=303)


@router.post("/banks/{bank_id}/delete", dependencies=[CsrfChecked])
def bank_delete_submit(request: Request, bank_id: int, db: DbSession,
                       user: AdminUser) -> Response:
    """Delete the bank (no form may ask it)."""
    conference_id = forms.get_bank(db, bank_id=bank_id, actor=user).conference_id
    try:
        forms.delete_bank(db, bank_id=bank_id, actor=user)
    except AppError as exc:
        if exc.status_code == 404:
            raise
        return _bank_page(request, db, user, bank_id, error=exc, status=exc.status_code)
    return RedirectResponse(f"/conferences/{conference_id}/banks?msg=bank_deleted",
                            status_code=303)


# ------------------------------------------------------------------ banks


def _banks_page(
    request: Request, db: Session, user: User, conference_id: int, *,
    error: AppError | str | None = None, status: int = 200,
) -> HTMLResponse:
    conference = endpoints_service.get_conference(db, conference_id=conference_id, actor=user)
    imported = error if isinstance(error, AppError) else None
    return render_page(request, user, "sessions/forms_banks.html", {
        "conference": conference, "is_admin": accounts_service.is_admin(user), "tab": "banks",
        "banks": forms.list_banks(db, conference_id=conference_id, actor=user),
        "notice": _notice(request), "new_error": error if isinstance(error, str) else None,
        **uploads.result_context(None, imported),
        "columns": form_import.COLUMN_LABELS, "kind_words": form_import.KIND_WORDS,
        "max_questions": MAX_QUESTIONS,
    }, status=status)


@router.get("/conferences/{conference_id}/banks", response_class=HTMLResponse)
def banks_page(request: Request, conference_id: int, db: ReadDbSession,
               user: AdminUser) -> Response:
    """The conference's question banks, a new one, and the import from a file."""
    return _banks_page(request, db, user, conference_id)


class NewBank(BaseModel):
    title: Annotated[str, PydField(max_length=2000)] = ""


@router.post("/conferences/{conference_id}/banks", dependencies=[CsrfChecked])
def bank_create_submit(request: Request, conference_id: int, db: DbSession, user: AdminUser,
                       form: Annotated[NewBank, Form()]) -> Response:
    """A new empty bank, then its editor."""
    try:
        bank = forms.create_bank(db, conference_id=conference_id, actor=user,
                                 data=BankCreate.model_validate({"title": form.title}))
    except ValidationError as exc:
        return _banks_page(request, db, user, conference_id, error=_describe(exc), status=422)
    return RedirectResponse(f"/banks/{bank.id}?msg=bank_created", status_code=303)


@router.post("/conferences/{conference_id}/banks/import", dependencies=[StreamedCsrf])
async def bank_import_submit(
    request: Request, conference_id: int, db: DbSession, page_db: ReadDbSession,
    user: AdminUser, settings: SettingsDep,
) -> Response:
    """Import a bank from the uploaded file, then its editor; or every bad line."""
    try:
        upload = await uploads.read_upload(request, max_bytes=settings.max_import_bytes)
        check_streamed_csrf(request, upload.fields)
        done = await run_in_threadpool(
            form_import.import_bank, db, conference_id=conference_id, actor=user,
            filename=upload.filename, data=upload.data, title=upload.fields.get("title", ""),
            max_bytes=settings.max_import_bytes)
    except AppError as exc:
        if isinstance(exc, (CsrfFailed, endpoints_errors.ConferenceNotFound)):
            raise
        return await run_in_threadpool(_banks_page, request, page_db, user, conference_id,
                                       error=exc, status=exc.status_code)
    return RedirectResponse(f"/banks/{done.bank.id}?msg=bank_imported", status_code=303)


@router.get("/conferences/{conference_id}/banks/mau.csv")
def bank_template_csv(conference_id: int, db: ReadDbSession, user: AdminUser) -> Response:
    """The import template: headers and one question of each kind (CSV, UTF-8 + BOM)."""
    endpoints_service.get_conference(db, conference_id=conference_id, actor=user)
    return Response(form_import.sample_csv(), media_type="text/csv; charset=utf-8",
                    headers=attachment("mau-bo-cau-hoi.csv"))


@router.get("/conferences/{conference_id}/banks/mau.xlsx")
def bank_template_xlsx(conference_id: int, db: ReadDbSession, user: AdminUser) -> Response:
    """The same template as an Excel workbook."""
    endpoints_service.get_conference(db, conference_id=conference_id, actor=user)
    return Response(form_import.sample_xlsx(), media_type=XLSX_TYPE,
                    headers=attachment("mau-bo-cau-hoi.xlsx"))


# ------------------------------------------------------------------ forms


def _forms_page(
    request: Request, db: Session, user: User, session_id: int, *,
    error: AppError | str | None = None, typed: Mapping[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    session = readable_session(db, session_id, user)
    conference = endpoints_service.get_conference(db, conference_id=session.conference_id,
                                                  actor=user)
    banks = forms.list_banks(db, conference_id=session.conference_id, actor=user)
    return render_page(request, user, "sessions/forms_session.html", {
        **_LABELS, "conference": conference, "session": session,
        "forms": forms.list_forms(db, session_id=session_id, actor=user),
        "banks": banks, "bank_titles": {b.id: b.title for b in banks},
        "is_admin": True, "tab": "sessions", "notice": _notice(request),
        "error": error.detail if isinstance(error, AppError) else error,
        "error_code": error.code if isinstance(error, AppError) else None,
        "typed": typed or {},
    }, status=status)


@router.get("/sessions/{session_id}/forms", response_class=HTMLResponse)
def forms_page(request: Request, session_id: int, db: ReadDbSession,
               user: AdminUser) -> Response:
    """A session's forms (pre-test, post-test, survey) and a new one from a bank."""
    return _forms_page(request, db, user, session_id)


class NewForm(BaseModel):
    kind: Annotated[str, PydField(max_length=20)] = ""
    title: Annotated[str, PydField(max_length=2000)] = ""
    bank_id: Annotated[str, PydField(max_length=20)] = ""


@router.post("/sessions/{session_id}/forms", dependencies=[CsrfChecked])
def form_create_submit(request: Request, session_id: int, db: DbSession, user: AdminUser,
                       form: Annotated[NewForm, Form()]) -> Response:
    """Make a draft form of the session."""
    try:
        data = FormCreate.model_validate(form.model_dump())
        forms.create_form(db, session_id=session_id, data=data, actor=user)
    except ValidationError as exc:
        return _forms_page(request, db, user, session_id, error=_describe(exc),
                           typed=form.model_dump(), status=422)
    except AppError as exc:
        if exc.code == "session_not_found":
            raise
        return _forms_page(request, db, user, session_id, error=exc, typed=form.model_dump(),
                           status=exc.status_code)
    return RedirectResponse(f"/sessions/{session_id}/forms?msg=form_created", status_code=303)


class RenameForm(BaseModel):
    title: Annotated[str, PydField(max_length=2000)] = ""


@router.post("/forms/{form_id}", dependencies=[CsrfChecked])
def form_rename_submit(request: Request, form_id: int, db: DbSession, user: AdminUser,
                       form: Annotated[RenameForm, Form()]) -> Response:
    """Rename a draft form."""
    session_id = forms.get_form(db, form_id=form_id, actor=user).session_id
    try:
        forms.rename_form(db, form_id=form_id, actor=user,
                          data=FormUpdate.model_validate(form.model_dump()))
    except ValidationError as exc:
        return _forms_page(request, db, user, session_id, error=_describe(exc), status=422)
    except AppError as exc:
        return _forms_page(request, db, user, session_id, error=exc, status=exc.status_code)
    return RedirectResponse(f"/sessions/{session_id}/forms?msg=form_saved", status_code=303)


@router.post("/forms/{form_id}/delete", dependencies=[CsrfChecked])
def form_delete_submit(request: Request, form_id: int, db: DbSession,
                       user: AdminUser) -> Response:
    """Delete a draft form."""
    session_id = forms.get_form(db, form_id=form_id, actor=user).session_id
    try:
        forms.delete_form(db, form_id=form_id, actor=user)
    except AppError as exc:
        return _forms_page(request, db, user, session_id, error=exc, status=exc.status_code)
    return RedirectResponse(f"/sessions/{session_id}/forms?msg=form_deleted", status_code=303)
