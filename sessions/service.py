"""Use cases of the programme: sessions, agenda, slide decks and the stage every screen follows.

Every function is keyword-only and takes the acting user (except the stage snapshot
read, which the websocket layer authorizes). Writes are admin-only and commit before
they publish: a message on the stage channel always describes committed state, and a
refused or failed change publishes nothing. Any change to what the stage shows (an
agenda edit of the session on stage, a replaced deck) bumps the stage version too,
so screens never show stale titles or "next" items.

Session status: "live" means started (the presenter has put it on stage at least
once) and not closed; which session the screens show is the stage's `session_id`.
"""

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import utcnow
from app.errors import NotFound
from app.realtime import Publish
from endpoints import service as endpoints_service
from sessions import decks, errors, events
from sessions.events import StageItem, StageSession, StageSlide
from sessions.events import StageView as StageView
from sessions.models import (
    AGENDA_KIND_LABELS,
    AgendaItem,
    AgendaItemCreate,
    AgendaItemUpdate,
    AgendaKind,
    ConferenceSession,
    SessionCreate,
    SessionStatus,
    SessionUpdate,
    SlideDeck,
    Stage,
    StateUpdate,
)

FOLLOW_SALT = "diemcau.follow"
NEXT_ITEMS = 3


@dataclass(frozen=True, slots=True)
class AgendaEntry:
    """An agenda item with its slide deck, if it has one."""

    item: AgendaItem
    deck: SlideDeck | None


# ------------------------------------------------------------- follow links


def follow_token(*, conference_id: int, secret: str) -> str:
    """A signed token naming a conference: the attendees' read-only follow-along link."""
    return URLSafeSerializer(secret, salt=FOLLOW_SALT).dumps({"c": conference_id})


def conference_for_follow_token(*, token: str, secret: str) -> int | None:
    """The conference a follow token names, or None when it is forged or malformed."""
    if len(token) > 200:
        return None
    try:
        data = URLSafeSerializer(secret, salt=FOLLOW_SALT).loads(token)
    except BadSignature:
        return None
    value = data.get("c") if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# ----------------------------------------------------------------- loading


def _session(db: Session, session_id: int) -> ConferenceSession:
    session = db.get(ConferenceSession, session_id)
    if session is None:
        raise errors.SessionNotFound()
    return session


def _readable_session(db: Session, session_id: int, actor: User) -> ConferenceSession:
    session = _session(db, session_id)
    try:
        endpoints_service.get_conference(db, conference_id=session.conference_id, actor=actor)
    except NotFound as exc:
        raise errors.SessionNotFound() from exc
    return session


def _item(db: Session, agenda_item_id: int) -> AgendaItem:
    item = db.get(AgendaItem, agenda_item_id)
    if item is None:
        raise errors.AgendaItemNotFound()
    return item


def _items(db: Session, session_id: int) -> list[AgendaItem]:
    return list(
        db.exec(
            select(AgendaItem)
            .where(AgendaItem.session_id == session_id)
            .order_by(col(AgendaItem.position), col(AgendaItem.id))
        ).all()
    )


def _deck_of(db: Session, agenda_item_id: int) -> SlideDeck | None:
    return db.exec(select(SlideDeck).where(SlideDeck.agenda_item_id == agenda_item_id)).first()


# ---------------------------------------------------------------- sessions


def create_session(
    db: Session, *, conference_id: int, data: SessionCreate, actor: User
) -> ConferenceSession:
    """Add a session to a conference (central office only)."""
    accounts_service.require_admin(actor)
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    session = ConferenceSession(
        conference_id=conference_id,
        title=data.title,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
    )
    db.add(session)
    db.commit()
    return session


def list_sessions(
    db: Session, *, conference_id: int, actor: User
) -> Sequence[ConferenceSession]:
    """Sessions of a conference the actor takes part in, in time order."""
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    return db.exec(
        select(ConferenceSession)
        .where(ConferenceSession.conference_id == conference_id)
        .order_by(col(ConferenceSession.starts_at), col(ConferenceSession.id))
    ).all()


def get_session(db: Session, *, session_id: int, actor: User) -> ConferenceSession:
    """One session of a conference the actor takes part in."""
    return _readable_session(db, session_id, actor)


def update_session(
    db: Session, *, session_id: int, data: SessionUpdate, actor: User, publish: Publish
) -> ConferenceSession:
    """Change a session's title or times; screens showing it follow."""
    accounts_service.require_admin(actor)
    session = _session(db, session_id)
    changes = data.model_dump(exclude_unset=True)
    for field in ("title", "starts_at", "ends_at"):
        # null means "keep" here: a session always has a title and times.
        if changes.get(field) is not None:
            setattr(session, field, changes[field])
    if session.ends_at <= session.starts_at:
        db.rollback()
        raise errors.SessionTimesInvalid()
    db.add(session)
    db.flush()
    view = _restage(db, conference_id=session.conference_id, session_id=session_id)
    db.commit()
    _announce(publish, view)
    return session


def close_session(
    db: Session, *, session_id: int, actor: User, publish: Publish
) -> ConferenceSession:
    """End a session for good; screens showing it are cleared (the notice stays)."""
    accounts_service.require_admin(actor)
    session = _session(db, session_id)
    session.status = SessionStatus.closed
    db.add(session)
    db.flush()
    view = _restage(
        db,
        conference_id=session.conference_id,
        session_id=session_id,
        values={"session_id": None, "agenda_item_id": None, "slide": None},
    )
    db.commit()
    _announce(publish, view)
    return session


# ------------------------------------------------------------------ agenda


def list_agenda(db: Session, *, session_id: int, actor: User) -> list[AgendaEntry]:
    """The agenda of a session in order, each item with its deck."""
    _readable_session(db, session_id, actor)
    items = _items(db, session_id)
    ids = [i.id for i in items]
    found = db.exec(select(SlideDeck).where(col(SlideDeck.agenda_item_id).in_(ids))).all()
    by_item = {d.agenda_item_id: d for d in found}
    return [AgendaEntry(i, by_item.get(i.id or 0)) for i in items]


def get_agenda_item(db: Session, *, agenda_item_id: int, actor: User) -> AgendaEntry:
    """One agenda item (with its deck) of a conference the actor takes part in."""
    item = _item(db, agenda_item_id)
    try:
        _readable_session(db, item.session_id, actor)
    except errors.SessionNotFound as exc:
        raise errors.AgendaItemNotFound() from exc
    return AgendaEntry(item, _deck_of(db, agenda_item_id))


def create_agenda_item(
    db: Session, *, session_id: int, data: AgendaItemCreate, actor: User, publish: Publish
) -> AgendaItem:
    """Append an item to a session's agenda."""
    accounts_service.require_admin(actor)
    session = _session(db, session_id)
    last = db.exec(
        select(func.max(AgendaItem.position)).where(AgendaItem.session_id == session_id)
    ).one()
    item = AgendaItem(
        session_id=session_id,
        position=(last + 1) if last is not None else 0,
        kind=data.kind,
        title=data.title,
        speaker=data.speaker,
        planned_start=data.planned_start,
        planned_end=data.planned_end,
    )
    db.add(item)
    db.flush()
    view = _restage(db, conference_id=session.conference_id, session_id=session_id)
    db.commit()
    _announce(publish, view)
    return item


def update_agenda_item(
    db: Session, *, agenda_item_id: int, data: AgendaItemUpdate, actor: User, publish: Publish
) -> AgendaItem:
    """Change an agenda item; `null` clears the speaker or a planned time."""
    accounts_service.require_admin(actor)
    item = _item(db, agenda_item_id)
    changes = data.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if field in ("title", "kind") and value is None:
            continue  # required fields: null keeps the current value
        setattr(item, field, value)
    if item.planned_start and item.planned_end and item.planned_end <= item.planned_start:
        db.rollback()
        raise errors.SessionTimesInvalid()
    db.add(item)
    db.flush()
    session = _session(db, item.session_id)
    view = _restage(db, conference_id=session.conference_id, session_id=session.id or 0)
    db.commit()
    _announce(publish, view)
    return item


def delete_agenda_item(
    db: Session, *, agenda_item_id: int, actor: User, publish: Publish, data_dir: Path
) -> None:
    """Remove an agenda item and its deck; a screen showing it drops to the session title."""
    accounts_service.require_admin(actor)
    item = _item(db, agenda_item_id)
    session = _session(db, item.session_id)
    stage = _locked_stage(db, session.conference_id)
    values: dict[str, Any] = {}
    if stage is not None and stage.agenda_item_id == agenda_item_id:
        values = {"agenda_item_id": None, "slide": None}
    # The stage must stop pointing at the item before the row goes (foreign key).
    view = _restage(
        db, conference_id=session.conference_id, session_id=session.id or 0, values=values
    )
    deck = _deck_of(db, agenda_item_id)
    if deck is not None:
        db.delete(deck)
        db.flush()
    db.delete(item)
    db.flush()
    if view is not None:
        view = _build_view(db, session.conference_id)
    db.commit()
    if deck is not None and deck.id is not None:
        decks.remove_other_versions(data_dir, deck.id, keep=None)
    _announce(publish, view)


def reorder_agenda(
    db: Session, *, session_id: int, ids: list[int], actor: User, publish: Publish
) -> list[AgendaItem]:
    """Put a session's agenda in the given order; `ids` must name every item exactly once."""
    accounts_service.require_admin(actor)
    session = _session(db, session_id)
    items = _items(db, session_id)
    by_id = {i.id: i for i in items}
    if len(ids) != len(by_id) or set(ids) != set(by_id):
        raise errors.AgendaOrderMismatch()
    for position, item_id in enumerate(ids):
        item = by_id[item_id]
        if item.position != position:
            item.position = position
            db.add(item)
    db.flush()
    view = _restage(db, conference_id=session.conference_id, session_id=session_id)
    db.commit()
    _announce(publish, view)
    return [by_id[i] for i in ids]


def move_agenda_item(
    db: Session,
    *,
    agenda_item_id: int,
    direction: Literal["up", "down"],
    actor: User,
    publish: Publish,
) -> list[AgendaItem]:
    """Swap an item with its neighbour above or below (the agenda editor's arrows)."""
    accounts_service.require_admin(actor)
    item = _item(db, agenda_item_id)
    ids = [i.id or 0 for i in _items(db, item.session_id)]
    index = ids.index(agenda_item_id)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
    return reorder_agenda(
        db, session_id=item.session_id, ids=ids, actor=actor, publish=publish
    )


# ------------------------------------------------------------------- decks


def upload_deck(
    db: Session,
    *,
    agenda_item_id: int,
    source: Path,
    filename: str,
    sha256: str,
    actor: User,
    data_dir: Path,
    max_pages: int,
    publish: Publish,
) -> SlideDeck:
    """Render a PDF into slide images and attach it to an agenda item (replacing any deck)."""
    accounts_service.require_admin(actor)
    _item(db, agenda_item_id)
    # Rendering takes seconds: hold no transaction (no SQLite write lock) meanwhile.
    db.rollback()
    rendered = decks.render_pdf(source, data_dir=data_dir, max_pages=max_pages)
    installed: Path | None = None
    try:
        item = _item(db, agenda_item_id)
        session = _session(db, item.session_id)
        deck = _deck_of(db, agenda_item_id) or SlideDeck(
            agenda_item_id=agenda_item_id, filename="", page_count=0, sha256="", key="",
            width=0, height=0,
        )
        deck.filename = filename[:255]
        deck.page_count = rendered.page_count
        deck.sha256 = sha256
        deck.key = decks.new_key()
        deck.width, deck.height = rendered.width, rendered.height
        deck.created_at = utcnow()
        db.add(deck)
        db.flush()
        assert deck.id is not None
        installed = decks.install(rendered, data_dir=data_dir, deck_id=deck.id, key=deck.key)
        stage = _locked_stage(db, session.conference_id)
        values: dict[str, Any] = {}
        if stage is not None and stage.agenda_item_id == agenda_item_id:
            values = {"slide": min(max(stage.slide or 1, 1), rendered.page_count)}
        view = _restage(
            db, conference_id=session.conference_id, session_id=session.id or 0, values=values
        )
        db.commit()
    except IntegrityError as exc:
        db.rollback()
        decks.discard(installed or rendered.folder)
        raise errors.AgendaItemNotFound() from exc  # deleted (or re-uploaded) meanwhile
    except BaseException:
        db.rollback()
        decks.discard(installed or rendered.folder)
        raise
    assert deck.id is not None
    decks.remove_other_versions(data_dir, deck.id, keep=deck.key)
    _announce(publish, view)
    return deck


def deck_page(db: Session, *, deck_id: int, key: str, page: int, data_dir: Path) -> Path:
    """The image of one page, for whoever holds the deck's key (screens, phones)."""
    deck = db.get(SlideDeck, deck_id)
    if deck is None or not hmac.compare_digest(deck.key.encode(), key.encode()):
        raise errors.DeckNotFound()
    path = decks.page_file(data_dir, deck_id, deck.key, page)
    if path is None or page > deck.page_count:
        raise errors.DeckNotFound()
    return path


# ------------------------------------------------------------------- stage


def _ensure_stage(db: Session, conference_id: int) -> None:
    # One row per conference, created by whoever comes first; never a read-then-insert.
    insert = sqlite_insert if db.get_bind().dialect.name == "sqlite" else pg_insert
    db.execute(
        insert(Stage)
        .values(conference_id=conference_id, version=0, changed_at=utcnow())
        .on_conflict_do_nothing(index_elements=["conference_id"])
    )


def _locked_stage(db: Session, conference_id: int) -> Stage | None:
    # FOR UPDATE on PostgreSQL: a concurrent command waits instead of overwriting ours.
    return db.exec(
        select(Stage)
        .where(Stage.conference_id == conference_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _bump(db: Session, conference_id: int, values: dict[str, Any]) -> None:
    # The increment happens in the database: two writers can never get the same version.
    db.execute(
        update(Stage)
        .where(col(Stage.conference_id) == conference_id)
        .values(version=col(Stage.version) + 1, changed_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )


def _restage(
    db: Session,
    *,
    conference_id: int,
    session_id: int,
    values: dict[str, Any] | None = None,
) -> StageView | None:
    """Bump the stage when it shows `session_id`; the view to publish after commit, or None."""
    stage = _locked_stage(db, conference_id)
    if stage is None or stage.session_id != session_id:
        return None
    _bump(db, conference_id, values or {})
    return _build_view(db, conference_id)


def _announce(publish: Publish, view: StageView | None) -> None:
    if view is not None:
        publish(events.stage_channel(view.conference_id), events.encode_stage("state", view))


def _stage_item(item: AgendaItem) -> StageItem:
    kind = AgendaKind(item.kind)
    return StageItem(
        id=item.id or 0,
        title=item.title,
        kind=kind.value,
        kind_label=AGENDA_KIND_LABELS[kind],
        speaker=item.speaker,
        position=item.position,
    )


def _build_view(db: Session, conference_id: int) -> StageView:
    title = endpoints_service.conference_title(db, conference_id=conference_id)
    if title is None:
        raise NotFound("Không tìm thấy hội nghị.")
    stage = db.exec(
        select(Stage)
        .where(Stage.conference_id == conference_id)
        .execution_options(populate_existing=True)
    ).first()
    if stage is None:
        return StageView(0, conference_id, title, None, None, (), None, None, utcnow())
    session_view = None
    item_view = None
    upcoming: tuple[StageItem, ...] = ()
    slide_view = None
    if stage.session_id is not None:
        # Fresh from the database: this transaction may have just changed its status.
        session = db.get(ConferenceSession, stage.session_id, populate_existing=True)
        if session is None:
            raise errors.SessionNotFound()
        session_view = StageSession(
            id=session.id or 0,
            title=session.title,
            starts_at=session.starts_at,
            ends_at=session.ends_at,
            status=SessionStatus(session.status).value,
        )
        items = _items(db, stage.session_id)
        ids = [i.id for i in items]
        after = ids.index(stage.agenda_item_id) + 1 if stage.agenda_item_id in ids else 0
        if stage.agenda_item_id in ids:
            item_view = _stage_item(items[after - 1])
        upcoming = tuple(_stage_item(i) for i in items[after : after + NEXT_ITEMS])
        deck = _deck_of(db, stage.agenda_item_id) if stage.agenda_item_id else None
        if deck is not None and deck.id is not None and stage.slide is not None:
            number = min(max(stage.slide, 1), deck.page_count)
            url = decks.page_url(deck.id, deck.key, number)
            slide_view = StageSlide(number, deck.page_count, url)
    return StageView(
        version=stage.version,
        conference_id=conference_id,
        conference_title=title,
        session=session_view,
        item=item_view,
        next=upcoming,
        slide=slide_view,
        notice=stage.notice,
        changed_at=stage.changed_at,
    )


def get_stage(db: Session, *, conference_id: int) -> StageView:
    """What the conference's screens show now (the caller has authorized the reader)."""
    return _build_view(db, conference_id)


def stage_agenda(db: Session, *, conference_id: int) -> list[AgendaEntry]:
    """The agenda of the session on stage (empty when none); for follow-along links."""
    stage = db.get(Stage, conference_id)
    if stage is None or stage.session_id is None:
        return []
    return [AgendaEntry(i, None) for i in _items(db, stage.session_id)]


def read_stage(db: Session, *, conference_id: int, actor: User) -> StageView:
    """The stage of a conference the actor takes part in."""
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    return _build_view(db, conference_id)


def _target_slide(
    data: StateUpdate, stage: Stage, same_item: bool, deck: SlideDeck | None
) -> int | None:
    if "slide" in data.model_fields_set:
        slide = data.slide
        if slide is None:
            return None
        if deck is None:
            if slide != 1:
                raise errors.SlideOutOfRange("Mục này chưa có bài trình chiếu.")
            return None
        if not 1 <= slide <= deck.page_count:
            raise errors.SlideOutOfRange(
                f"Số trang phải từ 1 đến {deck.page_count}."
            )
        return slide
    if deck is None:
        return None
    if same_item and stage.slide is not None:
        return min(max(stage.slide, 1), deck.page_count)
    return 1


def set_state(
    db: Session, *, session_id: int, data: StateUpdate, actor: User, publish: Publish
) -> StageView:
    """Move what every screen shows: the agenda item, the slide, the notice."""
    accounts_service.require_admin(actor)
    try:
        view = _change_stage(db, session_id=session_id, data=data)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    _announce(publish, view)
    return view


def _change_stage(db: Session, *, session_id: int, data: StateUpdate) -> StageView:
    session = _session(db, session_id)
    if session.status == SessionStatus.closed:
        raise errors.SessionClosed()
    cid = session.conference_id
    _ensure_stage(db, cid)
    stage = _locked_stage(db, cid)
    assert stage is not None
    same_session = stage.session_id == session_id
    fields = data.model_fields_set
    if "agenda_item_id" in fields:
        item_id = data.agenda_item_id
    else:
        item_id = stage.agenda_item_id if same_session else None
    deck = None
    if item_id is not None:
        item = db.get(AgendaItem, item_id)
        if item is None or item.session_id != session_id:
            raise errors.AgendaItemNotInSession()
        deck = _deck_of(db, item_id)
    same_item = same_session and item_id == stage.agenda_item_id
    slide = _target_slide(data, stage, same_item, deck)
    notice = data.notice if "notice" in fields else stage.notice
    started = db.execute(
        update(ConferenceSession)
        .where(
            col(ConferenceSession.id) == session_id,
            col(ConferenceSession.status) != SessionStatus.closed,
        )
        .values(status=SessionStatus.live)
        .execution_options(synchronize_session=False)
    )
    if started.rowcount != 1:  # type: ignore[attr-defined]
        raise errors.SessionClosed()  # closed by someone else meanwhile
    _bump(
        db,
        cid,
        {"session_id": session_id, "agenda_item_id": item_id, "slide": slide, "notice": notice},
    )
    return _build_view(db, cid)
