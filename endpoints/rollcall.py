"""Roll-call: connection tests and incidents (the "missing at T-15" list is in service.py).

Readiness lives on the site's participation in a conference (chưa kết nối, đã kiểm
tra, sẵn sàng, sự cố, không tham gia). A connection test sets it to "tested" when
picture, sound and link all work, otherwise opens an incident; an incident sets
"incident" and its resolution restores what the site had before in that conference.
Every change is published for the live dashboard.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import utcnow
from app.realtime import Publish
from endpoints import errors, events
from endpoints import service as registry
from endpoints.models import (
    ConnectionTest,
    ConnectionTestCreate,
    Incident,
    IncidentPublic,
    Participation,
    Readiness,
    Site,
    SiteView,
)
from endpoints.screen_models import ScreenDevice, SitePresence

_CHECK_LABELS = (("picture", "hình ảnh"), ("sound", "âm thanh"), ("link", "đường truyền"))


def _participating_site(
    db: Session, site_id: int, actor: User, conference_id: int | None
) -> tuple[SiteView, Participation]:
    view = registry.site_view(db, site_id=site_id, actor=actor, conference_id=conference_id)
    if view.part is None:
        raise errors.SiteNotInConference()
    if view.part.readiness == Readiness.not_participating:
        raise errors.SiteNotParticipating()
    return view, view.part


def _publish_site(
    publish: Publish | None, view: SiteView, incident: Incident | None = None
) -> None:
    part = view.part
    if publish is None or part is None:
        return
    publish(
        events.readiness_channel(part.conference_id),
        events.encode_site(
            conference_id=part.conference_id, site_id=part.site_id, readiness=part.readiness,
            expected=part.expected_attendees, name=part.name, at=part.updated_at,
            incident=events.incident_view(incident, part.name) if incident is not None else None,
        ),
    )


def _open_incident(db: Session, part: Participation, reason: str, actor: User,
                   at: datetime | None = None) -> Incident:
    incident = Incident(
        conference_id=part.conference_id, site_id=part.site_id, reason=reason,
        previous_readiness=part.readiness, opened_by=actor.id, opened_at=at or utcnow(),
    )
    db.add(incident)
    part.readiness = Readiness.incident
    part.readiness_note = reason[:500]
    part.updated_at = utcnow()
    db.add(part)
    return incident


def record_connection_test(
    db: Session,
    *,
    site_id: int,
    data: ConnectionTestCreate,
    actor: User,
    publish: Publish | None = None,
    conference_id: int | None = None,
) -> tuple[ConnectionTest, SiteView]:
    """Record a checklist for the site's participation in `conference_id` (default: the
    current conference); all good → "tested" (open incidents closed), else an incident."""
    view, part = _participating_site(db, site_id, actor, conference_id)
    test = ConnectionTest(
        conference_id=part.conference_id, site_id=site_id, picture=data.picture,
        sound=data.sound, link=data.link, note=data.note, actor_id=actor.id,
    )
    db.add(test)
    failed = [label for key, label in _CHECK_LABELS if not getattr(data, key)]
    incident: Incident | None = None
    if failed:
        reason = "Kiểm tra kết nối không đạt: " + ", ".join(failed)
        if data.note:
            reason += f" ({data.note})"
        incident = _open_incident(db, part, reason, actor)
    else:
        now = utcnow()
        for open_incident in _open_incidents(db, part.conference_id, site_id):
            open_incident.resolved_at, open_incident.resolved_by = now, actor.id
            db.add(open_incident)
        if part.readiness != Readiness.ready:
            part.readiness = Readiness.tested
        part.readiness_note = data.note
        part.updated_at = now
        db.add(part)
    db.commit()
    _publish_site(publish, view, incident)
    return test, view


def declare_ready(
    db: Session,
    *,
    site_id: int,
    readiness: Literal[Readiness.tested, Readiness.ready],
    actor: User,
    note: str | None = None,
    publish: Publish | None = None,
    conference_id: int | None = None,
    at: datetime | None = None,
) -> SiteView:
    """The site's one-tap word: "tested" or "ready" in `conference_id` (default: the
    current conference). The site says the problem is over: its open incidents close,
    at `at` (when the word was given: a "ready" queued offline), default now."""
    view, part = _participating_site(db, site_id, actor, conference_id)
    now = utcnow()
    for open_incident in _open_incidents(db, part.conference_id, site_id):
        # Never before it opened: an incident reported online after a queued "ready" was
        # tapped still closes when the queue arrives, but not backwards in time.
        closed = max(at, open_incident.opened_at) if at is not None else now
        open_incident.resolved_at, open_incident.resolved_by = closed, actor.id
        db.add(open_incident)
    part.readiness, part.readiness_note, part.updated_at = readiness, note, now
    db.add(part)
    db.commit()
    _publish_site(publish, view)
    return view


@dataclass(frozen=True)
class ScreenState:
    """A site's paired screens, and whether it counts as online (stored presence)."""

    screens: int
    online: bool


def screen_state(db: Session, *, site_id: int) -> ScreenState:
    """How many paired screens the site has and whether one is online now."""
    screens = db.exec(
        select(func.count()).select_from(ScreenDevice).where(
            ScreenDevice.site_id == site_id, col(ScreenDevice.revoked).is_(False),
            col(ScreenDevice.enrolled_at).is_not(None),
        )
    ).one()
    presence = db.get(SitePresence, site_id)
    return ScreenState(screens=int(screens), online=bool(presence and presence.online))


def _open_incidents(db: Session, conference_id: int, site_id: int) -> Sequence[Incident]:
    return db.exec(
        select(Incident).where(
            Incident.conference_id == conference_id, Incident.site_id == site_id,
            col(Incident.resolved_at).is_(None),
        )
    ).all()


def report_incident(
    db: Session,
    *,
    site_id: int,
    reason: str,
    actor: User,
    publish: Publish | None = None,
    conference_id: int | None = None,
    at: datetime | None = None,
) -> Incident:
    """A site reports a problem in `conference_id` (default: the current conference): its
    readiness there becomes "incident" until resolved. `at`: when it was noticed (a
    report queued offline), default now."""
    view, part = _participating_site(db, site_id, actor, conference_id)
    incident = _open_incident(db, part, reason, actor, at)
    db.commit()
    _publish_site(publish, view, incident)
    return incident


def resolve_incident(
    db: Session, *, incident_id: int, actor: User, publish: Publish | None = None
) -> Incident:
    """Close an incident; the site's readiness in its conference returns to what it was
    once none is open."""
    incident = db.get(Incident, incident_id)
    if incident is None:
        raise errors.IncidentNotFound()
    site = registry.get_site(db, site_id=incident.site_id, actor=actor)
    if incident.resolved_at is not None:
        return incident
    incident.resolved_at, incident.resolved_by = utcnow(), actor.id
    db.add(incident)
    db.flush()
    part = registry.participation_of(
        db, conference_id=incident.conference_id, site_id=incident.site_id
    )
    if (part is not None and part.readiness == Readiness.incident
            and not _open_incidents(db, incident.conference_id, incident.site_id)):
        previous = incident.previous_readiness
        part.readiness = (
            Readiness(previous)
            if previous and previous != Readiness.incident
            else Readiness.not_connected
        )
        part.readiness_note = None
        part.updated_at = utcnow()
        db.add(part)
    db.commit()
    _publish_site(publish, SiteView(site, part), incident)
    return incident


def incident_site_name(db: Session, incident: Incident) -> str:
    """The name the incident's conference knows its site by."""
    name = db.exec(
        select(Participation.name).where(
            Participation.conference_id == incident.conference_id,
            Participation.site_id == incident.site_id,
        )
    ).first()
    if name is None:
        name = db.exec(select(Site.name).where(Site.id == incident.site_id)).one()
    return name


def list_incidents(
    db: Session,
    *,
    conference_id: int,
    actor: User,
    open_only: bool = False,
    limit: int = 50,
) -> list[IncidentPublic]:
    """Incidents of the sites in the actor's scope, most recent first."""
    registry.get_conference(db, conference_id=conference_id, actor=actor)
    query = (
        select(Incident, func.coalesce(Participation.name, Site.name))
        .join(Site, col(Site.id) == Incident.site_id)
        .outerjoin(Participation, and_(
            col(Participation.conference_id) == Incident.conference_id,
            col(Participation.site_id) == Incident.site_id,
        ))
        .where(Incident.conference_id == conference_id, *_scope(db, actor))
        .order_by(col(Incident.opened_at).desc(), col(Incident.id).desc())
        .limit(max(1, min(limit, 500)))
    )
    if open_only:
        query = query.where(col(Incident.resolved_at).is_(None))
    return [
        IncidentPublic(
            id=i.id or 0, conference_id=i.conference_id, site_id=i.site_id, site_name=name,
            reason=i.reason, opened_at=i.opened_at, resolved_at=i.resolved_at,
        )
        for i, name in db.exec(query).all()
    ]


def _scope(db: Session, actor: User) -> list[Any]:
    if accounts_service.is_admin(actor):
        return []
    if actor.site_id is None or (root := db.get(Site, actor.site_id)) is None:
        raise errors.SiteOutOfScope()
    return [col(Site.path).startswith(root.path)]
