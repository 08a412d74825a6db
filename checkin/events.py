"""Realtime messages about attendance and their channel names. Pure: no I/O.

One small message per first check-in or headcount report; the dashboard coalesces
them (a national opening makes hundreds per second). Messages carry ids and counts
only, never a name.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


def attendance_channel(conference_id: int) -> str:
    """The channel of attendance changes of a conference."""
    return f"conference:{conference_id}:attendance"


def _encode(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True, slots=True)
class CheckinMessage:
    """A first check-in, as :func:`encode_checkin` sends it."""

    conference_id: int
    site_id: int
    session_id: int | None
    attendee_id: int
    foreign_site: bool
    at: datetime
    # Also the attendee's first check-in at the conference level (always true of a
    # conference-level one): the conference's dashboard counts it.
    conference: bool = False


@dataclass(frozen=True, slots=True)
class CheckoutMessage:
    """An attendee left, as :func:`encode_checkout` sends it."""

    conference_id: int
    site_id: int
    session_id: int | None
    attendee_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class HeadcountMessage:
    """A headcount report, as :func:`encode_headcount` sends it."""

    conference_id: int
    site_id: int
    session_id: int | None
    total: int
    at: datetime


@dataclass(frozen=True, slots=True)
class SyncedMessage:
    """A site sent back what it queued offline, as :func:`encode_synced` sends it."""

    conference_id: int
    site_id: int
    checkins: int
    headcounts: int
    refused: int
    oldest: datetime | None
    at: datetime


AttendanceMessage = CheckinMessage | CheckoutMessage | HeadcountMessage | SyncedMessage


def encode_checkin(
    *,
    conference_id: int,
    site_id: int,
    session_id: int | None,
    attendee_id: int,
    foreign_site: bool,
    at: datetime,
    conference: bool = False,
) -> str:
    """`{"type": "checkin", ...}`: one more attendee present at a site (`conference`: and
    at the conference, counted by its dashboard)."""
    return _encode(
        {
            "type": "checkin",
            "conference_id": conference_id,
            "site_id": site_id,
            "session_id": session_id,
            "attendee_id": attendee_id,
            "foreign_site": foreign_site,
            "at": at.isoformat(),
            "conference": conference,
        }
    )


def decode_checkin(body: dict[str, Any]) -> CheckinMessage:
    """The parsed body of an :func:`encode_checkin` message."""
    return CheckinMessage(
        conference_id=int(body["conference_id"]), site_id=int(body["site_id"]),
        session_id=_optional_int(body.get("session_id")),
        attendee_id=int(body["attendee_id"]), foreign_site=bool(body["foreign_site"]),
        at=datetime.fromisoformat(body["at"]),
        conference=bool(body.get("conference", body.get("session_id") is None)),
    )


def encode_checkout(
    *, conference_id: int, site_id: int, session_id: int | None, attendee_id: int, at: datetime
) -> str:
    """`{"type": "checkout", ...}`: an attendee left."""
    return _encode(
        {
            "type": "checkout",
            "conference_id": conference_id,
            "site_id": site_id,
            "session_id": session_id,
            "attendee_id": attendee_id,
            "at": at.isoformat(),
        }
    )


def decode_checkout(body: dict[str, Any]) -> CheckoutMessage:
    """The parsed body of an :func:`encode_checkout` message."""
    return CheckoutMessage(
        conference_id=int(body["conference_id"]), site_id=int(body["site_id"]),
        session_id=_optional_int(body.get("session_id")),
        attendee_id=int(body["attendee_id"]), at=datetime.fromisoformat(body["at"]),
    )


def encode_headcount(
    *, conference_id: int, site_id: int, session_id: int | None, total: int, at: datetime
) -> str:
    """`{"type": "headcount", ...}`: a site reported how many are present (replaces the last)."""
    return _encode(
        {
            "type": "headcount",
            "conference_id": conference_id,
            "site_id": site_id,
            "session_id": session_id,
            "total": total,
            "at": at.isoformat(),
        }
    )


def decode_headcount(body: dict[str, Any]) -> HeadcountMessage:
    """The parsed body of an :func:`encode_headcount` message."""
    return HeadcountMessage(
        conference_id=int(body["conference_id"]), site_id=int(body["site_id"]),
        session_id=_optional_int(body.get("session_id")), total=int(body["total"]),
        at=datetime.fromisoformat(body["at"]),
    )


def encode_synced(
    *, conference_id: int, site_id: int, checkins: int, headcounts: int, refused: int,
    oldest: datetime | None, at: datetime,
) -> str:
    """`{"type": "synced", ...}`: a site's queue came back ("đồng bộ 312 lượt điểm danh lúc
    09:41"); its check-ins were each announced on their own, at their original times."""
    return _encode(
        {
            "type": "synced",
            "conference_id": conference_id,
            "site_id": site_id,
            "checkins": checkins,
            "headcounts": headcounts,
            "refused": refused,
            "oldest": oldest.isoformat() if oldest is not None else None,
            "at": at.isoformat(),
        }
    )


def decode_synced(body: dict[str, Any]) -> SyncedMessage:
    """The parsed body of an :func:`encode_synced` message."""
    oldest = body.get("oldest")
    return SyncedMessage(
        conference_id=int(body["conference_id"]), site_id=int(body["site_id"]),
        checkins=int(body["checkins"]), headcounts=int(body["headcounts"]),
        refused=int(body["refused"]),
        oldest=datetime.fromisoformat(oldest) if oldest is not None else None,
        at=datetime.fromisoformat(body["at"]),
    )


_DECODERS: dict[str, Callable[[dict[str, Any]], AttendanceMessage]] = {
    "checkin": decode_checkin,
    "checkout": decode_checkout,
    "headcount": decode_headcount,
    "synced": decode_synced,
}


def decode(message: str | bytes) -> AttendanceMessage | None:
    """A message of the attendance channel; None for a type this version does not know.

    Raises ValueError when the message is malformed.
    """
    try:
        body = json.loads(message)
        decoder = _DECODERS.get(body.get("type"))
        return decoder(body) if decoder is not None else None
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed attendance message: {exc!r}") from exc
