"""Imports every domain's tables so that Alembic and tests see the whole schema."""

from endpoints.models import Conference, Invite, ScreenDevice, Site, User
from sessions.models import AgendaItem, ConferenceSession, SlideDeck, Stage

__all__ = [
    "AgendaItem",
    "Conference",
    "ConferenceSession",
    "Invite",
    "ScreenDevice",
    "Site",
    "SlideDeck",
    "Stage",
    "User",
]
