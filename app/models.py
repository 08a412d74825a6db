"""Imports every domain's tables so that Alembic and tests see the whole schema."""

from app.accounts.models import PasswordReset, User
from app.audit.models import AuditEntry, AuditKey
from app.throttle_store import ThrottleEntry
from checkin.answer_models import FormAnswer, FormChoice, FormTally
from checkin.models import (
    Attendance,
    Attendee,
    AttendeeWord,
    Headcount,
    PassKey,
    ScanFailure,
    ScanFailureCount,
)
from checkin.offline_models import OfflineReceipt, OfflineSync
from checkin.privacy_models import DataRequest
from endpoints.invite_models import Invite, NoticeAcceptance
from endpoints.models import (
    Conference,
    ConnectionTest,
    Incident,
    Participation,
    Site,
    SiteHistory,
)
from endpoints.screen_models import ScreenDevice, SitePresence, SitePresenceEvent
from sessions.floor_models import FloorQuestion, FloorRequest
from sessions.form_models import BankOption, BankQuestion, QuestionBank, TrainingForm
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
    "AuditEntry",
    "AuditKey",
    "BankOption",
    "BankQuestion",
    "Conference",
    "ConferenceSession",
    "ConnectionTest",
    "DataRequest",
    "FloorQuestion",
    "FloorRequest",
    "FollowLinkGeneration",
    "FormAnswer",
    "FormChoice",
    "FormTally",
    "Headcount",
    "Incident",
    "Invite",
    "NoticeAcceptance",
    "OfflineReceipt",
    "OfflineSync",
    "Participation",
    "PassKey",
    "PasswordReset",
    "QuestionBank",
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
    "TrainingForm",
    "User",
]
