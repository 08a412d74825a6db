"""Conference-scoped and form lists of sites: filtered, paged, in tree order."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, literal, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.accounts.service import is_admin
from app.text import search_key
from endpoints.models import (
    Approval,
    Conference,
    Participation,
    Readiness,
    Site,
    SiteKind,
    SiteStatus,
    SiteView,
)
from endpoints.service import (
    MAX_PAGE,
    check_scope,
    get_conference,
    load_site,
    scope_conds,
)

# A filtered list walks the list-order index while its page ends in the first third of
# the matches, else it sorts the matches (see `_filtered_page`).
WALK_SHARE = 3


@dataclass(frozen=True)
class SiteFilter:
    """What the site list may be narrowed by."""

    q: str | None = None
    kind: SiteKind | None = None
    readiness: Readiness | None = None
    approval: Approval | None = None
    parent_id: int | None = None
    under_id: int | None = None
    # The registry list only: active, merged or retired.
    status: SiteStatus | None = None


@dataclass(frozen=True)
class SitePage:
    items: Sequence[SiteView]
    total: int


def _filter_conds(db: Session, actor: User, f: SiteFilter) -> list[Any]:
    conds: list[Any] = scope_conds(db, actor)
    if f.under_id is not None:
        under = load_site(db, f.under_id)
        check_scope(db, actor, under)
        # The subtree is a range of the sort path index (a parent's sort path is the
        # prefix of its descendants'; "g" follows every hex digit), read in list order.
        conds += ([col(Site.sort_path) >= under.sort_path,
                   col(Site.sort_path) < under.sort_path + "g"] if under.sort_path
                  else [col(Site.path).startswith(under.path)])
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
    if f.parent_id is not None:
        conds.append(col(Site.parent_id) == f.parent_id)
    return conds


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
    part_conds: list[Any] = [col(Participation.conference_id) == conference_id]
    if f.readiness is not None:
        part_conds.append(col(Participation.readiness) == f.readiness)
    if f.approval is not None:
        part_conds.append(col(Participation.approval) == f.approval)
    site_conds = _filter_conds(db, actor, f)
    top = f.under_id if f.under_id is not None else f.parent_id
    if top is not None and (under := db.get(Site, top)) is not None and under.sort_path:
        # A subtree (or a site's children) is a range of the participation's copy of the
        # sort path: an index range scan instead of a walk through the whole conference.
        part_conds += [col(Participation.sort_path) >= under.sort_path,
                       col(Participation.sort_path) < under.sort_path + "g"]
    page = (max(1, min(limit, MAX_PAGE)), max(0, offset))
    if site_conds:
        return _filtered_page(db, conference_id, part_conds, site_conds, page)
    # Unfiltered: the page's site ids in list order come from the participation's
    # covering (conference_id, sort_path, site_id) index alone, however deep the page.
    total = db.execute(
        sa_select(func.count()).select_from(Participation).where(*part_conds)
    ).scalar_one()
    ids = [int(r[0]) for r in db.execute(
        sa_select(col(Participation.site_id)).where(*part_conds)
        .order_by(col(Participation.sort_path)).limit(page[0]).offset(page[1])
    ).all()]
    return SitePage(items=_views(db, conference_id, ids), total=int(total))


def _views(db: Session, conference_id: int, ids: list[int]) -> list[SiteView]:
    """The sites of `ids` with their participation, in the order of `ids`."""
    rows = db.execute(
        sa_select(Site, Participation)
        .join(Participation, col(Participation.site_id) == col(Site.id))
        .where(col(Participation.conference_id) == conference_id, col(Site.id).in_(ids))
    ).all()
    found = {s.id: SiteView(s, p) for s, p in rows}
    return [found[i] for i in ids if i in found]


def _filtered_page(
    db: Session, conference_id: int, part_conds: list[Any], site_conds: list[Any],
    page: tuple[int, int],
) -> SitePage:
    """A filtered page of the conference's sites in list order, counted through the site
    table (each site checked against the conference by its (conference, site) key).

    Two ways to the page, chosen by how many sites match: when the page's rows come early
    in the list (many matches), walk the site's list-order index and stop at the page's
    end; when they are few ("Phước …" sits after every "An …"), the walk would read most
    of the index, so scan the table for them and sort just those (`|| ''` keeps the
    planner off the index). Measured at 31,000 sites: a walk costs about 0.3 µs a row,
    a scan about 0.1 µs, so walk while the page lies in the first third of the matches."""
    taking_part = (
        sa_select(literal(1))
        .where(col(Participation.site_id) == col(Site.id), *part_conds)
        .exists()
    )
    total = db.execute(
        sa_select(func.count()).select_from(Site).where(taking_part, *site_conds)
    ).scalar_one()
    walk = (page[0] + page[1]) * WALK_SHARE <= total
    order = col(Site.sort_path) if walk else col(Site.sort_path).concat("")
    ids = [int(r[0]) for r in db.execute(
        sa_select(col(Site.id)).where(taking_part, *site_conds)
        .order_by(order).limit(page[0]).offset(page[1])
    ).all()]
    return SitePage(items=_views(db, conference_id, ids), total=int(total))


def sites_by_ids(
    db: Session, *, conference_id: int, ids: Sequence[int], actor: User
) -> dict[int, SiteView]:
    """The visible sites among `ids`, in one query (parent names on a page of sites)."""
    get_conference(db, conference_id=conference_id, actor=actor)
    wanted = sorted(set(ids))[:MAX_PAGE]
    if not wanted:
        return {}
    rows = db.execute(
        sa_select(Site, Participation)
        .outerjoin(Participation, and_(col(Participation.site_id) == col(Site.id),
                                       col(Participation.conference_id) == conference_id))
        .where(col(Site.id).in_(wanted), *scope_conds(db, actor))
    ).all()
    return {s.id: SiteView(s, p) for s, p in rows if s.id is not None}


def parent_choices(db: Session, *, actor: User, limit: int = 300) -> Sequence[Site]:
    """Registry sites offered as a parent in forms: the central site and hubs in scope, and
    the actor's own site; bounded, since the registry may hold 31,000 sites."""
    wanted: list[Any] = [col(Site.kind).in_([SiteKind.central, SiteKind.hub])]
    if not is_admin(actor):
        wanted.append(col(Site.id) == actor.site_id)
    return db.exec(
        select(Site)
        .where(or_(*wanted), col(Site.status) == SiteStatus.active, *scope_conds(db, actor))
        .order_by(col(Site.sort_path))
        .limit(max(1, min(limit, MAX_PAGE)))
    ).all()


def registry_sites(
    db: Session,
    *,
    actor: User,
    filters: SiteFilter | None = None,
    limit: int = 100,
    offset: int = 0,
) -> SitePage:
    """Registry sites visible to the user, outside any conference (readiness is per
    conference and does not filter here; approval is the registry's)."""
    f = filters or SiteFilter()
    conds = _filter_conds(db, actor, f)
    if f.approval is not None:
        conds.append(col(Site.approval) == f.approval)
    if f.status is not None:
        conds.append(col(Site.status) == f.status)
    total = db.execute(sa_select(func.count()).select_from(Site).where(*conds)).scalar_one()
    rows = db.exec(
        select(Site).where(*conds).order_by(col(Site.sort_path))
        .limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset))
    ).all()
    return SitePage(items=[SiteView(s, None) for s in rows], total=int(total))


def registry_by_ids(db: Session, *, ids: Sequence[int], actor: User) -> dict[int, SiteView]:
    """The visible registry sites among `ids`, without a conference's participation."""
    wanted = sorted(set(ids))[:MAX_PAGE]
    if not wanted:
        return {}
    rows = db.exec(select(Site).where(col(Site.id).in_(wanted), *scope_conds(db, actor))).all()
    return {s.id: SiteView(s, None) for s in rows if s.id is not None}


def site_conferences(db: Session, *, site_id: int, actor: User) -> Sequence[Conference]:
    """The conferences a site in scope takes part in, newest first (for its page)."""
    check_scope(db, actor, load_site(db, site_id))
    return db.exec(
        select(Conference)
        .join(Participation, col(Participation.conference_id) == col(Conference.id))
        .where(Participation.site_id == site_id)
        .order_by(col(Conference.starts_on).desc(), col(Conference.id).desc())
        .limit(MAX_PAGE)
    ).all()
