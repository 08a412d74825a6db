"""Use cases of the connection-point registry: conferences, sites, scope, screens.

Every function is keyword-only, takes the acting user, checks scope, owns its
transaction and commits; routes, pages and the CLI all call these.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, delete, func, literal, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.models import AccountStatus, Role, User
from app.accounts.service import is_admin, require_admin
from app.db import utcnow
from app.security import hash_token
from app.text import search_key
from endpoints import errors, events
from endpoints.models import (
    Approval,
    Conference,
    ConferenceCreate,
    ConnectionTest,
    Incident,
    Invite,
    MissingList,
    MissingSite,
    Readiness,
    ScreenContext,
    ScreenDevice,
    Site,
    SiteCreate,
    SiteKind,
    SitePresence,
    SitePresenceEvent,
    SiteUpdate,
)

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
    root = _root_site(db, user)
    return site.conference_id == root.conference_id and site.path.startswith(root.path)


def _check_scope(db: Session, user: User, site: Site) -> None:
    if not in_scope(db, user=user, site=site):
        raise errors.SiteOutOfScope()


# ------------------------------------------------------------- conferences


def create_conference(db: Session, *, data: ConferenceCreate, actor: User) -> Conference:
    """Create a conference (central office only)."""
    require_admin(actor)
    conference = Conference.model_validate(data)
    db.add(conference)
    db.commit()
    return conference


def list_conferences(db: Session, *, actor: User) -> Sequence[Conference]:
    """Conferences the user takes part in, newest first."""
    query = select(Conference).order_by(col(Conference.starts_on).desc(), col(Conference.id).desc())
    if not is_admin(actor):
        root = _root_site(db, actor)
        query = query.where(Conference.id == root.conference_id)
    return db.exec(query).all()


def get_conference(db: Session, *, conference_id: int, actor: User) -> Conference:
    """One conference the user takes part in."""
    conference = db.get(Conference, conference_id)
    if conference is None:
        raise errors.ConferenceNotFound()
    if not is_admin(actor) and _root_site(db, actor).conference_id != conference_id:
        raise errors.ConferenceNotFound()
    return conference


def conference_title(db: Session, *, conference_id: int) -> str | None:
    """A conference's title, for streams that authorise by their own token (no actor)."""
    return db.exec(select(Conference.title).where(Conference.id == conference_id)).first()


# -------------------------------------------------------------------- sites


def _load_site(db: Session, site_id: int) -> Site:
    site = db.get(Site, site_id)
    if site is None:
        raise errors.SiteNotFound()
    return site


def _parent_in_conference(db: Session, *, conference_id: int, parent_id: int) -> Site:
    parent = db.get(Site, parent_id)
    if parent is None or parent.conference_id != conference_id:
        raise errors.ParentNotFound()
    return parent


def create_site(db: Session, *, conference_id: int, data: SiteCreate, actor: User) -> Site:
    """Add a site to a conference; a coordinator may add sites only below their own."""
    get_conference(db, conference_id=conference_id, actor=actor)
    parent = None
    if data.parent_id is not None:
        parent = _parent_in_conference(db, conference_id=conference_id, parent_id=data.parent_id)
        _check_scope(db, actor, parent)
    elif not is_admin(actor):
        raise errors.SiteOutOfScope()
    if data.kind == SiteKind.central:
        require_admin(actor)
    site = Site.model_validate(
        data, update={"conference_id": conference_id, "name_key": search_key(data.name)}
    )
    db.add(site)
    try:
        db.flush()
    except IntegrityError as exc:
        db.rollback()
        raise errors.DuplicateSiteCode() from exc
    assert site.id is not None
    site.path = f"{parent.path if parent else '/'}{site.id}/"
    site.depth = parent.depth + 1 if parent else 0
    db.commit()
    return site


@dataclass(frozen=True)
class SiteFilter:
    """What the site list may be narrowed by."""

    q: str | None = None
    kind: SiteKind | None = None
    readiness: Readiness | None = None
    approval: Approval | None = None
    parent_id: int | None = None
    under_id: int | None = None


@dataclass(frozen=True)
class SitePage:
    items: Sequence[Site]
    total: int


def list_sites(
    db: Session,
    *,
    conference_id: int,
    actor: User,
    filters: SiteFilter | None = None,
    limit: int = 100,
    offset: int = 0,
) -> SitePage:
    """Sites of a conference visible to the user, in tree order, filtered and paginated."""
    get_conference(db, conference_id=conference_id, actor=actor)
    f = filters or SiteFilter()
    conds: list[Any] = [Site.conference_id == conference_id]
    if not is_admin(actor):
        conds.append(col(Site.path).startswith(_root_site(db, actor).path))
    if f.under_id is not None:
        under = _load_site(db, f.under_id)
        _check_scope(db, actor, under)
        conds.append(col(Site.path).startswith(under.path))
    if f.q:
        # Every word must appear, in any place: "dang uy ben nghe" finds
        # "Đảng ủy phường Bến Nghé" (a bounded number of words keeps the query small).
        words = search_key(f.q).split()[:8]
        if words:
            conds.append(
                or_(
                    and_(*[col(Site.name_key).contains(w, autoescape=True) for w in words]),
                    col(Site.code).contains(f.q.strip(), autoescape=True),
                )
            )
    if f.kind is not None:
        conds.append(col(Site.kind) == f.kind)
    if f.readiness is not None:
        conds.append(col(Site.readiness) == f.readiness)
    if f.approval is not None:
        conds.append(col(Site.approval) == f.approval)
    if f.parent_id is not None:
        conds.append(col(Site.parent_id) == f.parent_id)
    total = db.exec(select(func.count()).select_from(Site).where(*conds)).one()
    items = db.exec(
        select(Site)
        .where(*conds)
        .order_by(col(Site.path))
        .limit(max(1, min(limit, MAX_PAGE)))
        .offset(max(0, offset))
    ).all()
    return SitePage(items=items, total=int(total))


def get_site(db: Session, *, site_id: int, actor: User) -> Site:
    """One site the user may see."""
    site = _load_site(db, site_id)
    _check_scope(db, actor, site)
    return site


def _move(db: Session, *, site: Site, new_parent: Site | None) -> None:
    if new_parent is not None and new_parent.path.startswith(site.path):
        raise errors.SiteCycle()
    old_path = site.path
    new_path = f"{new_parent.path if new_parent else '/'}{site.id}/"
    depth_delta = (new_parent.depth + 1 if new_parent else 0) - site.depth
    # One statement rewrites the whole subtree's paths; no per-row round trips.
    db.execute(
        update(Site)
        .where(col(Site.conference_id) == site.conference_id)
        .where(col(Site.path).startswith(old_path))
        .values(
            path=literal(new_path, String).concat(func.substr(Site.path, len(old_path) + 1)),
            depth=Site.depth + depth_delta,
        )
        .execution_options(synchronize_session=False)
    )
    site.parent_id = new_parent.id if new_parent else None
    db.refresh(site, ["path", "depth"])


_SITE_REQUIRED = frozenset({"name", "kind", "expected_attendees", "readiness"})


def update_site(
    db: Session,
    *,
    site_id: int,
    data: SiteUpdate,
    actor: User,
    publish: Callable[[str, str], None] | None = None,
) -> Site:
    """Change a site; moving it or changing the central site is the central office's call."""
    site = get_site(db, site_id=site_id, actor=actor)
    changes = {
        key: value
        for key, value in data.model_dump(exclude_unset=True).items()
        # null keeps a field the site always has (as for sessions); it clears an optional one.
        if value is not None or key not in _SITE_REQUIRED
    }
    if "parent_id" in changes and changes["parent_id"] != site.parent_id:
        new_parent_id = changes.pop("parent_id")
        new_parent = None
        if new_parent_id is not None:
            new_parent = _parent_in_conference(
                db, conference_id=site.conference_id, parent_id=new_parent_id
            )
            _check_scope(db, actor, new_parent)
        if not is_admin(actor) and (new_parent is None or site.id == actor.site_id):
            raise errors.SiteOutOfScope()
        _move(db, site=site, new_parent=new_parent)
    changes.pop("parent_id", None)
    if changes.get("kind") == SiteKind.central or (
        site.kind == SiteKind.central and "kind" in changes
    ):
        require_admin(actor)
    for key, value in changes.items():
        setattr(site, key, value)
    if "name" in changes:
        site.name_key = search_key(site.name)
    site.updated_at = utcnow()
    db.add(site)
    try:
        db.commit()
    except IntegrityError as exc:
        db.rollback()
        raise errors.DuplicateSiteCode() from exc
    if publish is not None and changes.keys() & {"readiness", "expected_attendees", "name"}:
        # The live dashboard follows readiness and expected counts.
        publish(
            events.readiness_channel(site.conference_id),
            events.encode_site(
                conference_id=site.conference_id, site_id=site_id, readiness=site.readiness,
                expected=site.expected_attendees, name=site.name, at=site.updated_at,
            ),
        )
    return site


def delete_site(db: Session, *, site_id: int, actor: User) -> None:
    """Remove a site that has no sites below it (central office only)."""
    require_admin(actor)
    site = _load_site(db, site_id)
    has_children = db.exec(select(Site.id).where(Site.parent_id == site.id).limit(1)).first()
    if has_children is not None:
        raise errors.SiteHasChildren()
    db.execute(
        update(User).where(col(User.site_id) == site.id).values(
            site_id=None, status=AccountStatus.disabled
        )
    )
    db.execute(delete(ScreenDevice).where(col(ScreenDevice.site_id) == site.id))
    for table in (SitePresence, SitePresenceEvent, ConnectionTest, Incident):
        db.execute(delete(table).where(col(table.site_id) == site.id))
    db.execute(update(Invite).where(col(Invite.site_id) == site.id).values(site_id=None))
    db.execute(
        update(Invite).where(col(Invite.parent_site_id) == site.id).values(revoked=True)
    )
    db.delete(site)
    db.commit()


# ------------------------------------------------- read helpers for the pages


def _scope_conds(db: Session, actor: User) -> list[Any]:
    """Conditions limiting a Site query to what `actor` may see."""
    if is_admin(actor):
        return []
    return [col(Site.path).startswith(_root_site(db, actor).path)]


def sites_by_ids(
    db: Session, *, conference_id: int, ids: Sequence[int], actor: User
) -> dict[int, Site]:
    """The visible sites among `ids`, in one query (parent names on a page of sites)."""
    get_conference(db, conference_id=conference_id, actor=actor)
    wanted = sorted(set(ids))[:MAX_PAGE]
    if not wanted:
        return {}
    rows = db.exec(
        select(Site).where(
            Site.conference_id == conference_id,
            col(Site.id).in_(wanted),
            *_scope_conds(db, actor),
        )
    ).all()
    return {s.id: s for s in rows if s.id is not None}


def parent_choices(
    db: Session, *, conference_id: int, actor: User, limit: int = 300
) -> Sequence[Site]:
    """Sites offered as a parent in forms: the central site and hubs in scope, and the
    actor's own site; bounded, since a conference may hold 31,000 sites."""
    get_conference(db, conference_id=conference_id, actor=actor)
    wanted: list[Any] = [col(Site.kind).in_([SiteKind.central, SiteKind.hub])]
    if not is_admin(actor):
        wanted.append(col(Site.id) == actor.site_id)
    return db.exec(
        select(Site)
        .where(Site.conference_id == conference_id, or_(*wanted), *_scope_conds(db, actor))
        .order_by(col(Site.path))
        .limit(max(1, min(limit, MAX_PAGE)))
    ).all()


# ------------------------------------------------------------------ screens


def screen_for_token(db: Session, *, token: str) -> ScreenContext | None:
    """The enrolled, unrevoked screen a token belongs to, or None."""
    if not token.startswith("scr_") or len(token) > 100:
        return None
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
        conference_id=screen.conference_id,
        site_name=site_name,
    )


# ------------------------------------------------------- roll-call: who is missing


def online_sites(db: Session, *, conference_id: int, at: datetime | None = None) -> set[int]:
    """Sites online: the presence ticker's stored state now, or for a past moment the last
    recorded transition before it. The one definition of "online" every view uses."""
    if at is None:
        rows = db.execute(
            sa_select(col(SitePresence.site_id)).where(
                col(SitePresence.conference_id) == conference_id,
                col(SitePresence.online).is_(True),
            )
        ).all()
        return {int(r[0]) for r in rows}
    last = (
        sa_select(func.max(col(SitePresenceEvent.id)))
        .where(
            col(SitePresenceEvent.conference_id) == conference_id,
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
    """Enrolled, unrevoked screens per site."""
    rows = db.execute(
        sa_select(col(ScreenDevice.site_id), func.count())
        .where(col(ScreenDevice.conference_id) == conference_id,
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
    sites = db.exec(
        select(Site)
        .where(Site.conference_id == conference_id,
               col(Site.readiness) != Readiness.not_participating, *_scope_conds(db, actor))
        .order_by(col(Site.path))
    ).all()
    rows: list[MissingSite] = []
    for site in sites:
        assert site.id is not None
        count = int(screens.get(site.id, 0))
        reasons = missing_reasons(site.readiness, site.id in online, count)
        if reasons:
            rows.append(MissingSite(
                site_id=site.id, name=site.name, kind=site.kind, parent_id=site.parent_id,
                path=site.path, readiness=site.readiness, online=site.id in online,
                screens=count, reasons=reasons,
            ))
    db.rollback()
    return MissingList(
        conference_id=conference_id, session_id=session_id, at=at or now, sites=rows
    )
