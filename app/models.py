"""Imports every domain's tables so that Alembic and tests see the whole schema."""

from checkin.models import (
    Attendance,
    Attendee,
    AttendeeWord,
    Headcount,
    PassKey,
    ScanFailure,
)
from endpoints.models import Conference, Invite, ScreenDevice, Site, User
from sessions.models import AgendaItem, ConferenceSession, SlideDeck, Stage

__all__ = [
    "AgendaItem",
    "Attendance",
    "Attendee",
    "AttendeeWord",
    "Conference",
    "ConferenceSession",
    "Headcount",
    "Invite",
    "PassKey",
    "ScanFailure",
    "ScreenDevice",
    "Site",
    "SlideDeck",
    "Stage",
    "User",
]
