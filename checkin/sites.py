"""Registry sites as check-in sees them: through their participation in one conference.

A site outlives conferences; what check-in counts (attendance, headcounts, attendees)
belongs to one conference the site takes part in. A site-scoped request names that
conference (`conference_id`), or its session does, or it is the conference current at
the site (live, else the next, else the last: endpoints.service.current_conference_id).
"""

from collections.abc import Sequence

from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.accounts.models import User
from endpoints import errors as endpoints_errors
from endpoints import service as endpoints_service
from endpoints.models import Participation, Site, SiteView
from sessions.models import ConferenceSession


def known_conference(db: Session, *, site_id: int, session_id: int | None) -> int | None:
    """The session's conference, else the one current at the site, else None."""
    if session_id is not None:
        found = db.execute(
            sa_select(col(ConferenceSession.conference_id))
            .where(col(ConferenceSession.id) == session_id)
        ).scalar()
        if found is not None:
            return int(found)
    return endpoints_service.current_conference_id(db, site_id=site_id)


def conference_for_site(
    db: Session, *, site_id: int, conference_id: int | None = None,
    session_id: int | None = None,
) -> int:
    """The conference a site-scoped request is about: the one named, else the session's,
    else the one current at the site; 404 site_not_in_conference when it has none."""
    if conference_id is not None:
        return conference_id
    current = known_conference(db, site_id=site_id, session_id=session_id)
    if current is None:
        raise endpoints_errors.SiteNotInConference()
    return current


def current_view(db: Session, *, site: Site, live_only: bool = False) -> SiteView:
    """A site with its participation in the conference current there (live first), if any:
    the conference its self check-in QR is for."""
    assert site.id is not None
    return SiteView(site, endpoints_service.current_participation(
        db, site_id=site.id, live_only=live_only
    ))


def site_in(
    db: Session, *, site_id: int, actor: User, conference_id: int | None = None,
    session_id: int | None = None,
) -> SiteView:
    """A site in the actor's scope with its participation in the request's conference
    (see conference_for_site); 404 when it does not take part in it."""
    endpoints_service.get_site(db, site_id=site_id, actor=actor)
    chosen = conference_for_site(db, site_id=site_id, conference_id=conference_id,
                                 session_id=session_id)
    return endpoints_service.get_site_in(db, conference_id=chosen, site_id=site_id, actor=actor)


def participants(
    db: Session, *, conference_id: int, site_ids: Sequence[int]
) -> dict[int, str]:
    """The paths of the sites among `site_ids` that take part in a conference."""
    out: dict[int, str] = {}
    unique = sorted(set(site_ids))
    for start in range(0, len(unique), 500):
        rows = db.execute(
            sa_select(col(Site.id), col(Site.path))
            .join(Participation, col(Participation.site_id) == col(Site.id))
            .where(col(Participation.conference_id) == conference_id,
                   col(Site.id).in_(unique[start : start + 500]))
        ).all()
        out.update({int(r[0]): str(r[1]) for r in rows})
    return out
