"""Roll-call: connection tests and incidents (the "missing at T-15" list is in service.py).

Readiness lives on the site (chưa kết nối, đã kiểm tra, sẵn sàng, sự cố, không tham
gia). A connection test sets it to "tested" when picture, sound and link all work,
otherwise opens an incident; an incident sets "incident" and its resolution restores
what the site had before. Every change is published for the live dashboard.
"""

from collections.abc import Sequence
from typing import Any

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
    Readiness,
    Site,
)

_CHECK_LABELS = (("picture", "hình ảnh"), ("sound", "âm thanh"), ("link", "đường truyền"))


def _participating_site(db: Session, site_id: int, actor: User) -> Site:
    site = registry.get_site(db, site_id=site_id, actor=actor)
    if site.readiness == Readiness.not_participating:
        raise errors.SiteNotParticipating()
    return site


def _publish_site(publish: Publish | None, site: Site, incident: Incident | None = None) -> None:
    if publish is None or site.id is None:
        return
    publish(
        events.readiness_channel(site.conference_id),
        events.encode_site(
            conference_id=site.conference_id, site_id=site.id, readiness=site.readiness,
            expected=site.expected_attendees, name=site.name, at=site.updated_at,
            incident=events.incident_view(incident, site.name) if incident is not None else None,
        ),
    )


def _open_incident(db: Session, site: Site, reason: str, actor: User) -> Incident:
    assert site.id is not None
    incident = Incident(
        conference_id=site.conference_id, site_id=site.id, reason=reason,
        previous_readiness=site.readiness, opened_by=actor.id,
    )
    db.add(incident)
    site.readiness = Readiness.incident
    site.readiness_note = reason[:500]
    site.updated_at = utcnow()
    db.add(site)
    return incident


def record_connection_test(
    db: Session,
    *,
    site_id: int,
    data: ConnectionTestCreate,
    actor: User,
    publish: Publish | None = None,
) -> tuple[ConnectionTest, Site]:
    """Record a checklist; all good → "tested" (open incidents closed), else an incident."""
    site = _participating_site(db, site_id, actor)
    test = ConnectionTest(
        conference_id=site.conference_id, site_id=site_id, picture=data.picture,
        sound=data.sound, link=data.link, note=data.note, actor_id=actor.id,
    )
    db.add(test)
    failed = [label for key, label in _CHECK_LABELS if not getattr(data, key)]
    incident: Incident | None = None
    if failed:
        reason = "Kiểm tra kết nối không đạt: " + ", ".join(failed)
        if data.note:
            reason += f" ({data.note})"
        incident = _open_incident(db, site, reason, actor)
    else:
        now = utcnow()
        for open_incident in _open_incidents(db, site_id):
            open_incident.resolved_at, open_incident.resolved_by = now, actor.id
            db.add(open_incident)
        if site.readiness != Readiness.ready:
            site.readiness = Readiness.tested
        site.readiness_note = data.note
        site.updated_at = now
        db.add(site)
    db.commit()
    _publish_site(publish, site, incident)
    return test, site


def _open_incidents(db: Session, site_id: int) -> Sequence[Incident]:
    return db.exec(
        select(Incident).where(Incident.site_id == site_id, col(Incident.resolved_at).is_(None))
    ).all()


def report_incident(
    db: Session, *, site_id: int, reason: str, actor: User, publish: Publish | None = None
) -> Incident:
    """A site reports a problem: its readiness becomes "incident" until resolved."""
    site = _participating_site(db, site_id, actor)
    incident = _open_incident(db, site, reason, actor)
    db.commit()
    _publish_site(publish, site, incident)
    return incident


def resolve_incident(
    db: Session, *, incident_id: int, actor: User, publish: Publish | None = None
) -> Incident:
    """Close an incident; the site's readiness returns to what it was once none is open."""
    incident = db.get(Incident, incident_id)
    if incident is None:
        raise errors.IncidentNotFound()
    site = registry.get_site(db, site_id=incident.site_id, actor=actor)
    if incident.resolved_at is not None:
        return incident
    incident.resolved_at, incident.resolved_by = utcnow(), actor.id
    db.add(incident)
    db.flush()
    if not _open_incidents(db, incident.site_id) and site.readiness == Readiness.incident:
        previous = incident.previous_readiness
        site.readiness = (
            Readiness(previous)
            if previous and previous != Readiness.incident
            else Readiness.not_connected
        )
        site.readiness_note = None
        site.updated_at = utcnow()
        db.add(site)
    db.commit()
    _publish_site(publish, site, incident)
    return incident


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
        select(Incident, Site.name)
        .join(Site, col(Site.id) == Incident.site_id)
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
