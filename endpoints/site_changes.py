"""Changing a registry site: edit, rename, move, delete; every change leaves history.

A site's own fields (name, code, place in the tree, room, contacts) change in the
registry; expected attendees and readiness change in its participation in one
conference. A rename or a new code reaches the participations of conferences that
have not ended yet; past conferences keep the name they had.
"""

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import String, delete, func, literal, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.models import AccountStatus, User
from app.accounts.service import is_admin, require_admin
from app.db import local_today, utcnow
from app.text import search_key
from endpoints import errors, events, tree_order
from endpoints.invite_models import Invite
from endpoints.models import (
    PARTICIPATION_FIELDS,
    Conference,
    ConnectionTest,
    Incident,
    Participation,
    Site,
    SiteChange,
    SiteHistory,
    SiteKind,
    SiteStatus,
    SiteUpdate,
    SiteView,
)
from endpoints.screen_models import ScreenDevice, SitePresence, SitePresenceEvent
from endpoints.service import (
    check_scope,
    current_conference_id,
    get_site,
    load_site,
    participation_of,
)

_SITE_REQUIRED = frozenset({"name", "kind", "expected_attendees", "readiness"})


def record(db: Session, *, site: Site, change: SiteChange, actor: User | None,
           **fields: Any) -> None:
    """Add one history row for `site` (not committed)."""
    assert site.id is not None
    db.add(SiteHistory(site_id=site.id, change=change, actor_id=actor.id if actor else None,
                       **fields))


def move(db: Session, *, site: Site, new_parent: Site | None) -> None:
    """Put `site` and its subtree under `new_parent` (not committed)."""
    if new_parent is not None and new_parent.path.startswith(site.path):
        raise errors.SiteCycle()
    old_path = site.path
    new_path = f"{new_parent.path if new_parent else '/'}{site.id}/"
    depth_delta = (new_parent.depth + 1 if new_parent else 0) - site.depth
    # One statement rewrites the whole subtree's paths; no per-row round trips.
    db.execute(
        update(Site)
        .where(col(Site.path).startswith(old_path))
        .values(
            path=literal(new_path, String).concat(func.substr(Site.path, len(old_path) + 1)),
            depth=Site.depth + depth_delta,
        )
        .execution_options(synchronize_session=False)
    )
    # The participations' copy of the path, in every conference (past ones too: their
    # tree is the registry's as it is now).
    db.execute(
        update(Participation)
        .where(col(Participation.path).startswith(old_path))
        .values(path=literal(new_path, String).concat(
            func.substr(Participation.path, len(old_path) + 1)
        ))
        .execution_options(synchronize_session=False)
    )
    site.parent_id = new_parent.id if new_parent else None
    db.refresh(site, ["path", "depth"])
    tree_order.resort(db, site=site)


def follow_rename(db: Session, *, site: Site, today: date | None = None) -> None:
    """Give conferences that have not ended the site's current name and code."""
    open_conferences = select(Conference.id).where(
        col(Conference.ends_on) >= (today or local_today())
    )
    db.execute(
        update(Participation)
        .where(col(Participation.site_id) == site.id,
               col(Participation.conference_id).in_(open_conferences))
        .values(name=site.name, code=site.code, updated_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )


def _change_place(db: Session, site: Site, new_parent_id: int | None, actor: User) -> None:
    new_parent = None
    if new_parent_id is not None:
        new_parent = db.get(Site, new_parent_id)
        if new_parent is None:
            raise errors.ParentNotFound()
        if new_parent.status != SiteStatus.active:
            raise errors.SiteInactive()
        check_scope(db, actor, new_parent)
    if not is_admin(actor) and (new_parent is None or site.id == actor.site_id):
        raise errors.SiteOutOfScope()
    old_parent_id = site.parent_id
    move(db, site=site, new_parent=new_parent)
    record(db, site=site, change=SiteChange.moved, actor=actor,
           old_parent_id=old_parent_id, new_parent_id=site.parent_id)


def _after_edit(db: Session, site: Site, before: dict[str, Any], actor: User) -> None:
    """History of an edit; a new name or kind moves the site among its siblings."""
    if (site.name, site.kind) != (before["name"], before["kind"]):
        tree_order.resort(db, site=site)
    if site.name != before["name"]:
        record(db, site=site, change=SiteChange.renamed, actor=actor,
               old_name=before["name"], new_name=site.name)
    if site.code != before["code"]:
        record(db, site=site, change=SiteChange.recoded, actor=actor,
               old_code=before["code"], new_code=site.code)
    if site.name != before["name"] or site.code != before["code"]:
        follow_rename(db, site=site)


def _participation_for(
    db: Session, site: Site, conference_id: int | None, wanted: bool
) -> Participation | None:
    if conference_id is None:
        conference_id = current_conference_id(db, site_id=site.id or 0)
    part = (participation_of(db, conference_id=conference_id, site_id=site.id or 0)
            if conference_id is not None else None)
    if part is None and wanted:
        raise errors.SiteNotInConference()
    return part


def update_site(
    db: Session,
    *,
    site_id: int,
    data: SiteUpdate,
    actor: User,
    conference_id: int | None = None,
    publish: Callable[[str, str], None] | None = None,
) -> SiteView:
    """Change a site and its participation in `conference_id` (default: the current
    conference); moving it or changing the central site is the central office's call."""
    site = get_site(db, site_id=site_id, actor=actor)
    changes = {
        key: value
        for key, value in data.model_dump(exclude_unset=True).items()
        # null keeps a field the site always has (as for sessions); it clears an optional one.
        if value is not None or key not in _SITE_REQUIRED
    }
    part_changes = {k: changes.pop(k) for k in list(changes) if k in PARTICIPATION_FIELDS}
    part = _participation_for(db, site, conference_id, wanted=bool(part_changes))
    if "parent_id" in changes and changes["parent_id"] != site.parent_id:
        _change_place(db, site, changes["parent_id"], actor)
    changes.pop("parent_id", None)
    if changes.get("kind") == SiteKind.central or (
        site.kind == SiteKind.central and "kind" in changes
    ):
        require_admin(actor)
    before = {"name": site.name, "code": site.code, "kind": site.kind}
    for key, value in changes.items():
        setattr(site, key, value)
    site.name_key = search_key(site.name)
    site.updated_at = utcnow()
    db.add(site)
    try:
        db.flush()
    except IntegrityError as exc:
        db.rollback()
        raise errors.DuplicateSiteCode() from exc
    _after_edit(db, site, before, actor)
    if part is not None:
        for key, value in part_changes.items():
            setattr(part, key, value)
        if part_changes:
            part.updated_at = utcnow()
        db.add(part)
    db.commit()
    if part is not None:
        db.refresh(part)
    if publish is not None and part is not None and (
        part_changes.keys() | changes.keys()
    ) & {"readiness", "expected_attendees", "name"}:
        # The live dashboard follows readiness and expected counts.
        publish(
            events.readiness_channel(part.conference_id),
            events.encode_site(
                conference_id=part.conference_id, site_id=site_id, readiness=part.readiness,
                expected=part.expected_attendees, name=part.name, at=site.updated_at,
            ),
        )
    return SiteView(site, part)


def delete_site(db: Session, *, site_id: int, actor: User) -> None:
    """Remove a site that has no sites below it (central office only). Sites with a past
    are better retired (endpoints.registry), which keeps their history."""
    require_admin(actor)
    site = load_site(db, site_id)
    has_children = db.exec(select(Site.id).where(Site.parent_id == site.id).limit(1)).first()
    if has_children is not None:
        raise errors.SiteHasChildren()
    db.execute(
        update(User).where(col(User.site_id) == site.id).values(
            site_id=None, status=AccountStatus.disabled
        )
    )
    db.execute(delete(ScreenDevice).where(col(ScreenDevice.site_id) == site.id))
    for table in (SitePresence, SitePresenceEvent, ConnectionTest, Incident, Participation,
                  SiteHistory):
        db.execute(delete(table).where(col(table.site_id) == site.id))
    db.execute(update(Invite).where(col(Invite.site_id) == site.id).values(site_id=None))
    db.execute(
        update(Invite).where(col(Invite.parent_site_id) == site.id).values(revoked=True)
    )
    db.execute(update(Site).where(col(Site.merged_into_id) == site.id).values(
        merged_into_id=None))
    db.delete(site)
    db.commit()
