"""JSON API of the data subject's rights: one person's data (JSON, CSV), its correction
and erasure (central office; a coordinator within their subtree), and the central
office's queue of the attendees' requests."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from app.accounts import service as accounts_service
from app.db import DbSession, ReadDbSession
from app.deps import AdminUser, CookieCsrf, CurrentUser, SettingsDep
from app.tabular.export import csv_chunks
from checkin import attendee_links, data_requests, rights, roster
from checkin.rights_models import (
    AttendeeCorrection,
    Identity,
    OwnLink,
    PersonalData,
    QueueItem,
    RefuseBody,
)

router = APIRouter(prefix="/api/v1", tags=["data-rights"])
_NO_STORE = {"Cache-Control": "private, no-store"}
_ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "attendee_not_found"},
           409: {"description": "attendee_already_erased, attendee_erased"}}
_QUEUE_ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "data_request_not_found"},
                 409: {"description": "data_request_closed, attendee_erased"}}


@router.get("/attendees/{attendee_id}/data", response_model=PersonalData, responses=_ERRORS)
def export_json(attendee_id: int, db: DbSession, user: CurrentUser) -> PersonalData:
    """Everything held about one person: identity (with basis, who supplied it and when),
    attendance with times and places, answers, requests. Recorded as an export."""
    return rights.export_data(db, attendee_id=attendee_id, actor=user, fmt="json")


@router.get("/attendees/{attendee_id}/data.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}, **_ERRORS})
def export_csv(attendee_id: int, db: DbSession, user: CurrentUser) -> StreamingResponse:
    """The same as CSV (UTF-8 with BOM; text that a spreadsheet would run is quoted)."""
    data = rights.export_data(db, attendee_id=attendee_id, actor=user, fmt="csv")
    headers = {**_NO_STORE,
               "Content-Disposition": f'attachment; filename="du-lieu-dai-bieu-{attendee_id}.csv"'}
    return StreamingResponse(csv_chunks(rights.csv_rows(data)), media_type="text/csv",
                             headers=headers)


@router.get("/attendees/{attendee_id}/link", response_model=OwnLink,
            responses={404: {"description": "attendee_not_found"}})
def own_link(
    attendee_id: int, request: Request, db: ReadDbSession, user: CurrentUser,
    settings: SettingsDep,
) -> OwnLink:
    """The attendee's personal link, to send them (it dies when their pass is reissued)."""
    attendee = roster.get_attendee(db, attendee_id=attendee_id, actor=user)
    token = attendee_links.link_token(attendee, secret=settings.secret_key)
    return OwnLink(url=f"{str(request.base_url).rstrip('/')}/p/{token}", token=token)


def _identity(db: DbSession, attendee_id: int, user: CurrentUser) -> Identity:
    attendee = rights.find_attendee(db, attendee_id=attendee_id, actor=user)
    whole = accounts_service.is_admin(user)
    return rights.personal_data(db, attendee=attendee, whole_phone=whole).identity


@router.patch("/attendees/{attendee_id}", response_model=Identity, responses=_ERRORS,
              dependencies=[CookieCsrf])
def correct_attendee(
    attendee_id: int, changes: AttendeeCorrection, db: DbSession, user: CurrentUser
) -> Identity:
    """Correct full_name, unit, position or phone (a field sent as null is cleared)."""
    rights.correct(db, attendee_id=attendee_id, actor=user, changes=changes)
    return _identity(db, attendee_id, user)


@router.post("/attendees/{attendee_id}/erase", response_model=Identity, responses=_ERRORS,
             dependencies=[CookieCsrf])
def erase_attendee(attendee_id: int, db: DbSession, user: CurrentUser) -> Identity:
    """Replace the identity with an anonymous id; attendance still counts in every total.
    A second erasure is refused with 409 `attendee_already_erased`."""
    rights.erase(db, attendee_id=attendee_id, actor=user)
    return _identity(db, attendee_id, user)


@router.get("/data-requests", response_model=list[QueueItem])
def list_requests(
    db: DbSession, user: AdminUser, conference_id: int | None = None,
    open_only: bool = False,
) -> list[QueueItem]:
    """The attendees' requests: open ones first (oldest first), then the latest handled."""
    return data_requests.queue(db, actor=user, conference_id=conference_id,
                               open_only=open_only)


@router.post("/data-requests/{request_id}/correct", response_model=QueueItem,
             responses=_QUEUE_ERRORS, dependencies=[CookieCsrf])
def handle_correct(
    request_id: int, changes: AttendeeCorrection, db: DbSession, user: AdminUser
) -> QueueItem:
    """Correct the attendee and close the request."""
    return data_requests.handle_correct(db, request_id=request_id, actor=user, changes=changes)


@router.post("/data-requests/{request_id}/erase", response_model=QueueItem,
             responses=_QUEUE_ERRORS, dependencies=[CookieCsrf])
def handle_erase(request_id: int, db: DbSession, user: AdminUser) -> QueueItem:
    """Erase the attendee and close the request (and their other open ones)."""
    return data_requests.handle_erase(db, request_id=request_id, actor=user)


@router.post("/data-requests/{request_id}/refuse", response_model=QueueItem,
             responses=_QUEUE_ERRORS, dependencies=[CookieCsrf])
def refuse_request(
    request_id: int, body: RefuseBody, db: DbSession, user: AdminUser
) -> QueueItem:
    """Close the request without acting on it; the reason is shown to the attendee."""
    return data_requests.refuse(db, request_id=request_id, actor=user, reason=body.reason)
