"""Units change by decree: rename, merge, retire and restore registry sites, with history.

A merged site hands its children, coordinators, screens and open invite links to the
site it was merged into, and that site joins the conferences not ended yet that the
merged one takes part in. The merged site's own participations are kept: a conference's
attendance, headcounts and reports stay where they were recorded (past conferences keep
the names they had; see endpoints.site_changes.follow_rename).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.accounts.service import require_admin
from app.db import local_today, utcnow
from app.text import search_key
from endpoints import errors, site_lists, tree_order
from endpoints.invite_models import Invite
from endpoints.models import (
    Conference,
    Participation,
    Site,
    SiteChange,
    SiteHistory,
    SiteKind,
    SiteStatus,
)
from endpoints.screen_models import ScreenDevice
from endpoints.screens import ONLINE_SECONDS
from endpoints.service import (
    get_site,
    invite_ancestors,
    invite_site,
    load_site,
)
from endpoints.site_changes import follow_rename, move, record


@dataclass(frozen=True)
class RegistryPage:
    items: Sequence[Site]
    total: int


def _active(site: Site) -> None:
    if site.status != SiteStatus.active:
        raise errors.SiteInactive()


# ------------------------------------------------------------------- rename


def rename_site(
    db: Session, *, site_id: int, name: str, actor: User, note: str | None = None,
    effective_on: date | None = None,
) -> Site:
    """Give a site in scope a new name (by decree `note`, from `effective_on`); conferences
    not ended yet show the new name, past ones keep the old."""
    site = get_site(db, site_id=site_id, actor=actor)
    _active(site)
    if name == site.name:
        return site
    record(db, site=site, change=SiteChange.renamed, actor=actor, old_name=site.name,
           new_name=name, note=note, effective_on=effective_on)
    site.name, site.name_key, site.updated_at = name, search_key(name), utcnow()
    db.add(site)
    db.flush()
    tree_order.resort(db, site=site)  # the new name takes its place among its siblings
    follow_rename(db, site=site)
    db.commit()
    return site


# -------------------------------------------------------------------- merge


def _move_children(db: Session, site: Site, target: Site, actor: User, note: str | None,
                   effective_on: date | None) -> None:
    children = db.exec(select(Site).where(col(Site.parent_id) == site.id)
                       .order_by(col(Site.id))).all()
    for child in children:
        move(db, site=child, new_parent=target)
        record(db, site=child, change=SiteChange.moved, actor=actor, old_parent_id=site.id,
               new_parent_id=target.id, note=note, effective_on=effective_on)


def _hand_over(db: Session, site: Site, target: Site) -> None:
    """Coordinators, screens, open invite links and earlier merges go to the target."""
    for table in (User, ScreenDevice):
        db.execute(update(table).where(col(table.site_id) == site.id)
                   .values(site_id=target.id).execution_options(synchronize_session=False))
    not_ended = select(Conference.id).where(col(Conference.ends_on) >= local_today())
    db.execute(
        update(Invite)
        .where(col(Invite.parent_site_id) == site.id, col(Invite.used_at).is_(None),
               col(Invite.revoked).is_(False), col(Invite.conference_id).in_(not_ended))
        .values(parent_site_id=target.id).execution_options(synchronize_session=False)
    )
    db.execute(update(Site).where(col(Site.merged_into_id) == site.id)
               .values(merged_into_id=target.id).execution_options(synchronize_session=False))


def _join_conferences(db: Session, site: Site, target: Site) -> None:
    """The target takes part in every conference not ended that the merged site does."""
    parts = db.exec(
        select(Participation)
        .join(Conference, col(Conference.id) == col(Participation.conference_id))
        .where(col(Participation.site_id) == site.id, col(Conference.ends_on) >= local_today())
    ).all()
    for part in parts:
        invite_ancestors(db, conference_id=part.conference_id, site=target)
        invite_site(db, conference_id=part.conference_id, site=target,
                    expected=part.expected_attendees)


def merge_site(
    db: Session, *, site_id: int, into_id: int, actor: User, note: str | None = None,
    effective_on: date | None = None,
) -> Site:
    """Merge a site into another (central office only); returns the merged site."""
    require_admin(actor)
    site, target = load_site(db, site_id), load_site(db, into_id)
    _active(site)
    _active(target)
    if target.path.startswith(site.path):
        raise errors.MergeIntoSubtree()
    _move_children(db, site, target, actor, note, effective_on)
    _hand_over(db, site, target)
    _join_conferences(db, site, target)
    site.status, site.merged_into_id, site.updated_at = SiteStatus.merged, target.id, utcnow()
    db.add(site)
    record(db, site=site, change=SiteChange.merged, actor=actor, merged_into_id=target.id,
           old_name=site.name, old_code=site.code, new_name=target.name, new_code=target.code,
           note=note, effective_on=effective_on)
    # On the target, site_id == merged_into_id reads "took in <old_name>".
    record(db, site=target, change=SiteChange.merged, actor=actor, merged_into_id=target.id,
           old_name=site.name, old_code=site.code, new_name=target.name,
           new_code=target.code, note=note, effective_on=effective_on)
    db.commit()
    return site


# ---------------------------------------------------------- retire, restore


def _has_live_screen(db: Session, site: Site) -> bool:
    since = utcnow() - timedelta(seconds=ONLINE_SECONDS)
    found = db.exec(
        select(ScreenDevice.id).where(
            col(ScreenDevice.site_id) == site.id, col(ScreenDevice.revoked).is_(False),
            col(ScreenDevice.last_seen_at) >= since,
        ).limit(1)
    ).first()
    return found is not None


def retire_site(
    db: Session, *, site_id: int, actor: User, note: str | None = None,
    effective_on: date | None = None,
) -> Site:
    """Retire (giải thể) a site with no active site below it and no screen online."""
    require_admin(actor)
    site = load_site(db, site_id)
    _active(site)
    child = db.exec(
        select(Site.id).where(col(Site.path).startswith(site.path), col(Site.id) != site.id,
                              col(Site.status) == SiteStatus.active).limit(1)
    ).first()
    if child is not None:
        raise errors.SiteHasChildren(
            "Điểm cầu còn điểm cầu cấp dưới đang hoạt động, không thể giải thể."
        )
    if _has_live_screen(db, site):
        raise errors.SiteHasLiveScreen()
    site.status, site.updated_at = SiteStatus.retired, utcnow()
    db.add(site)
    record(db, site=site, change=SiteChange.retired, actor=actor, note=note,
           effective_on=effective_on)
    db.commit()
    return site


def restore_site(
    db: Session, *, site_id: int, actor: User, note: str | None = None,
    effective_on: date | None = None,
) -> Site:
    """Make a merged or retired site active again, where it was in the tree (what a merge
    handed over stays with the site it went to)."""
    require_admin(actor)
    site = load_site(db, site_id)
    if site.status == SiteStatus.active:
        raise errors.SiteActive()
    if site.parent_id is not None:
        _active(load_site(db, site.parent_id))
    record(db, site=site, change=SiteChange.restored, actor=actor,
           merged_into_id=site.merged_into_id, note=note, effective_on=effective_on)
    site.status, site.merged_into_id, site.updated_at = SiteStatus.active, None, utcnow()
    db.add(site)
    db.commit()
    return site


# -------------------------------------------------------------------- reads


def site_history(db: Session, *, site_id: int, actor: User) -> Sequence[SiteHistory]:
    """Every change of a site in scope, oldest first."""
    get_site(db, site_id=site_id, actor=actor)
    return db.exec(
        select(SiteHistory).where(col(SiteHistory.site_id) == site_id)
        .order_by(col(SiteHistory.at), col(SiteHistory.id))
    ).all()


def list_registry_sites(
    db: Session, *, actor: User, q: str | None = None, kind: SiteKind | None = None,
    status: SiteStatus | None = None, under_id: int | None = None, limit: int = 100,
    offset: int = 0,
) -> RegistryPage:
    """Registry sites the user may see (a coordinator: their subtree), in tree order."""
    page = site_lists.registry_sites(
        db, actor=actor, limit=limit, offset=offset,
        filters=site_lists.SiteFilter(q=q, kind=kind, status=status, under_id=under_id),
    )
    return RegistryPage(items=[view.site for view in page.items], total=page.total)
