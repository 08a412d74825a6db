"""Use cases of the programme: sessions, agenda and slide decks (the stage is in stage.py).

Every function is keyword-only and takes the acting user (except the stage snapshot
read, which the websocket layer authorizes). Writes are admin-only and commit before
they publish: a message on the stage channel always describes committed state, and a
refused or failed change publishes nothing. Any change to what the stage shows (an
agenda edit of the session on stage, a replaced deck) bumps the stage version too,
so screens never show stale titles or "next" items.

Session status: "live" means started (the presenter has put it on stage at least
once) and not closed; which session the screens show is the stage's `session_id`.

The floor's personal data (`floor_privacy`) is re-exported here: checkin's rights and
retention purge reach sessions only through this module.
"""

import hmac
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.audit import service as audit_service
from app.db import utcnow
from app.realtime import Publish
from endpoints import service as endpoints_service
from sessions import decks, errors, floor_questions, follow_links, form_stage
from sessions.events import StageView as StageView
from sessions.floor_models import FloorQuestion
from sessions.floor_privacy import SentQuestion as SentQuestion
from sessions.floor_privacy import attendee_questions as attendee_questions
from sessions.floor_privacy import erase_attendee_questions as erase_attendee_questions
from sessions.floor_privacy import floor_to_purge as floor_to_purge
from sessions.floor_privacy import purge_floor as purge_floor
from sessions.form_bank import AnswerItem as AnswerItem
from sessions.form_bank import BankView as BankView
from sessions.form_bank import Checked as Checked
from sessions.form_bank import FormRow as FormRow
from sessions.form_bank import Picked as Picked
from sessions.form_bank import QuestionView as QuestionView
from sessions.form_bank import check_answer as check_answer
from sessions.form_bank import form_for_answers as form_for_answers
from sessions.form_bank import require_open as require_open
from sessions.form_models import CHOICE_KINDS as CHOICE_KINDS
from sessions.form_models import FORM_KIND_LABELS as FORM_KIND_LABELS
from sessions.form_models import RATING_MAX as RATING_MAX
from sessions.form_models import RATING_MIN as RATING_MIN
from sessions.form_models import TEST_KINDS as TEST_KINDS
from sessions.form_models import FormKind as FormKind
from sessions.form_models import FormStatus as FormStatus
from sessions.form_models import QuestionKind as QuestionKind
from sessions.form_models import TrainingForm as TrainingForm
from sessions.form_models import option_letter as option_letter
from sessions.loading import (
    AgendaEntry,
    deck_of,
    load_item,
    load_session,
    readable_session,
    session_items,
)
from sessions.models import (
    AgendaItem,
    AgendaItemCreate,
    AgendaItemUpdate,
    ConferenceSession,
    SessionCreate,
    SessionStatus,
    SessionUpdate,
    SlideDeck,
    Stage,
)
from sessions.stage import (
    announce,
    build_view,
    leave_floor,
    locked_stage,
    restage,
    tell_chairs,
)

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


def live_session(db: Session, *, conference_id: int, actor: User) -> ConferenceSession | None:
    """The session going on now: the one on stage if it is live, else the live one that
    started last; None between sessions. Pages default their counts to it."""
    live = [s for s in list_sessions(db, conference_id=conference_id, actor=actor)
            if s.status == SessionStatus.live]
    if not live:
        return None
    on_stage = db.exec(select(Stage.session_id).where(Stage.conference_id == conference_id)).first()
    return next((s for s in live if s.id == on_stage), live[-1])


def get_session(db: Session, *, session_id: int, actor: User) -> ConferenceSession:
    """One session of a conference the actor takes part in."""
    return readable_session(db, session_id, actor)


def update_session(
    db: Session, *, session_id: int, data: SessionUpdate, actor: User, publish: Publish
) -> ConferenceSession:
    """Change a session's title or times; screens showing it follow."""
    accounts_service.require_admin(actor)
    session = load_session(db, session_id)
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
    view = restage(db, conference_id=session.conference_id, session_id=session_id)
    db.commit()
    announce(publish, view)
    return session


def close_session(
    db: Session, *, session_id: int, actor: User, publish: Publish
) -> ConferenceSession:
    """End a session for good; screens showing it are cleared (the notice stays)."""
    accounts_service.require_admin(actor)
    session = load_session(db, session_id)
    session.status = SessionStatus.closed
    db.add(session)
    db.flush()
    stage = locked_stage(db, session.conference_id)
    left = None
    if stage is not None and stage.session_id == session_id:
        left = leave_floor(db, stage)  # its chairs hear of it below
    view = restage(
        db,
        conference_id=session.conference_id,
        session_id=session_id,
        values={"session_id": None, "agenda_item_id": None, "slide": None,
                "speaker_id": None, "question_id": None, "form_id": None,
                "form_results": False},
    )
    db.commit()
    announce(publish, view)
    if left is not None:
        tell_chairs(publish, conference_id=session.conference_id, session_id=session_id,
                    version=left[1])
    return session


def reopen_session(db: Session, *, session_id: int, actor: User) -> ConferenceSession:
    """Undo "Kết thúc phiên" (central office): the session is scheduled again, and the
    presenter's next move puts it back on stage (and live). 409 when it is not closed."""
    accounts_service.require_admin(actor)
    session = load_session(db, session_id)
    # Conditional: of two central-office tabs reopening at once, one wins, one is told.
    reopened = db.execute(
        update(ConferenceSession)
        .where(col(ConferenceSession.id) == session_id,
               col(ConferenceSession.status) == SessionStatus.closed)
        .values(status=SessionStatus.scheduled)
        .execution_options(synchronize_session=False)
    )
    if reopened.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise errors.SessionNotClosed()
    # A statement the ORM listener cannot see: the log is told.
    audit_service.record(db, action="reopen", object_type="conference_session",
                         object_id=session_id, conference_id=session.conference_id)
    db.commit()
    db.refresh(session)
    return session


# ------------------------------------------------------------------ agenda


def list_agenda(db: Session, *, session_id: int, actor: User) -> list[AgendaEntry]:
    """The agenda of a session in order, each item with its deck."""
    readable_session(db, session_id, actor)
    items = session_items(db, session_id)
    ids = [i.id for i in items]
    found = db.exec(select(SlideDeck).where(col(SlideDeck.agenda_item_id).in_(ids))).all()
    by_item = {d.agenda_item_id: d for d in found}
    return [AgendaEntry(i, by_item.get(i.id or 0)) for i in items]


def get_agenda_item(db: Session, *, agenda_item_id: int, actor: User) -> AgendaEntry:
    """One agenda item (with its deck) of a conference the actor takes part in."""
    item = load_item(db, agenda_item_id)
    try:
        readable_session(db, item.session_id, actor)
    except errors.SessionNotFound as exc:
        raise errors.AgendaItemNotFound() from exc
    return AgendaEntry(item, deck_of(db, agenda_item_id))


def create_agenda_item(
    db: Session, *, session_id: int, data: AgendaItemCreate, actor: User, publish: Publish
) -> AgendaItem:
    """Append an item to a session's agenda."""
    accounts_service.require_admin(actor)
    session = load_session(db, session_id)
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
    view = restage(db, conference_id=session.conference_id, session_id=session_id)
    db.commit()
    announce(publish, view)
    return item


def update_agenda_item(
    db: Session, *, agenda_item_id: int, data: AgendaItemUpdate, actor: User, publish: Publish
) -> AgendaItem:
    """Change an agenda item; `null` clears the speaker or a planned time."""
    accounts_service.require_admin(actor)
    item = load_item(db, agenda_item_id)
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
    session = load_session(db, item.session_id)
    view = restage(db, conference_id=session.conference_id, session_id=session.id or 0)
    db.commit()
    announce(publish, view)
    return item


def delete_agenda_item(
    db: Session, *, agenda_item_id: int, actor: User, publish: Publish, data_dir: Path
) -> None:
    """Remove an agenda item and its deck; a screen showing it drops to the session title."""
    accounts_service.require_admin(actor)
    item = load_item(db, agenda_item_id)
    session = load_session(db, item.session_id)
    stage = locked_stage(db, session.conference_id)
    values: dict[str, Any] = {}
    if stage is not None and stage.agenda_item_id == agenda_item_id:
        values = {"agenda_item_id": None, "slide": None}
    # The stage must stop pointing at the item before the row goes (foreign key).
    view = restage(
        db, conference_id=session.conference_id, session_id=session.id or 0, values=values
    )
    deck = deck_of(db, agenda_item_id)
    if deck is not None:
        db.delete(deck)
        db.flush()
    db.delete(item)
    db.flush()
    if view is not None:
        view = build_view(db, session.conference_id)
    db.commit()
    if deck is not None and deck.id is not None:
        decks.remove_other_versions(data_dir, deck.id, keep=None)
    announce(publish, view)


def reorder_agenda(
    db: Session, *, session_id: int, ids: list[int], actor: User, publish: Publish
) -> list[AgendaItem]:
    """Put a session's agenda in the given order; `ids` must name every item exactly once."""
    accounts_service.require_admin(actor)
    session = load_session(db, session_id)
    items = session_items(db, session_id)
    by_id = {i.id: i for i in items}
    if len(ids) != len(by_id) or set(ids) != set(by_id):
        raise errors.AgendaOrderMismatch()
    for position, item_id in enumerate(ids):
        item = by_id[item_id]
        if item.position != position:
            item.position = position
            db.add(item)
    db.flush()
    view = restage(db, conference_id=session.conference_id, session_id=session_id)
    db.commit()
    announce(publish, view)
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
    item = load_item(db, agenda_item_id)
    ids = [i.id or 0 for i in session_items(db, item.session_id)]
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
    render_seconds: float = decks.DEFAULT_RENDER_SECONDS,
) -> SlideDeck:
    """Render a PDF into slide images (within `render_seconds`) and attach it to an item."""
    accounts_service.require_admin(actor)
    load_item(db, agenda_item_id)
    # Rendering takes seconds: hold no transaction (no SQLite write lock) meanwhile.
    db.rollback()
    rendered = decks.render_pdf(source, data_dir=data_dir, max_pages=max_pages,
                                render_seconds=render_seconds)
    installed: Path | None = None
    try:
        item = load_item(db, agenda_item_id)
        session = load_session(db, item.session_id)
        deck = deck_of(db, agenda_item_id) or SlideDeck(
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
        stage = locked_stage(db, session.conference_id)
        values: dict[str, Any] = {}
        if stage is not None and stage.agenda_item_id == agenda_item_id:
            values = {"slide": min(max(stage.slide or 1, 1), rendered.page_count)}
        view = restage(
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
    announce(publish, view)
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


def follow_link_token(
    db: Session, *, conference_id: int, secret: str, grace_days: int
) -> str | None:
    """The conference's current follow-along token, to offer an attendee (e.g. after a
    self check-in); None once its links have expired."""
    return follow_links.offered_token(db, conference_id=conference_id, secret=secret,
                                      grace_days=grace_days)


def follow_conference(db: Session, *, token: str, secret: str, grace_days: int) -> int:
    """The conference of a follow-along link (404 follow_link_invalid, 410 revoked or
    expired): the other domains' way to check one."""
    return follow_links.conference_of(db, token=token, secret=secret, grace_days=grace_days)


def ask_question_on_stage(
    db: Session, *, conference_id: int, text: str, publish: Publish,
    attendee_id: int | None = None, site_id: int | None = None,
) -> FloorQuestion:
    """A written question from an attendee's phone for the session on stage (the caller
    checked the follow link and the personal code)."""
    return floor_questions.ask_on_stage(db, conference_id=conference_id, text=text,
                                        publish=publish, attendee_id=attendee_id,
                                        site_id=site_id)


def show_form_results(
    db: Session, *, form_id: int, results_json: str, actor: User, publish: Publish
) -> StageView:
    """Show a closed form's results, counted by checkin and frozen as `results_json`, on
    every screen (sessions.form_stage.show_results)."""
    return form_stage.show_results(db, form_id=form_id, results_json=results_json,
                                   actor=actor, publish=publish)
