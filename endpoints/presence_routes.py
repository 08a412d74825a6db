"""JSON API of presence and roll-call: connection tests, incidents, history."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.db import DbSession, ReadDbSession
from app.deps import CookieCsrf, CurrentUser, HubDep
from endpoints import presence, rollcall
from endpoints.models import (
    ConnectionTestCreate,
    ConnectionTestPublic,
    Incident,
    IncidentCreate,
    IncidentPublic,
)
from endpoints.screen_models import PresenceEventPublic

router = APIRouter(prefix="/api/v1")


@router.post(
    "/sites/{site_id}/connection-test",
    response_model=ConnectionTestPublic,
    status_code=201,
    tags=["roll-call"],
    dependencies=[CookieCsrf],
    responses={409: {"description": "site_not_participating"}},
)
def connection_test(
    site_id: int,
    data: ConnectionTestCreate,
    db: DbSession,
    user: CurrentUser,
    hub: HubDep,
    conference_id: int | None = None,
) -> ConnectionTestPublic:
    """Record the connection-test checklist for the site in `conference_id` (default: the
    conference it is about now): all good → "tested", else an incident."""
    test, site = rollcall.record_connection_test(
        db, site_id=site_id, data=data, actor=user, publish=hub.publish,
        conference_id=conference_id,
    )
    return ConnectionTestPublic(
        id=test.id or 0, site_id=test.site_id, picture=test.picture, sound=test.sound,
        link=test.link, note=test.note, at=test.at, readiness=site.readiness,
    )


def _incident(incident: Incident, site_name: str) -> IncidentPublic:
    return IncidentPublic(
        id=incident.id or 0, conference_id=incident.conference_id, site_id=incident.site_id,
        site_name=site_name, reason=incident.reason, opened_at=incident.opened_at,
        resolved_at=incident.resolved_at,
    )


@router.post(
    "/sites/{site_id}/incidents",
    response_model=IncidentPublic,
    status_code=201,
    tags=["roll-call"],
    dependencies=[CookieCsrf],
    responses={409: {"description": "site_not_participating"}},
)
def report_incident(
    site_id: int,
    data: IncidentCreate,
    db: DbSession,
    user: CurrentUser,
    hub: HubDep,
    conference_id: int | None = None,
) -> IncidentPublic:
    """Report a problem at a site in `conference_id` (default: the conference it is about
    now): its readiness there becomes "incident" until resolved."""
    incident = rollcall.report_incident(
        db, site_id=site_id, reason=data.reason, actor=user, publish=hub.publish,
        conference_id=conference_id,
    )
    return _incident(incident, rollcall.incident_site_name(db, incident))


@router.post(
    "/incidents/{incident_id}/resolve",
    response_model=IncidentPublic,
    tags=["roll-call"],
    dependencies=[CookieCsrf],
)
def resolve_incident(
    incident_id: int, db: DbSession, user: CurrentUser, hub: HubDep
) -> IncidentPublic:
    """Close an incident; the site's earlier readiness comes back once none is open."""
    incident = rollcall.resolve_incident(
        db, incident_id=incident_id, actor=user, publish=hub.publish
    )
    return _incident(incident, rollcall.incident_site_name(db, incident))


@router.get(
    "/conferences/{conference_id}/incidents",
    response_model=list[IncidentPublic],
    tags=["roll-call"],
)
def list_incidents(
    conference_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    open_only: Annotated[bool, Query(alias="open")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[IncidentPublic]:
    """Incidents of the sites in the user's scope, most recent first."""
    return rollcall.list_incidents(
        db, conference_id=conference_id, actor=user, open_only=open_only, limit=limit
    )


@router.get(
    "/sites/{site_id}/presence",
    response_model=list[PresenceEventPublic],
    tags=["roll-call"],
)
def presence_history(
    site_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[PresenceEventPublic]:
    """When a site went online and offline, newest first."""
    return [
        PresenceEventPublic(site_id=e.site_id, online=e.online, at=e.at)
        for e in presence.presence_history(db, site_id=site_id, actor=user, limit=limit)
    ]
