"""Use cases of the connection-point registry: conferences, sites, scope, screens.

Every function is keyword-only, takes the acting user, checks scope, owns its
transaction and commits; routes, pages and the CLI all call these.
"""

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.models import AccountStatus, Role, User
from app.accounts.service import is_admin, require_admin
from app.db import local_today, utcnow
from app.security import hash_token
from app.text import search_key
from endpoints import errors, tree_order
from endpoints.models import (
    Approval,
    Conference,
    ConferenceCreate,
    MissingList,
    MissingSite,
    Participation,
    Readiness,
    ScreenContext,
    Site,
    SiteChange,
    SiteCreate,
    SiteHistory,
    SiteKind,
    SiteStatus,
    SiteView,
)
from endpoints.screen_models import ScreenDevice, SitePresence, SitePresenceEvent

MAX_PAGE = 500


# ------------------------------------------------------------------ scope


def _root_site(db: Session, user: User) -> Site:
    if user.site_id is None:
        raise errors.SiteOutOfScope()
    site = db.get(Site, user.site_id)
    if site is None:
        raise errors.SiteOutOfScope()
    return site


def in_scope(db: Session, *, user: User, site: Site) -> bool:
    """True when `user` may read and change `site` (their own site or one below it)."""
    if is_admin(user):
        return True
    if user.role != Role.coordinator or user.status != AccountStatus.active:
        return False
    return path_in_scope(user, path=site.path, root_path=_root_site(db, user).path)


def path_in_scope(user: User, *, path: str, root_path: str | None) -> bool:
    """`in_scope` for a hot path that read the site's path and the user's root site's
    path (`root_path`, None when the user has none) in its own query."""
    if is_admin(user):
        return True
    if user.role != Role.coordinator or user.status != AccountStatus.active:
        return False
    return root_path is not None and path.startswith(root_path)


def check_scope(db: Session, user: User, site: Site) -> None:
    if not in_scope(db, user=user, site=site):
        raise errors.SiteOutOfScope()


def scope_conds(db: Session, actor: User) -> list[Any]:
    """Conditions limiting a Site query to what `actor` may see."""
    if is_admin(actor):
        return []
    return [col(Site.path).startswith(_root_site(db, actor).path)]


# ------------------------------------------------------------- conferences


def create_conference(db: Session, *, data: ConferenceCreate, actor: User) -> Conference:
    """Create a conference (central office only)."""
    require_admin(actor)
    conference = Conference.model_validate(data)
    db.add(conference)
    db.commit()
    return conference


def _taking_part(db: Session, actor: User) -> Any:
    """Ids of the conferences a site of the coordinator's subtree takes part in."""
    return (
        sa_select(col(Participation.conference_id))
        .join(Site, col(Site.id) == col(Participation.site_id))
        .where(col(Site.path).startswith(_root_site(db, actor).path))
    )


def list_conferences(db: Session, *, actor: User) -> Sequence[Conference]:
    """Conferences the user takes part in, newest first."""
    query = select(Conference).order_by(col(Conference.starts_on).desc(), col(Conference.id).desc())
    if not is_admin(actor):
        query = query.where(col(Conference.id).in_(_taking_part(db, actor)))
    return db.exec(query).all()


def get_conference(db: Session, *, conference_id: int, actor: User) -> Conference:
    """One conference the user takes part in (through their site or one below it)."""
    conference = db.get(Conference, conference_id)
    if conference is None:
        raise errors.ConferenceNotFound()
    if not is_admin(actor):
        found = db.execute(
            _taking_part(db, actor).where(col(Participation.conference_id) == conference_id)
            .limit(1)
        ).first()
        if found is None:
            raise errors.ConferenceNotFound()
    return conference


def conference_title(db: Session, *, conference_id: int) -> str | None:
    """A conference's title, for streams that authorise by their own token (no actor)."""
    return db.exec(select(Conference.title).where(Conference.id == conference_id)).first()


# -------------------------------------------------------------------- sites


def load_site(db: Session, site_id: int) -> Site:
    site = db.get(Site, site_id)
    if site is None:
        raise errors.SiteNotFound()
    return site


def get_site(db: Session, *, site_id: int, actor: User) -> Site:
    """One registry site the user may see."""
    site = load_site(db, site_id)
    check_scope(db, actor, site)
    return site


def participation_of(db: Session, *, conference_id: int, site_id: int) -> Participation | None:
    """A site's participation in a conference, or None."""
    return db.exec(
        select(Participation).where(
            Participation.conference_id == conference_id, Participation.site_id == site_id
        )
    ).first()


def get_site_in(db: Session, *, conference_id: int, site_id: int, actor: User) -> SiteView:
    """A site in scope as one conference sees it; 404 when it does not take part."""
    site = get_site(db, site_id=site_id, actor=actor)
    part = participation_of(db, conference_id=conference_id, site_id=site_id)
    if part is None:
        raise errors.SiteNotInConference()
    return SiteView(site, part)


def conference_order(starts_on: Any, ends_on: Any, conference_id: Any, today: Any) -> list[Any]:
    """ORDER BY terms over a conference's columns (or an alias's): live ones first (latest
    start), then upcoming (soonest), then past (latest). `today` may be a bind parameter."""
    live = and_(starts_on <= today, ends_on >= today)
    upcoming = starts_on > today
    return [case((live, 0), (upcoming, 1), else_=2), case((upcoming, starts_on), else_=None),
            starts_on.desc(), conference_id.desc()]


def current_participation(
    db: Session, *, site_id: int, today: date | None = None, live_only: bool = False
) -> Participation | None:
    """A site's participation in the conference it is about now: the live one, else the
    next, else the last (with `live_only`, only a live one)."""
    today = today or local_today()
    query = (
        select(Participation)
        .join(Conference, col(Conference.id) == col(Participation.conference_id))
        .where(col(Participation.site_id) == site_id)
    )
    if live_only:
        query = query.where(col(Conference.starts_on) <= today, col(Conference.ends_on) >= today)
    return db.exec(query.order_by(*conference_order(
        col(Conference.starts_on), col(Conference.ends_on), col(Conference.id), today
    )).limit(1)).first()


def current_conference_id(
    db: Session, *, site_id: int, today: date | None = None, live_only: bool = False
) -> int | None:
    """The conference a site is about now (see current_participation)."""
    part = current_participation(db, site_id=site_id, today=today, live_only=live_only)
    return part.conference_id if part is not None else None


def next_conference(db: Session, *, site_id: int, today: date | None = None) -> Conference | None:
    """The nearest conference a site takes part in that starts after today (a waiting
    screen's "next"), or None."""
    today = today or local_today()
    return db.exec(
        select(Conference)
        .join(Participation, col(Participation.conference_id) == col(Conference.id))
        .where(col(Participation.site_id) == site_id, col(Conference.starts_on) > today)
        .order_by(col(Conference.starts_on), col(Conference.id))
        .limit(1)
    ).first()


def site_view(
    db: Session, *, site_id: int, actor: User, conference_id: int | None = None
) -> SiteView:
    """A site with its participation in `conference_id` (default: the current one)."""
    site = get_site(db, site_id=site_id, actor=actor)
    if conference_id is None:
        return SiteView(site, current_participation(db, site_id=site_id))
    part = participation_of(db, conference_id=conference_id, site_id=site_id)
    if part is None:
        raise errors.SiteNotInConference()
    return SiteView(site, part)


def _active_parent(db: Session, parent_id: int) -> Site:
    parent = db.get(Site, parent_id)
    if parent is None:
        raise errors.ParentNotFound()
    if parent.status != SiteStatus.active:
        raise errors.SiteInactive()
    return parent


def new_registry_site(db: Session, *, data: SiteCreate, actor: User) -> Site:
    """Add a site to the registry (flushed, not committed); a coordinator may add sites
    only below their own, and only the central office adds roots or a central site."""
    parent = None
    if data.parent_id is not None:
        parent = _active_parent(db, data.parent_id)
        check_scope(db, actor, parent)
    elif not is_admin(actor):
        raise errors.SiteOutOfScope()
    if data.kind == SiteKind.central:
        require_admin(actor)
    return place_new_site(db, data=data, parent=parent, actor_id=actor.id)


def place_new_site(
    db: Session, *, data: SiteCreate, parent: Site | None, actor_id: int | None,
    approval: Approval = Approval.approved,
) -> Site:
    """Add a site under `parent` without a scope check (flushed, not committed): for
    callers that hold their own authority, like an invite link."""
    if parent is not None and parent.status != SiteStatus.active:
        raise errors.SiteInactive()
    site = Site.model_validate(
        data.model_dump(exclude={"expected_attendees", "parent_id"}),
        update={"name_key": search_key(data.name), "approval": approval,
                "parent_id": parent.id if parent else None},
    )
    db.add(site)
    try:
        db.flush()
    except IntegrityError as exc:
        db.rollback()
        raise errors.DuplicateSiteCode() from exc
    assert site.id is not None
    site.path = f"{parent.path if parent else '/'}{site.id}/"
    site.sort_path = tree_order.sort_path_of(site, parent)
    site.depth = parent.depth + 1 if parent else 0
    db.add(SiteHistory(site_id=site.id, change=SiteChange.created, new_name=site.name,
                       new_code=site.code, new_parent_id=site.parent_id, actor_id=actor_id))
    return site


def create_registry_site(db: Session, *, data: SiteCreate, actor: User) -> Site:
    """Add a site to the registry, outside any conference."""
    site = new_registry_site(db, data=data, actor=actor)
    db.commit()
    return site


def invite_site(
    db: Session, *, conference_id: int, site: Site, expected: int = 0,
    approval: Approval = Approval.approved,
) -> Participation:
    """Add a site to a conference (flushed, not committed); a site already in it is kept."""
    part = participation_of(db, conference_id=conference_id, site_id=site.id or 0)
    if part is None:
        assert site.id is not None
        part = Participation(conference_id=conference_id, site_id=site.id,
                             expected_attendees=expected, approval=approval,
                             name=site.name, code=site.code, path=site.path,
                             sort_path=site.sort_path)
        db.add(part)
        db.flush()
    return part


def invite_ancestors(db: Session, *, conference_id: int, site: Site) -> None:
    """Invite the sites above `site` too, so every conference's tree is whole."""
    ids = [int(x) for x in site.path.strip("/").split("/")[:-1] if x]
    for ancestor in db.exec(select(Site).where(col(Site.id).in_(ids))).all():
        invite_site(db, conference_id=conference_id, site=ancestor)


def create_site(db: Session, *, conference_id: int, data: SiteCreate, actor: User) -> SiteView:
    """Create a registry site and add it (and the sites above it) to a conference."""
    get_conference(db, conference_id=conference_id, actor=actor)
    site = new_registry_site(db, data=data, actor=actor)
    invite_ancestors(db, conference_id=conference_id, site=site)
    part = invite_site(db, conference_id=conference_id, site=site, expected=data.expected_attendees)
    db.commit()
    return SiteView(site, part)


# ------------------------------------------------------------------ screens


#: What endpoints.screens issues: "scr_" and 32 random bytes in URL-safe base64.
SCREEN_TOKEN = re.compile(r"scr_[A-Za-z0-9_-]{43}")


def screen_token_well_formed(token: str) -> bool:
    """True when `token` has the shape of a screen token (checked before any lookup)."""
    return len(token) == 47 and SCREEN_TOKEN.fullmatch(token) is not None


def screen_for_token(db: Session, *, token: str) -> ScreenContext | None:
    """The enrolled, unrevoked screen a token belongs to, with the conference live at its
    site now (None between conferences), or None."""
    if not screen_token_well_formed(token):
        return None  # refused by its shape: no lookup
    row = db.exec(
        select(ScreenDevice, Site.name)
        .join(Site, col(Site.id) == ScreenDevice.site_id)
        .where(ScreenDevice.token_hash == hash_token(token), col(ScreenDevice.revoked).is_(False))
    ).first()
    if row is None:
        return None
    screen, site_name = row
    assert screen.id is not None
    return ScreenContext(
        screen_id=screen.id,
        site_id=screen.site_id,
        conference_id=current_conference_id(db, site_id=screen.site_id, live_only=True),
        site_name=site_name,
    )


# ------------------------------------------------------- roll-call: who is missing


def _in_conference(conference_id: int, site_column: Any) -> Any:
    return site_column.in_(
        sa_select(col(Participation.site_id)).where(
            col(Participation.conference_id) == conference_id
        )
    )


def online_sites(db: Session, *, conference_id: int, at: datetime | None = None) -> set[int]:
    """Sites of a conference online: the presence ticker's stored state now, or for a past
    moment the last recorded transition before it. The one definition of "online" every
    view uses. Presence belongs to the site; a conference sees its participants'."""
    if at is None:
        rows = db.execute(
            sa_select(col(SitePresence.site_id)).where(
                _in_conference(conference_id, col(SitePresence.site_id)),
                col(SitePresence.online).is_(True),
            )
        ).all()
        return {int(r[0]) for r in rows}
    last = (
        sa_select(func.max(col(SitePresenceEvent.id)))
        .where(
            _in_conference(conference_id, col(SitePresenceEvent.site_id)),
            col(SitePresenceEvent.at) <= at,
        )
        .group_by(col(SitePresenceEvent.site_id))
    )
    rows = db.execute(
        sa_select(col(SitePresenceEvent.site_id)).where(
            col(SitePresenceEvent.id).in_(last), col(SitePresenceEvent.online).is_(True)
        )
    ).all()
    return {int(r[0]) for r in rows}


def screen_counts(db: Session, *, conference_id: int) -> dict[int, int]:
    """Enrolled, unrevoked screens per site of a conference."""
    rows = db.execute(
        sa_select(col(ScreenDevice.site_id), func.count())
        .where(_in_conference(conference_id, col(ScreenDevice.site_id)),
               col(ScreenDevice.revoked).is_(False),
               col(ScreenDevice.enrolled_at).is_not(None))
        .group_by(col(ScreenDevice.site_id))
    ).all()
    return {int(r[0]): int(r[1]) for r in rows}


def missing_reasons(readiness: str, online: bool, screens: int) -> list[str]:
    """Why a participating site is not ready: codes of MISSING_REASON_LABELS, or []."""
    reasons: list[str] = []
    if screens == 0:
        reasons.append("no_screen")
    elif not online:
        reasons.append("offline")
    if readiness == Readiness.not_connected:
        reasons.append("not_connected")
    elif readiness == Readiness.incident:
        reasons.append("incident")
    return reasons


def missing_sites(
    db: Session,
    *,
    conference_id: int,
    actor: User,
    at: datetime | None = None,
    session_id: int | None = None,
) -> MissingList:
    """Participating sites in scope that are offline, without a screen or not ready.

    `at` None means now; a past moment uses the recorded presence transitions (readiness
    is the current one: its changes are not kept as history).
    """
    get_conference(db, conference_id=conference_id, actor=actor)
    now = utcnow()
    past = at if at is not None and at < now else None
    online = online_sites(db, conference_id=conference_id, at=past)
    screens = screen_counts(db, conference_id=conference_id)
    rows_db = db.execute(
        sa_select(Site, Participation)
        .join(Participation, col(Participation.site_id) == col(Site.id))
        .where(col(Participation.conference_id) == conference_id,
               col(Participation.readiness) != Readiness.not_participating,
               *scope_conds(db, actor))
        .order_by(col(Site.sort_path))
    ).all()
    rows: list[MissingSite] = []
    for site, part in rows_db:
        assert site.id is not None
        count = int(screens.get(site.id, 0))
        reasons = missing_reasons(part.readiness, site.id in online, count)
        if reasons:
            rows.append(MissingSite(
                site_id=site.id, name=part.name, kind=site.kind, parent_id=site.parent_id,
                path=site.path, readiness=part.readiness, online=site.id in online,
                screens=count, reasons=reasons,
            ))
    db.rollback()
    return MissingList(
        conference_id=conference_id, session_id=session_id, at=at or now, sites=rows
    )


def names_in(db: Session, *, conference_id: int, site_ids: Sequence[int]) -> dict[int, str]:
    """Names of sites by id as a conference knew them (the registry name if not invited)."""
    out: dict[int, str] = {}
    unique = sorted(set(site_ids))
    for start in range(0, len(unique), 500):
        rows = db.execute(
            sa_select(col(Site.id), func.coalesce(col(Participation.name), col(Site.name)))
            .outerjoin(Participation, and_(col(Participation.site_id) == col(Site.id),
                                           col(Participation.conference_id) == conference_id))
            .where(col(Site.id).in_(unique[start : start + 500]))
        ).all()
        out.update({int(r[0]): str(r[1]) for r in rows})
    return out
