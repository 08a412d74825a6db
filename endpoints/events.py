"""Realtime messages about sites (presence, readiness, incidents) and their channels. Pure."""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from endpoints.models import Incident


def presence_channel(conference_id: int) -> str:
    """The channel of site online/offline transitions of a conference."""
    return f"conference:{conference_id}:presence"


def readiness_channel(conference_id: int) -> str:
    """The channel of roll-call changes (readiness, incidents, site fields) of a conference."""
    return f"conference:{conference_id}:readiness"


def incident_view(incident: "Incident", site_name: str) -> dict[str, Any]:
    """The JSON shape of an incident in realtime messages and the dashboard."""
    return {
        "id": incident.id,
        "site_id": incident.site_id,
        "site_name": site_name,
        "reason": incident.reason,
        "opened_at": incident.opened_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
    }


def _encode(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class PresenceMessage:
    """Sites that went on/offline, as :func:`encode_presence` sends it."""

    conference_id: int
    changes: tuple[tuple[int, bool], ...]
    at: datetime


@dataclass(frozen=True, slots=True)
class SiteMessage:
    """A site's roll-call fields, as :func:`encode_site` sends it."""

    conference_id: int
    site_id: int
    readiness: str
    expected: int
    name: str
    at: datetime
    incident: dict[str, Any] | None = None


def encode_presence(
    *, conference_id: int, changes: Iterable[tuple[int, bool]], at: datetime
) -> str:
    """`{"type": "presence", "changes": [[site_id, online], ...]}`: sites went on/offline."""
    return _encode(
        {
            "type": "presence",
            "conference_id": conference_id,
            "changes": [[site_id, online] for site_id, online in changes],
            "at": at.isoformat(),
        }
    )


def decode_presence(body: dict[str, Any]) -> PresenceMessage:
    """The parsed body of an :func:`encode_presence` message."""
    return PresenceMessage(
        conference_id=int(body["conference_id"]),
        changes=tuple((int(site_id), bool(online)) for site_id, online in body["changes"]),
        at=datetime.fromisoformat(body["at"]),
    )


def encode_site(
    *,
    conference_id: int,
    site_id: int,
    readiness: str,
    expected: int,
    name: str,
    at: datetime,
    incident: dict[str, Any] | None = None,
) -> str:
    """`{"type": "site", ...}`: a site's readiness or roll-call fields changed."""
    body: dict[str, Any] = {
        "type": "site",
        "conference_id": conference_id,
        "site_id": site_id,
        "readiness": readiness,
        "expected": expected,
        "name": name,
        "at": at.isoformat(),
    }
    if incident is not None:
        body["incident"] = incident
    return _encode(body)


def decode_site(body: dict[str, Any]) -> SiteMessage:
    """The parsed body of an :func:`encode_site` message."""
    incident = body.get("incident")
    return SiteMessage(
        conference_id=int(body["conference_id"]), site_id=int(body["site_id"]),
        readiness=str(body["readiness"]), expected=int(body["expected"]),
        name=str(body["name"]), at=datetime.fromisoformat(body["at"]),
        incident=dict(incident) if incident else None,
    )


def decode(message: str | bytes) -> PresenceMessage | SiteMessage | None:
    """A message of the presence or readiness channel; None for an unknown type.

    Raises ValueError when the message is malformed.
    """
    try:
        body = json.loads(message)
        kind = body.get("type")
        if kind == "presence":
            return decode_presence(body)
        return decode_site(body) if kind == "site" else None
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed site message: {exc!r}") from exc
