"""JSON API of the programme: parse → service → schema; plus the slide images."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.db import DbSession, ReadDbSession, WriteGate, WriteGateDep
from app.deps import (
    AdminUser,
    BearerToken,
    CookieCsrf,
    CurrentUser,
    HubDep,
    SettingsDep,
    find_user,
)
from endpoints import service as endpoints_service
from sessions import decks, events, follow_links, service
from sessions import stage as stage_service
from sessions.errors import DeckNotFound
from sessions.models import (
    AGENDA_KIND_LABELS,
    AgendaItem,
    AgendaItemCreate,
    AgendaItemPublic,
    AgendaItemUpdate,
    AgendaKind,
    AgendaOrder,
    DeckPublic,
    FollowLink,
    SessionCreate,
    SessionPublic,
    SessionUpdate,
    SlideDeck,
    StagePublic,
    StateUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["sessions"])
files = APIRouter(include_in_schema=False)

IMAGE_CACHE = "public, max-age=31536000, immutable"  # a key names one rendering forever


def deck_public(deck: SlideDeck) -> DeckPublic:
    """The API form of a deck."""
    assert deck.id is not None
    return DeckPublic(
        id=deck.id,
        filename=deck.filename,
        page_count=deck.page_count,
        width=deck.width,
        height=deck.height,
        sha256=deck.sha256,
        thumbnail_url=decks.page_url(deck.id, deck.key, 1),
        created_at=deck.created_at,
    )


def item_public(item: AgendaItem, deck: SlideDeck | None) -> AgendaItemPublic:
    """The API form of an agenda item."""
    assert item.id is not None
    kind = AgendaKind(item.kind)
    return AgendaItemPublic(
        id=item.id,
        session_id=item.session_id,
        position=item.position,
        kind=kind,
        kind_label=AGENDA_KIND_LABELS[kind],
        title=item.title,
        speaker=item.speaker,
        planned_start=item.planned_start,
        planned_end=item.planned_end,
        deck=None if deck is None else deck_public(deck),
    )


def stage_public(view: stage_service.StageView) -> StagePublic:
    """The API form of the stage: the websocket message without its `type`."""
    return StagePublic.model_validate(events.stage_body(view))


# ----------------------------------------------------------------- sessions


@router.post(
    "/conferences/{conference_id}/sessions",
    response_model=SessionPublic,
    status_code=201,
    dependencies=[CookieCsrf],
)
def create_session(
    conference_id: int, data: SessionCreate, db: DbSession, user: CurrentUser
) -> SessionPublic:
    """Add a session; times without an offset are Asia/Ho_Chi_Minh."""
    session = service.create_session(db, conference_id=conference_id, data=data, actor=user)
    return SessionPublic.model_validate(session, from_attributes=True)


@router.get("/conferences/{conference_id}/sessions", response_model=list[SessionPublic])
def list_sessions(conference_id: int, db: ReadDbSession, user: CurrentUser) -> list[SessionPublic]:
    """Sessions of a conference in time order."""
    found = service.list_sessions(db, conference_id=conference_id, actor=user)
    return [SessionPublic.model_validate(s, from_attributes=True) for s in found]


@router.get("/sessions/{session_id}", response_model=SessionPublic)
def get_session(session_id: int, db: ReadDbSession, user: CurrentUser) -> SessionPublic:
    """One session."""
    session = service.get_session(db, session_id=session_id, actor=user)
    return SessionPublic.model_validate(session, from_attributes=True)


@router.patch("/sessions/{session_id}", response_model=SessionPublic, dependencies=[CookieCsrf])
def update_session(
    session_id: int, data: SessionUpdate, db: DbSession, user: CurrentUser, hub: HubDep
) -> SessionPublic:
    """Change a session's title or times."""
    session = service.update_session(
        db, session_id=session_id, data=data, actor=user, publish=hub.publish
    )
    return SessionPublic.model_validate(session, from_attributes=True)


@router.post(
    "/sessions/{session_id}/close", response_model=SessionPublic, dependencies=[CookieCsrf]
)
def close_session(
    session_id: int, db: DbSession, user: CurrentUser, hub: HubDep
) -> SessionPublic:
    """End a session; screens showing it are cleared."""
    session = service.close_session(db, session_id=session_id, actor=user, publish=hub.publish)
    return SessionPublic.model_validate(session, from_attributes=True)


@router.post(
    "/sessions/{session_id}/reopen", response_model=SessionPublic, dependencies=[CookieCsrf],
    responses={409: {"description": "session_not_closed"}},
)
def reopen_session(session_id: int, db: DbSession, user: CurrentUser) -> SessionPublic:
    """Reopen a closed session (central office); 409 session_not_closed otherwise."""
    session = service.reopen_session(db, session_id=session_id, actor=user)
    return SessionPublic.model_validate(session, from_attributes=True)


# ------------------------------------------------------------------- agenda


@router.get("/sessions/{session_id}/agenda", response_model=list[AgendaItemPublic])
def list_agenda(session_id: int, db: ReadDbSession, user: CurrentUser) -> list[AgendaItemPublic]:
    """A session's agenda in order, with each item's deck."""
    entries = service.list_agenda(db, session_id=session_id, actor=user)
    return [item_public(e.item, e.deck) for e in entries]


@router.post(
    "/sessions/{session_id}/agenda",
    response_model=AgendaItemPublic,
    status_code=201,
    dependencies=[CookieCsrf],
)
def create_agenda_item(
    session_id: int, data: AgendaItemCreate, db: DbSession, user: CurrentUser, hub: HubDep
) -> AgendaItemPublic:
    """Append an item to the agenda."""
    item = service.create_agenda_item(
        db, session_id=session_id, data=data, actor=user, publish=hub.publish
    )
    return item_public(item, None)


@router.put(
    "/sessions/{session_id}/agenda/order",
    response_model=list[AgendaItemPublic],
    dependencies=[CookieCsrf],
)
def reorder_agenda(
    session_id: int, data: AgendaOrder, db: DbSession, user: CurrentUser, hub: HubDep
) -> list[AgendaItemPublic]:
    """Reorder the agenda: `ids` lists every item of the session once, in the new order."""
    service.reorder_agenda(
        db, session_id=session_id, ids=data.ids, actor=user, publish=hub.publish
    )
    entries = service.list_agenda(db, session_id=session_id, actor=user)
    return [item_public(e.item, e.deck) for e in entries]


@router.get("/agenda-items/{agenda_item_id}", response_model=AgendaItemPublic)
def get_agenda_item(
    agenda_item_id: int, db: ReadDbSession, user: CurrentUser
) -> AgendaItemPublic:
    """One agenda item with its deck."""
    entry = service.get_agenda_item(db, agenda_item_id=agenda_item_id, actor=user)
    return item_public(entry.item, entry.deck)


@router.patch(
    "/agenda-items/{agenda_item_id}", response_model=AgendaItemPublic, dependencies=[CookieCsrf]
)
def update_agenda_item(
    agenda_item_id: int, data: AgendaItemUpdate, db: DbSession, user: CurrentUser, hub: HubDep
) -> AgendaItemPublic:
    """Change an agenda item."""
    service.update_agenda_item(
        db, agenda_item_id=agenda_item_id, data=data, actor=user, publish=hub.publish
    )
    entry = service.get_agenda_item(db, agenda_item_id=agenda_item_id, actor=user)
    return item_public(entry.item, entry.deck)


@router.delete(
    "/agenda-items/{agenda_item_id}", status_code=204, dependencies=[CookieCsrf]
)
def delete_agenda_item(
    agenda_item_id: int, db: DbSession, user: CurrentUser, hub: HubDep, settings: SettingsDep
) -> Response:
    """Remove an agenda item and its deck."""
    service.delete_agenda_item(
        db,
        agenda_item_id=agenda_item_id,
        actor=user,
        publish=hub.publish,
        data_dir=settings.data_dir,
    )
    return Response(status_code=204)


# -------------------------------------------------------------------- decks


@router.post(
    "/agenda-items/{agenda_item_id}/deck",
    response_model=DeckPublic,
    status_code=201,
    dependencies=[CookieCsrf],
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                }
            },
            "required": True,
        }
    },
)
async def upload_deck(
    agenda_item_id: int,
    request: Request,
    db: DbSession,
    user: AdminUser,
    hub: HubDep,
    settings: SettingsDep,
) -> DeckPublic:
    """Upload a PDF (multipart field `file`); its pages become the item's slides."""
    deck = await receive_and_render(
        request, db=db, agenda_item_id=agenda_item_id, user=user, hub=hub, settings=settings
    )
    return deck_public(deck)


async def receive_and_render(
    request: Request,
    *,
    db: DbSession,
    agenda_item_id: int,
    user: AdminUser,
    hub: HubDep,
    settings: SettingsDep,
    check_fields: Callable[[dict[str, str]], None] | None = None,
) -> SlideDeck:
    """Stream the upload to disk within the size limit, then render it in a worker thread."""
    received = await decks.receive_pdf(
        request, data_dir=settings.data_dir, max_bytes=settings.max_deck_bytes
    )
    try:
        if check_fields is not None:
            check_fields(received.fields)
        return await run_in_threadpool(
            lambda: service.upload_deck(
                db,
                agenda_item_id=agenda_item_id,
                source=received.path,
                filename=received.filename,
                sha256=received.sha256,
                actor=user,
                data_dir=settings.data_dir,
                max_pages=settings.max_deck_pages,
                publish=hub.publish,
                render_seconds=settings.deck_render_seconds,
            )
        )
    finally:
        received.path.unlink(missing_ok=True)


@router.get("/agenda-items/{agenda_item_id}/deck", response_model=DeckPublic)
def get_deck(agenda_item_id: int, db: ReadDbSession, user: CurrentUser) -> DeckPublic:
    """The deck of an agenda item."""
    entry = service.get_agenda_item(db, agenda_item_id=agenda_item_id, actor=user)
    if entry.deck is None:
        raise DeckNotFound()
    return deck_public(entry.deck)


@files.get("/decks/{deck_id}/{key}/{page}.png")
def deck_image(
    deck_id: int,
    key: Annotated[str, PathParam(max_length=64)],
    page: int,
    db: ReadDbSession,
    settings: SettingsDep,
) -> FileResponse:
    """A rendered slide, for whoever holds the deck's key (screens, phones: no login)."""
    path: Path = service.deck_page(
        db, deck_id=deck_id, key=key, page=page, data_dir=settings.data_dir
    )
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": IMAGE_CACHE})


# -------------------------------------------------------------------- stage


@router.put(
    "/sessions/{session_id}/state", response_model=StagePublic, dependencies=[CookieCsrf]
)
async def set_state(
    session_id: int, data: StateUpdate, request: Request, bearer: BearerToken,
    gate: WriteGateDep, settings: SettingsDep, hub: HubDep,
) -> Response:
    """Move what every site screen shows; answers the new stage with its `version`."""
    # Published from here, on the loop, once the change is committed: a publish from
    # the worker thread waits for the loop to take the GIL (1-3 ms per command
    # measured, tens of ms at worst on a busy box) before the command can answer.
    outbox: list[tuple[str, str]] = []
    try:
        body = await gate.run(_set_state_and_encode, request, session_id, data, bearer,
                              gate, settings, outbox)
    finally:
        for channel, message in outbox:
            hub.publish(channel, message)
    # Encoded in the worker thread; the declared response_model documents the shape.
    return Response(body, media_type="application/json")


def _set_state_and_encode(
    request: Request, session_id: int, data: StateUpdate, bearer: str | None,
    gate: WriteGate, settings: Settings, outbox: list[tuple[str, str]],
) -> bytes:
    """Auth, the change and its JSON in one hop, as a check-in does: as plain sync
    dependencies (read session, user, write session) and a sync route, a presenter's
    click took four thread hops, each waiting for the GIL behind the event loop
    (bench/fanout.py, 100 screens). The account is looked up on every command."""
    user = find_user(request, db=gate.read_session, settings=settings, bearer=bearer)
    with gate.session() as db:
        view = stage_service.set_state(
            db, session_id=session_id, data=data, actor=user,
            publish=lambda channel, message: outbox.append((channel, message)),
        )
    return stage_public(view).model_dump_json().encode()


@router.get("/conferences/{conference_id}/stage", response_model=StagePublic)
def get_stage(conference_id: int, db: ReadDbSession, user: CurrentUser) -> StagePublic:
    """What the conference's screens show now."""
    return stage_public(stage_service.read_stage(db, conference_id=conference_id, actor=user))


def _follow_link(request: Request, conference: Any, token: str, settings: Settings) -> FollowLink:
    ends = follow_links.expires_at(conference, grace_days=settings.follow_grace_days)
    return FollowLink(token=token, url=str(request.url_for("follow_page", token=token)),
                      expires_at=datetime.fromtimestamp(ends, UTC))


@router.get("/conferences/{conference_id}/follow-link", response_model=FollowLink)
def follow_link(
    conference_id: int,
    request: Request,
    db: ReadDbSession,
    user: CurrentUser,
    settings: SettingsDep,
) -> FollowLink:
    """The attendees' read-only follow-along link of a conference (share it as a QR): for
    anyone taking part; it stops working when the conference ends (`expires_at`) or when
    the central office rotates it."""
    conference = endpoints_service.get_conference(db, conference_id=conference_id, actor=user)
    token = follow_links.current_token(db, conference_id=conference_id,
                                       secret=settings.secret_key)
    return _follow_link(request, conference, token, settings)


@router.post("/conferences/{conference_id}/follow-link/rotate", response_model=FollowLink,
             dependencies=[CookieCsrf])
def rotate_follow_link(
    conference_id: int,
    request: Request,
    db: DbSession,
    user: AdminUser,
    settings: SettingsDep,
) -> FollowLink:
    """A new follow link (central office): every link given out before is refused with
    `follow_link_revoked` (in other server processes within a few seconds)."""
    token = follow_links.rotate(db, conference_id=conference_id, actor=user,
                                secret=settings.secret_key)
    conference = endpoints_service.get_conference(db, conference_id=conference_id, actor=user)
    return _follow_link(request, conference, token, settings)


@router.get("/follow/{token}/agenda", response_model=list[AgendaItemPublic],
            responses={404: {"description": "follow_link_invalid"},
                       410: {"description": "follow_link_revoked, follow_link_expired"}})
def follow_agenda(
    token: Annotated[str, PathParam(max_length=200)],
    db: ReadDbSession,
    settings: SettingsDep,
) -> list[AgendaItemPublic]:
    """The agenda of the session on stage, for a follow-along link (no login)."""
    conference_id = follow_links.conference_of(db, token=token, secret=settings.secret_key,
                                               grace_days=settings.follow_grace_days)
    entries = stage_service.stage_agenda(db, conference_id=conference_id)
    return [item_public(e.item, None) for e in entries]
