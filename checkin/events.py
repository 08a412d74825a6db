"""Realtime messages about attendance and their channel names. Pure: no I/O.

One small message per first check-in or headcount report; the dashboard coalesces
them (a national opening makes hundreds per second). Messages carry ids and counts
only, never a name.
"""

import json
from datetime import datetime
from typing import Any


def attendance_channel(conference_id: int) -> str:
    """The channel of attendance changes of a conference."""
    return f"conference:{conference_id}:attendance"


def _encode(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def encode_checkin(
    *,
    conference_id: int,
    site_id: int,
    session_id: int | None,
    attendee_id: int,
    foreign_site: bool,
    at: datetime,
) -> str:
    """`{"type": "checkin", ...}`: one more attendee present at a site."""
    return _encode(
        {
            "type": "checkin",
            "conference_id": conference_id,
            "site_id": site_id,
            "session_id": session_id,
            "attendee_id": attendee_id,
            "foreign_site": foreign_site,
            "at": at.isoformat(),
        }
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
