"""JSON API of writing training forms: question banks (and their import) and the forms of
a session. Central office only; the rules are in `sessions.forms`."""

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app import uploads
from app.db import DbSession, ReadDbSession
from app.deps import CookieCsrf, CurrentUser, SettingsDep
from sessions import form_import, forms
from sessions.form_models import (
    BankCreate,
    BankPublic,
    BankSummary,
    FormCreate,
    FormPublic,
    FormUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["forms"])
_BANK: dict[int | str, dict[str, object]] = {404: {"description": "bank_not_found"}}
_FORM: dict[int | str, dict[str, object]] = {404: {"description": "form_not_found"}}


@router.get("/conferences/{conference_id}/banks", response_model=list[BankSummary])
def list_banks(conference_id: int, db: ReadDbSession, user: CurrentUser) -> list[BankSummary]:
    """The conference's question banks: size, forms asking each, locked once one opened."""
    return forms.list_banks(db, conference_id=conference_id, actor=user)


@router.post(
    "/conferences/{conference_id}/banks", response_model=BankPublic, status_code=201,
    dependencies=[CookieCsrf],
    responses={422: {"description": "question_invalid"}},
)
def create_bank(conference_id: int, data: BankCreate, db: DbSession,
                user: CurrentUser) -> BankPublic:
    """A new question bank (options in order: A, B…; `correct` marks a test's answers)."""
    bank = forms.create_bank(db, conference_id=conference_id, data=data, actor=user)
    assert bank.id is not None
    return forms.get_bank(db, bank_id=bank.id, actor=user)


class BankImportResult(BaseModel):
    """An accepted bank import: the new bank and what was read."""

    bank: BankPublic
    created: int
    rows: int
    encoding: str
    warnings: list[str]
    by_kind: dict[str, int]


@router.post(
    "/conferences/{conference_id}/banks/import", response_model=BankImportResult,
    status_code=201, dependencies=[CookieCsrf],
    responses={413: {"description": "file_too_large, too_many_rows"},
               415: {"description": "unsupported_file, encoding_unsupported"},
               422: {"description": "import_invalid (with per-line `errors`), missing_columns"}},
)
async def import_bank(
    conference_id: int, request: Request, db: DbSession, user: CurrentUser,
    settings: SettingsDep,
) -> BankImportResult:
    """A bank from a CSV/XLSX file (multipart: `file`, and `title`, else the file's name):
    Câu hỏi, Loại, A…J, Đáp án, one question a row. All or none."""
    upload = await uploads.read_upload(request, max_bytes=settings.max_import_bytes)
    done = await run_in_threadpool(
        form_import.import_bank, db, conference_id=conference_id, actor=user,
        filename=upload.filename, data=upload.data, title=upload.fields.get("title", ""),
        max_bytes=settings.max_import_bytes)
    assert done.bank.id is not None
    bank = await run_in_threadpool(forms.get_bank, db, bank_id=done.bank.id, actor=user)
    r = done.report
    return BankImportResult(bank=bank, created=r.created, rows=r.rows, encoding=r.encoding,
                            warnings=r.warnings, by_kind=r.counts)


@router.get("/banks/{bank_id}", response_model=BankPublic, responses=_BANK)
def get_bank(bank_id: int, db: ReadDbSession, user: CurrentUser) -> BankPublic:
    """A bank with its questions, options and correct answers."""
    return forms.get_bank(db, bank_id=bank_id, actor=user)


@router.put(
    "/banks/{bank_id}", response_model=BankPublic, dependencies=[CookieCsrf],
    responses={**_BANK, 409: {"description": "bank_in_use"},
               422: {"description": "question_invalid, bank_not_a_test, bank_not_a_survey, "
                                    "bank_empty"}},
)
def replace_bank(bank_id: int, data: BankCreate, db: DbSession, user: CurrentUser) -> BankPublic:
    """Replace the bank's title and questions (until a form asking it is opened)."""
    forms.replace_bank(db, bank_id=bank_id, data=data, actor=user)
    return forms.get_bank(db, bank_id=bank_id, actor=user)


@router.delete(
    "/banks/{bank_id}", status_code=204, dependencies=[CookieCsrf],
    responses={**_BANK, 409: {"description": "bank_in_use"}},
)
def delete_bank(bank_id: int, db: DbSession, user: CurrentUser) -> Response:
    """Delete a bank no form asks."""
    forms.delete_bank(db, bank_id=bank_id, actor=user)
    return Response(status_code=204)


@router.get("/sessions/{session_id}/forms", response_model=list[FormPublic])
def list_forms(session_id: int, db: ReadDbSession, user: CurrentUser) -> list[FormPublic]:
    """The session's forms (pre-tests, post-tests, surveys)."""
    return [forms.form_public(f) for f in forms.list_forms(db, session_id=session_id,
                                                           actor=user)]


@router.post(
    "/sessions/{session_id}/forms", response_model=FormPublic, status_code=201,
    dependencies=[CookieCsrf],
    responses={404: {"description": "session_not_found, bank_not_found"},
               422: {"description": "bank_not_a_test, bank_not_a_survey, bank_empty, "
                                    "bank_not_in_conference"}},
)
def create_form(session_id: int, data: FormCreate, db: DbSession,
                user: CurrentUser) -> FormPublic:
    """A draft form of the session asking a bank of its conference."""
    return forms.form_public(forms.create_form(db, session_id=session_id, data=data,
                                               actor=user))


@router.get("/forms/{form_id}", response_model=FormPublic, responses=_FORM)
def get_form(form_id: int, db: ReadDbSession, user: CurrentUser) -> FormPublic:
    """One form."""
    return forms.form_public(forms.get_form(db, form_id=form_id, actor=user))


@router.patch(
    "/forms/{form_id}", response_model=FormPublic, dependencies=[CookieCsrf],
    responses={**_FORM, 409: {"description": "form_not_draft"}},
)
def rename_form(form_id: int, data: FormUpdate, db: DbSession, user: CurrentUser) -> FormPublic:
    """A draft form's new title."""
    return forms.form_public(forms.rename_form(db, form_id=form_id, data=data, actor=user))


@router.delete(
    "/forms/{form_id}", status_code=204, dependencies=[CookieCsrf],
    responses={**_FORM, 409: {"description": "form_not_draft"}},
)
def delete_form(form_id: int, db: DbSession, user: CurrentUser) -> Response:
    """Delete a draft form."""
    forms.delete_form(db, form_id=form_id, actor=user)
    return Response(status_code=204)
