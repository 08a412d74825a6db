"""A conference invites registry sites: the whole tree, a branch, a kind or a hand-picked list.

Inviting is one INSERT … SELECT whatever the size of the selection: a recursive CTE
walks from the chosen sites up to the root (a conference's tree is always whole), and
the pairs already in the conference are skipped in the same statement. Removing a site
from a conference looks at attendance, so it lives in checkin (checkin.participations).
"""

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, Integer, String, func, literal, or_, true
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.selectable import CTE
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.accounts.service import require_admin
from app.audit import service as audit_service
from app.db import UTCDateTime, utcnow
from endpoints import errors
from endpoints.models import (
    Approval,
    Conference,
    Participation,
    Readiness,
    Site,
    SiteKind,
    SiteStatus,
)
from endpoints.participation_models import InviteReport, InviteSelection
from endpoints.service import load_site

#: How many offending ids or codes an error names (the rest are counted).
NAMED = 20
#: Codes looked up per query (bound parameters stay far below every backend's limit).
_CHUNK = 1_000

_SITE = cast(Any, Site).__table__
_PART = cast(Any, Participation).__table__


def _invitable() -> list[Any]:
    """Sites a conference may invite: not merged or retired, approved into the registry."""
    return [col(Site.status) == SiteStatus.active, col(Site.approval) == Approval.approved]


def _usable(site: Site) -> bool:
    return site.status == SiteStatus.active and site.approval == Approval.approved


def _bulk_conds(db: Session, selection: InviteSelection) -> list[Any]:
    """The WHERE of a whole-tree, branch or kind selection."""
    conds = _invitable()
    if selection.under_id is not None:
        under = load_site(db, selection.under_id)
        if not _usable(under):
            raise errors.SiteInactive()
        conds.append(col(Site.path).startswith(under.path))
    if selection.kind is not None:
        conds.append(col(Site.kind) == selection.kind)
    return conds


def _picked_conds(db: Session, *, conference_id: int, site_ids: Sequence[int]) -> list[Any]:
    """The WHERE of a hand-picked list, refused whole if one site is unknown, merged,
    retired, pending or already in the conference."""
    ids = sorted(set(site_ids))
    rows = db.execute(
        sa_select(col(Site.id), col(Site.status), col(Site.approval))
        .where(col(Site.id).in_(ids))
    ).all()
    found = {int(r[0]): (r[1], r[2]) for r in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise errors.SiteNotFound(site_ids=missing[:NAMED], count=len(missing))
    inactive = [i for i, (status, approval) in found.items()
                if status != SiteStatus.active or approval != Approval.approved]
    if inactive:
        raise errors.SiteInactive(site_ids=inactive[:NAMED], count=len(inactive))
    already = sorted(int(i) for i in db.execute(
        sa_select(col(Participation.site_id)).where(
            col(Participation.conference_id) == conference_id,
            col(Participation.site_id).in_(ids),
        )
    ).scalars())
    if already:
        raise errors.AlreadyInvited(site_ids=already[:NAMED], count=len(already))
    return [col(Site.id).in_(ids)]


def _with_ancestors(conds: list[Any]) -> CTE:
    """Ids of the sites matching `conds` and of every site above them (UNION drops the
    repeats, so the walk stops at the root: one step per level of the tree)."""
    picked = (
        sa_select(_SITE.c.id.label("id")).where(*conds)
        # Nested: the WITH goes inside the INSERT, which the drivers then count as DML.
        .cte("picked", recursive=True, nesting=True)
    )
    up = _SITE.alias("up")
    return picked.union(
        sa_select(up.c.parent_id)
        .join(picked, up.c.id == picked.c.id)
        .where(up.c.parent_id.is_not(None))
    )


def _count_in(db: Session, conference_id: int) -> int:
    query = sa_select(func.count()).select_from(_PART).where(
        _PART.c.conference_id == conference_id
    )
    return int(db.execute(query).scalar_one())


def _count(db: Session, picked: CTE) -> int:
    return int(db.execute(sa_select(func.count()).select_from(picked)).scalar_one())


_COLUMNS = ("conference_id", "site_id", "expected_attendees", "readiness", "approval",
            "name", "code", "path", "sort_path", "invited_at", "updated_at")


def _insert_missing(db: Session, conference_id: int, picked: CTE) -> int:
    """Add the picked sites not yet in the conference, in one statement; rows added.

    The pairs already there are skipped by the unique index (ON CONFLICT DO NOTHING),
    not by an anti-join: with the statistics of a table that just grew by thousands of
    rows, PostgreSQL planned the anti-join as a nested loop (22 s for 31,000 sites).
    """
    now = utcnow()
    ids = sa_select(picked.c.id).subquery("ids")
    source = (
        sa_select(
            literal(conference_id, Integer), _SITE.c.id, literal(0, Integer),
            literal(Readiness.not_connected.value, String),
            literal(Approval.approved.value, String),
            _SITE.c.name, _SITE.c.code, _SITE.c.path, _SITE.c.sort_path,
            literal(now, UTCDateTime),
            literal(now, UTCDateTime),
        )
        .select_from(ids.join(_SITE, _SITE.c.id == ids.c.id))
        # SQLite needs a WHERE before ON CONFLICT, or it reads ON as the join's.
        .where(true())
    )
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(_PART).from_select(_COLUMNS, source).on_conflict_do_nothing(
        index_elements=["conference_id", "site_id"]
    )
    # An INSERT's rowcount is kept only when asked for (SQLAlchemy memoises it for
    # UPDATE and DELETE alone).
    result = db.execute(statement, execution_options={"preserve_rowcount": True})
    return int(cast(CursorResult[Any], result).rowcount)


def invite_sites(
    db: Session, *, conference_id: int, actor: User, selection: InviteSelection
) -> InviteReport:
    """Invite registry sites, and the sites above them, to a conference (central office).

    A hand-picked list is all or nothing: one unknown, inactive or already-invited site
    refuses it. A bulk selection (all, a branch, a kind) skips and counts the sites
    already in the conference, so running it again changes nothing.
    """
    require_admin(actor)
    if db.get(Conference, conference_id) is None:
        raise errors.ConferenceNotFound()
    if selection.site_ids is not None:
        conds = _picked_conds(db, conference_id=conference_id, site_ids=selection.site_ids)
    else:
        conds = _bulk_conds(db, selection)
    picked = _with_ancestors(conds)
    wanted = _count(db, picked)
    invited = _insert_missing(db, conference_id, picked)
    total = _count_in(db, conference_id)
    # One statement for the whole selection: one entry for it.
    audit_service.record(db, action="invite_sites", object_type="participation",
                         conference_id=conference_id,
                         detail={"invited": invited, "already_in": wanted - invited})
    db.commit()
    return InviteReport(invited=invited, already_in=wanted - invited, total_in_conference=total)


# ------------------------------------------------------------------ for the page


def participant_count(db: Session, *, conference_id: int) -> int:
    """How many sites take part in a conference."""
    return _count_in(db, conference_id)


def site_ids_for_codes(db: Session, *, codes: Sequence[str]) -> list[int]:
    """Registry ids of the given site codes (as pasted, one per line); 404 naming the
    codes that are not in the registry."""
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    by_code: dict[str, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = db.execute(
            sa_select(col(Site.code), col(Site.id))
            .where(col(Site.code).in_(wanted[start:start + _CHUNK]))
        ).all()
        by_code.update((str(r[0]), int(r[1])) for r in rows)
    unknown = [c for c in wanted if c not in by_code]
    if unknown:
        shown = ", ".join(unknown[:NAMED]) + ("…" if len(unknown) > NAMED else "")
        raise errors.SiteNotFound(
            f"Không có điểm cầu mang mã {shown} trong danh mục.",
            codes=unknown[:NAMED], count=len(unknown),
        )
    return [by_code[c] for c in wanted]


def hub_choices(db: Session) -> Sequence[Site]:
    """The central site and the province/city hubs of the registry that can be invited,
    for a branch to invite with its whole subtree."""
    return db.exec(
        select(Site)
        .where(or_(col(Site.kind) == SiteKind.hub, col(Site.kind) == SiteKind.central),
               *_invitable())
        .order_by(col(Site.sort_path))
    ).all()


def site_labels(db: Session, *, site_ids: Sequence[int]) -> list[str]:
    """"Name (code)" of a few sites an error named, in the order given."""
    if not site_ids:
        return []
    rows = db.execute(
        sa_select(col(Site.id), col(Site.name), col(Site.code))
        .where(col(Site.id).in_(list(site_ids)[:NAMED]))
    ).all()
    labels = {int(r[0]): f"{r[1]} ({r[2]})" if r[2] else str(r[1]) for r in rows}
    return [labels[i] for i in site_ids if i in labels]
