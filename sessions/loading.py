"""Loading the programme's rows by id, shared by the programme and the stage."""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.errors import NotFound
from endpoints import service as endpoints_service
from sessions import errors
from sessions.events import StageView as StageView
from sessions.models import (
    AgendaItem,
    ConferenceSession,
    SlideDeck,
)


@dataclass(frozen=True, slots=True)
class AgendaEntry:
    """An agenda item with its slide deck, if it has one."""

    item: AgendaItem
    deck: SlideDeck | None



def load_session(db: Session, session_id: int) -> ConferenceSession:
    """A session by id (no scope check), or SessionNotFound."""
    session = db.get(ConferenceSession, session_id)
    if session is None:
        raise errors.SessionNotFound()
    return session


def readable_session(db: Session, session_id: int, actor: User) -> ConferenceSession:
    """A session of a conference the actor takes part in (404 otherwise)."""
    session = load_session(db, session_id)
    try:
        endpoints_service.get_conference(db, conference_id=session.conference_id, actor=actor)
    except NotFound as exc:
        raise errors.SessionNotFound() from exc
    return session


def load_item(db: Session, agenda_item_id: int) -> AgendaItem:
    """An agenda item by id, or AgendaItemNotFound."""
    item = db.get(AgendaItem, agenda_item_id)
    if item is None:
        raise errors.AgendaItemNotFound()
    return item


def session_items(db: Session, session_id: int) -> list[AgendaItem]:
    """The agenda items of a session in agenda order."""
    return list(
        db.exec(
            select(AgendaItem)
            .where(AgendaItem.session_id == session_id)
            .order_by(col(AgendaItem.position), col(AgendaItem.id))
        ).all()
    )


def deck_of(db: Session, agenda_item_id: int) -> SlideDeck | None:
    """The slide deck of an agenda item, if it has one."""
    return db.exec(select(SlideDeck).where(SlideDeck.agenda_item_id == agenda_item_id)).first()
