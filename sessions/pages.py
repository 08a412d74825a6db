"""HTML pages of the programme: sessions, agenda editor, presenter console, follow-along.

Every form post calls the same service function as the JSON API, then redirects
(post/redirect/get); a refused change re-renders the page with the reason.
"""

import json
from datetime import datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import DbSession, ReadDbSession, utcnow
from app.deps import (
    AdminUser,
    CsrfChecked,
    CurrentUser,
    HubDep,
    SettingsDep,
    StreamedCsrf,
    check_streamed_csrf,
)
from app.errors import AppError, CsrfFailed, describe_validation
from app.templating import render, render_page
from endpoints import service as endpoints_service
from sessions import events, follow_links, form_stage, minutes, service
from sessions import stage as stage_service
from sessions.follow_view import follow_context
from sessions.form_models import FORM_KIND_LABELS
from sessions.models import (
    AGENDA_KIND_LABELS,
    LOCAL_TZ,
    SESSION_STATUS_LABELS,
    AgendaItemCreate,
    AgendaItemUpdate,
    ConferenceSession,
    SessionCreate,
    SessionUpdate,
)
from sessions.routes import deck_public, item_public, receive_and_render

router = APIRouter(include_in_schema=False)

_NOTICES = {
    "session_created": "Đã tạo phiên họp.",
    "follow_rotated": "Đã đổi đường dẫn theo dõi; đường dẫn và mã QR cũ không còn dùng được.",
    "session_saved": "Đã lưu phiên họp.",
    "session_closed": "Đã kết thúc phiên họp.",
    "session_reopened": "Đã mở lại phiên họp.",
    "item_added": "Đã thêm mục chương trình.",
    "item_saved": "Đã lưu mục chương trình.",
    "item_deleted": "Đã xoá mục chương trình.",
    "item_moved": "Đã đổi thứ tự.",
    "deck_uploaded": "Đã tải lên bài trình chiếu.",
}
_FIELDS = {
    "title": "Tiêu đề",
    "starts_at": "Giờ bắt đầu",
    "ends_at": "Giờ kết thúc",
    "kind": "Loại",
    "speaker": "Người trình bày",
    "planned_start": "Giờ bắt đầu dự kiến",
    "planned_end": "Giờ kết thúc dự kiến",
}

templates_globals = {
    "AGENDA_KIND_LABELS": AGENDA_KIND_LABELS,
    "SESSION_STATUS_LABELS": SESSION_STATUS_LABELS,
}


class SessionForm(BaseModel):
    """The title and times of a session as typed in its form."""

    title: str = Field(max_length=2000)
    starts_at: str = Field(max_length=2000)
    ends_at: str = Field(max_length=2000)


def _describe(exc: ValidationError) -> str:
    first = describe_validation([dict(e) for e in exc.errors()])[0]
    field = _FIELDS.get(first["field"], first["field"])
    return f"{field}: {first['message']}".strip(": ") if field else str(first["message"])


def _blank(value: str | None) -> str | None:
    return value if value and value.strip() else None


def _local_input(value: datetime | None) -> str:
    """A stored time as a `datetime-local` input value."""
    return "" if value is None else value.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def _on_session_day(session: ConferenceSession, value: str | None) -> datetime | str | None:
    # Agenda times are typed as HH:MM; they fall on the session's local day.
    value = _blank(value)
    if value is None:
        return None
    try:
        clock = time.fromisoformat(value)
    except ValueError:
        return value  # let validation say it is not a time
    day = session.starts_at.astimezone(LOCAL_TZ).date()
    return datetime.combine(day, clock, tzinfo=LOCAL_TZ)


def _script_json(text: str) -> Markup:
    # JSON inside <script>: no "<" at all, so no </script> or <!-- can end it early.
    return Markup(text.replace("<", "\\u003c"))  # noqa: S704 - escaped above


# ---------------------------------------------------------------- sessions


def _sessions_page(
    request: Request,
    db: Session,
    user: User,
    conference_id: int,
    *,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    conference = endpoints_service.get_conference(db, conference_id=conference_id, actor=user)
    is_admin = accounts_service.is_admin(user)
    return render_page(
        request,
        user,
        "sessions/list.html",
        {
            **templates_globals,
            "conference": conference,
            "sessions": service.list_sessions(db, conference_id=conference_id, actor=user),
            "stage": stage_service.read_stage(db, conference_id=conference_id, actor=user),
            "is_admin": is_admin,
            "tab": "sessions",
            **follow_context(request, db, conference),
            "error": error,
            "form": form or {},
            "notice": _NOTICES.get(request.query_params.get("msg") or ""),
        },
        status=status,
    )


@router.post("/conferences/{conference_id}/follow-link/rotate", dependencies=[CsrfChecked])
def rotate_follow_link_submit(
    conference_id: int, db: DbSession, user: AdminUser, settings: SettingsDep
) -> Response:
    """Replace the follow link (central office): the old link and QR stop working."""
    follow_links.rotate(db, conference_id=conference_id, actor=user, secret=settings.secret_key)
    return RedirectResponse(f"/conferences/{conference_id}/sessions?msg=follow_rotated#follow",
                            status_code=303)


@router.get("/conferences/{conference_id}/sessions", response_class=HTMLResponse)
def sessions_page(
    conference_id: int, request: Request, db: ReadDbSession, user: CurrentUser
) -> Response:
    """The sessions of a conference, the follow-along link and (for admins) a create form."""
    return _sessions_page(request, db, user, conference_id)


@router.post("/conferences/{conference_id}/sessions", dependencies=[CsrfChecked])
def create_session_submit(
    conference_id: int,
    request: Request,
    db: DbSession,
    user: AdminUser,
    form: Annotated[SessionForm, Form()],
) -> Response:
    """Create a session from the form, then open its agenda editor."""
    try:
        data = SessionCreate.model_validate(form.model_dump())
        session = service.create_session(db, conference_id=conference_id, data=data, actor=user)
    except ValidationError as exc:
        return _sessions_page(
            request, db, user, conference_id, error=_describe(exc), form=form.model_dump(),
            status=422,
        )
    return RedirectResponse(f"/sessions/{session.id}?msg=session_created", status_code=303)


# ------------------------------------------------------------ session page


def _session_page(
    request: Request,
    db: Session,
    user: User,
    session_id: int,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    session = service.get_session(db, session_id=session_id, actor=user)
    conference = endpoints_service.get_conference(
        db, conference_id=session.conference_id, actor=user
    )
    stage = stage_service.read_stage(db, conference_id=session.conference_id, actor=user)
    return render_page(
        request,
        user,
        "sessions/detail.html",
        {
            **templates_globals,
            "conference": conference,
            "session": session,
            "agenda": service.list_agenda(db, session_id=session_id, actor=user),
            "stage": stage,
            "is_admin": accounts_service.is_admin(user),
            "tab": "sessions",
            **follow_context(request, db, conference),
            **minutes.page_context(db, session_id=session_id, actor=user),
            "local_input": _local_input,
            "error": error,
            "notice": _NOTICES.get(request.query_params.get("msg") or ""),
        },
        status=status,
    )


def _refused(
    request: Request, db: Session, user: User, session_id: int, exc: Exception
) -> Response:
    db.rollback()
    if isinstance(exc, ValidationError):
        return _session_page(request, db, user, session_id, error=_describe(exc), status=422)
    assert isinstance(exc, AppError)
    return _session_page(request, db, user, session_id, error=exc.detail, status=exc.status_code)


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def session_page(
    session_id: int, request: Request, db: ReadDbSession, user: CurrentUser
) -> Response:
    """A session with its agenda (editable by the central office)."""
    return _session_page(request, db, user, session_id)


@router.post("/sessions/{session_id}", dependencies=[CsrfChecked])
def update_session_submit(
    session_id: int,
    request: Request,
    db: DbSession,
    user: AdminUser,
    hub: HubDep,
    form: Annotated[SessionForm, Form()],
) -> Response:
    """Save the session's title and times."""
    try:
        data = SessionUpdate.model_validate(form.model_dump())
        service.update_session(
            db, session_id=session_id, data=data, actor=user, publish=hub.publish
        )
    except (ValidationError, AppError) as exc:
        return _refused(request, db, user, session_id, exc)
    return RedirectResponse(f"/sessions/{session_id}?msg=session_saved", status_code=303)


@router.post("/sessions/{session_id}/close", dependencies=[CsrfChecked])
def close_session_submit(
    session_id: int, db: DbSession, user: AdminUser, hub: HubDep
) -> Response:
    """End the session."""
    service.close_session(db, session_id=session_id, actor=user, publish=hub.publish)
    return RedirectResponse(f"/sessions/{session_id}?msg=session_closed", status_code=303)


# ------------------------------------------------------------------ agenda


class ItemForm(BaseModel):
    """An agenda item as typed in the editor; blank speaker and times mean none."""

    title: str = Field(max_length=2000)
    kind: str = Field(max_length=2000)
    speaker: str | None = Field(default=None, max_length=2000)
    planned_start: str | None = Field(default=None, max_length=2000)
    planned_end: str | None = Field(default=None, max_length=2000)

    def values(self, session: ConferenceSession) -> dict[str, Any]:
        """The item's fields, with times placed on the session's local day."""
        return {
            "title": self.title,
            "kind": self.kind,
            "speaker": _blank(self.speaker),
            "planned_start": _on_session_day(session, self.planned_start),
            "planned_end": _on_session_day(session, self.planned_end),
        }


@router.post("/sessions/{session_id}/agenda", dependencies=[CsrfChecked])
def add_item_submit(
    session_id: int,
    request: Request,
    db: DbSession,
    user: AdminUser,
    hub: HubDep,
    form: Annotated[ItemForm, Form()],
) -> Response:
    """Append an item to the agenda."""
    session = service.get_session(db, session_id=session_id, actor=user)
    try:
        data = AgendaItemCreate.model_validate(form.values(session))
        item = service.create_agenda_item(
            db, session_id=session_id, data=data, actor=user, publish=hub.publish
        )
    except (ValidationError, AppError) as exc:
        return _refused(request, db, user, session_id, exc)
    return RedirectResponse(
        f"/sessions/{session_id}?msg=item_added#item-{item.id}", status_code=303
    )


@router.post("/agenda-items/{agenda_item_id}", dependencies=[CsrfChecked])
def edit_item_submit(
    agenda_item_id: int,
    request: Request,
    db: DbSession,
    user: AdminUser,
    hub: HubDep,
    form: Annotated[ItemForm, Form()],
) -> Response:
    """Save an agenda item (empty speaker or times clear them)."""
    entry = service.get_agenda_item(db, agenda_item_id=agenda_item_id, actor=user)
    session_id = entry.item.session_id
    session = service.get_session(db, session_id=session_id, actor=user)
    try:
        data = AgendaItemUpdate.model_validate(form.values(session))
        service.update_agenda_item(
            db, agenda_item_id=agenda_item_id, data=data, actor=user, publish=hub.publish
        )
    except (ValidationError, AppError) as exc:
        return _refused(request, db, user, session_id, exc)
    return RedirectResponse(
        f"/sessions/{session_id}?msg=item_saved#item-{agenda_item_id}", status_code=303
    )


@router.post("/agenda-items/{agenda_item_id}/delete", dependencies=[CsrfChecked])
def delete_item_submit(
    agenda_item_id: int, db: DbSession, user: AdminUser, hub: HubDep, settings: SettingsDep
) -> Response:
    """Remove an agenda item and its slides."""
    entry = service.get_agenda_item(db, agenda_item_id=agenda_item_id, actor=user)
    service.delete_agenda_item(
        db,
        agenda_item_id=agenda_item_id,
        actor=user,
        publish=hub.publish,
        data_dir=settings.data_dir,
    )
    return RedirectResponse(
        f"/sessions/{entry.item.session_id}?msg=item_deleted", status_code=303
    )


@router.post("/agenda-items/{agenda_item_id}/move", dependencies=[CsrfChecked])
def move_item_submit(
    agenda_item_id: int,
    db: DbSession,
    user: AdminUser,
    hub: HubDep,
    direction: Annotated[Literal["up", "down"], Form()],
) -> Response:
    """Move an item one place up or down."""
    items = service.move_agenda_item(
        db, agenda_item_id=agenda_item_id, direction=direction, actor=user, publish=hub.publish
    )
    session_id = items[0].session_id
    return RedirectResponse(
        f"/sessions/{session_id}?msg=item_moved#item-{agenda_item_id}", status_code=303
    )


@router.post("/agenda-items/{agenda_item_id}/deck", dependencies=[StreamedCsrf])
async def upload_deck_submit(
    agenda_item_id: int,
    request: Request,
    db: DbSession,
    user: AdminUser,
    hub: HubDep,
    settings: SettingsDep,
) -> Response:
    """Upload a PDF for an item from the agenda editor."""
    # Read the CSRF token from the streamed form: parsing it first would buffer the file.
    entry = service.get_agenda_item(db, agenda_item_id=agenda_item_id, actor=user)
    session_id = entry.item.session_id
    db.rollback()
    try:
        await receive_and_render(
            request,
            db=db,
            agenda_item_id=agenda_item_id,
            user=user,
            hub=hub,
            settings=settings,
            check_fields=lambda fields: check_streamed_csrf(request, fields),
        )
    except AppError as exc:
        if isinstance(exc, CsrfFailed):
            raise
        return _refused(request, db, user, session_id, exc)
    return RedirectResponse(
        f"/sessions/{session_id}?msg=deck_uploaded#item-{agenda_item_id}", status_code=303
    )


# --------------------------------------------------------- presenter console


@router.get("/sessions/{session_id}/console", response_class=HTMLResponse)
def console_page(
    session_id: int, request: Request, db: ReadDbSession, user: AdminUser
) -> Response:
    """The presenter console: moves the agenda, slides and notice on every site screen."""
    session = service.get_session(db, session_id=session_id, actor=user)
    conference = endpoints_service.get_conference(
        db, conference_id=session.conference_id, actor=user
    )
    agenda = service.list_agenda(db, session_id=session_id, actor=user)
    stage = stage_service.read_stage(db, conference_id=session.conference_id, actor=user)
    data = {
        "session_id": session_id,
        "conference_id": session.conference_id,
        "closed": session.status == "closed",
        "items": [
            {
                **item_public(e.item, None).model_dump(mode="json", exclude={"deck"}),
                "pages": e.deck.page_count if e.deck else 0,
                "thumbnail": deck_public(e.deck).thumbnail_url if e.deck else None,
            }
            for e in agenda
        ],
        "stage": json.loads(events.encode_stage("snapshot", stage)),
        "forms": [{"id": f.id, "kind_label": FORM_KIND_LABELS[f.kind], "title": f.title,
                   "status": str(f.status)}
                  for f in form_stage.session_forms(db, session_id=session_id, actor=user)],
    }
    return render_page(
        request,
        user,
        "sessions/console.html",
        {
            **templates_globals,
            "conference": conference,
            "session": session,
            "agenda": agenda,
            "stage": stage,
            "console_json": _script_json(json.dumps(data, ensure_ascii=False)),
        },
    )


# ------------------------------------------------------------ follow-along


@router.get("/follow/{token}", response_class=HTMLResponse, name="follow_page")
def follow_page(
    token: str, request: Request, db: ReadDbSession, settings: SettingsDep
) -> Response:
    """Attendees' phone page: the agenda and the current slide, live, without a login."""
    conference_id = follow_links.conference_of(db, token=token, secret=settings.secret_key,
                                               grace_days=settings.follow_grace_days)
    stage = stage_service.get_stage(db, conference_id=conference_id)
    agenda = stage_service.stage_agenda(db, conference_id=conference_id)
    return render(
        request,
        "sessions/follow.html",
        {
            **templates_globals,
            "stage": stage,
            "agenda": [e.item for e in agenda],
            "token": token,
            "conference_id": conference_id,
            "stage_json": _script_json(events.encode_stage("snapshot", stage)),
            "server_now": utcnow().isoformat(),  # the floor's timer: the phone's clock may be off
        },
    )
