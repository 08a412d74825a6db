"""Imports every domain's tables so that Alembic and tests see the whole schema."""

from app.accounts.models import PasswordReset, User
from app.throttle_store import ThrottleEntry
from checkin.models import (
    Attendance,
    Attendee,
    AttendeeWord,
    Headcount,
    PassKey,
    ScanFailure,
    ScanFailureCount,
)
from endpoints.invite_models import Invite
from endpoints.models import (
    Conference,
    ConnectionTest,
    Incident,
    Participation,
    Site,
    SiteHistory,
)
from endpoints.screen_models import ScreenDevice, SitePresence, SitePresenceEvent
from sessions.models import (
    AgendaItem,
    ConferenceSession,
    FollowLinkGeneration,
    SlideDeck,
    Stage,
)

__all__ = [
    "AgendaItem",
    "Attendance",
    "Attendee",
    "AttendeeWord",
    "Conference",
    "ConferenceSession",
    "ConnectionTest",
    "FollowLinkGeneration",
    "Headcount",
    "Incident",
    "Invite",
    "Participation",
    "PassKey",
    "PasswordReset",
    "ScanFailure",
    "ScanFailureCount",
    "ScreenDevice",
    "Site",
    "SiteHistory",
    "SitePresence",
    "SitePresenceEvent",
    "SlideDeck",
    "Stage",
    "ThrottleEntry",
    "User",
]
