"""Use case: the roster a check-in desk keeps for working offline (issue 15).

The scanner page downloads it while online and keeps it in the browser (IndexedDB) for
name search and for marking who it has already seen when the link is gone. It holds the
least that needs: per attendee of the site and the sites below it, the id, the full
name, the unit, the home site, the short code and the pass version (a pass of an older
version is refused at the desk as it is by the server), and whether the pass is revoked.
No phone, no position, no supply basis. With it comes the last day of the conference:
the page deletes the roster once that day is over (and a logout clears it too).

The server stays the judge: every scan queued offline is checked again on sync.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit import service as audit_service
from app.db import LOCAL_TZ, utcnow
from checkin import roster, search
from checkin import sites as checkin_sites
from checkin.models import Attendee
from endpoints import service as endpoints_service
from endpoints.models import Site

# A hub desk holds its whole subtree; past this a desk searches online only.
MAX_ROSTER = 50_000


@dataclass(frozen=True)
class OfflineAttendee:
    """One line of a desk's offline roster."""

    id: int
    full_name: str
    unit: str | None
    site_id: int
    short_code: str
    pass_version: int
    revoked: bool
    # When they were checked in for `session_id` (or the conference) at download time.
    checked_in_at: datetime | None


@dataclass(frozen=True)
class OfflineRoster:
    """What a desk downloads: whose roster, until when it may be kept (deleted after
    `delete_after`: the conference ended), and the people. The API's answer as it is."""

    conference_id: int
    site_id: int
    session_id: int | None
    ends_on: date
    delete_after: datetime
    generated_at: datetime
    truncated: bool
    sites: dict[int, str]
    attendees: list[OfflineAttendee]


def delete_after(ends_on: date) -> datetime:
    """The end of the conference's last day in Vietnam (UTC): the roster's last moment."""
    return datetime.combine(ends_on + timedelta(days=1), time(0), tzinfo=LOCAL_TZ).astimezone(UTC)


def _people(db: Session, *, conference_id: int, path: str) -> list[Attendee]:
    query = (
        select(Attendee)
        .join(Site, col(Site.id) == col(Attendee.site_id))
        .where(col(Attendee.conference_id) == conference_id,
               col(Attendee.deleted_at).is_(None), col(Attendee.erased_at).is_(None),
               col(Site.path).startswith(path))
        .order_by(col(Attendee.sort_key), col(Attendee.id))
        .limit(MAX_ROSTER + 1)
    )
    return list(db.exec(query).all())


def _seen(db: Session, *, session_id: int | None, attendee_ids: list[int]
          ) -> dict[int, datetime]:
    # By the unique (attendee, session) key, a chunk at a time (SQLite's bound parameters).
    found: dict[int, datetime] = {}
    for chunk in roster.chunks(attendee_ids, 500):
        found.update(search.checked_in_times(db, session_id=session_id,
                                             attendee_ids=list(chunk)))
    return found


def offline_roster(
    db: Session, *, site_id: int, actor: User, conference_id: int | None = None,
    session_id: int | None = None,
) -> OfflineRoster:
    """The roster of a site and the sites below it, for a desk in the actor's scope; the
    download is recorded in the audit log as an export (it leaves the server)."""
    site = checkin_sites.site_in(db, site_id=site_id, actor=actor, conference_id=conference_id,
                                 session_id=session_id)
    conference = endpoints_service.get_conference(db, conference_id=site.conference_id,
                                                  actor=actor)
    path = roster.scope_path(db, conference_id=site.conference_id, actor=actor,
                             site_id=site_id)
    assert path is not None and conference.id is not None
    people = _people(db, conference_id=conference.id, path=path)
    truncated = len(people) > MAX_ROSTER
    people = people[:MAX_ROSTER]
    seen = _seen(db, session_id=session_id, attendee_ids=[a.id or 0 for a in people])
    names = roster.site_names(db, conference_id=conference.id,
                              site_ids=sorted({a.site_id for a in people} | {site_id}))
    audit_service.record(db, action="export", object_type="offline_roster", site_id=site_id,
                         conference_id=conference.id,
                         detail={"what": "offline_roster", "rows": len(people)})
    db.commit()
    return OfflineRoster(
        conference_id=conference.id, site_id=site_id, session_id=session_id,
        ends_on=conference.ends_on, delete_after=delete_after(conference.ends_on),
        generated_at=utcnow(), truncated=truncated, sites=names,
        attendees=[
            OfflineAttendee(id=a.id or 0, full_name=a.full_name, unit=a.unit,
                            site_id=a.site_id, short_code=a.short_code,
                            pass_version=a.pass_version, revoked=a.revoked,
                            checked_in_at=seen.get(a.id or 0))
            for a in people
        ],
    )
