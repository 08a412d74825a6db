"""The live dashboard's use cases: whose scope, the snapshot and pages of rows over HTTP.

The figures come from :mod:`checkin.attendance` into a :class:`~checkin.board.Board`;
live updates are the coalescer's (:mod:`checkin.coalescer`, :mod:`checkin.dashboards`).
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from checkin import attendance
from checkin.board import Board, Filter, Scope, SitePage, filter_rows, snapshot_body
from checkin.errors import CheckinSessionNotFound
from endpoints import errors as endpoints_errors
from endpoints import service as endpoints_service
from endpoints.models import Conference
from sessions import service as sessions_service


def resolve_scope(
    db: Session,
    *,
    conference_id: int,
    actor: User,
    session_id: int | None = None,
    under_id: int | None = None,
) -> Scope:
    """The scope an actor may watch; `under_id` narrows it (refused outside their subtree)."""
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    if session_id is not None:
        session = sessions_service.get_session(db, session_id=session_id, actor=actor)
        if session.conference_id != conference_id:
            raise CheckinSessionNotFound()
    root: int | None = None
    if under_id is not None:
        # The board holds the conference's participants only: a root must be one.
        endpoints_service.get_site_in(db, conference_id=conference_id, site_id=under_id,
                                      actor=actor)
        root = under_id
    elif not accounts_service.is_admin(actor):
        if actor.site_id is None:
            raise endpoints_errors.SiteOutOfScope()
        endpoints_service.get_site_in(db, conference_id=conference_id, site_id=actor.site_id,
                                      actor=actor)
        root = actor.site_id
    db.rollback()
    return Scope(conference_id=conference_id, session_id=session_id, root=root)


@dataclass(frozen=True)
class DashboardView:
    """What the dashboard shows for a scope (the snapshot, read from the database)."""

    body: dict[str, Any]

    @property
    def totals(self) -> dict[str, int]:
        """Sums over the scope."""
        totals: dict[str, int] = self.body["totals"]
        return totals


def dashboard_snapshot(
    db: Session,
    *,
    conference_id: int,
    actor: User,
    session_id: int | None = None,
    under_id: int | None = None,
) -> DashboardView:
    """Totals, rollups, rows (small scopes), arrivals and incidents, straight from the database."""
    scope = resolve_scope(db, conference_id=conference_id, actor=actor, session_id=session_id,
                          under_id=under_id)
    board, _ = attendance.load_board(db, conference_id=conference_id,
                                     session_key=scope.session_key)
    arrivals = attendance.load_arrivals(db, conference_id=conference_id,
                                        session_key=scope.session_key,
                                        root_path=attendance.site_path(db, scope.root))
    return DashboardView(snapshot_body(board, scope, arrivals, version=0))


def dashboard_sites(
    db: Session,
    *,
    conference_id: int,
    actor: User,
    session_id: int | None = None,
    under_id: int | None = None,
    filter: Filter | None = None,
    q: str | None = None,
    offset: int = 0,
    limit: int = 100,
    board: Board | None = None,
) -> SitePage:
    """A page of rows for the dashboard table (from the live board when given)."""
    scope = resolve_scope(db, conference_id=conference_id, actor=actor, session_id=session_id,
                          under_id=under_id)
    if board is None:
        board, _ = attendance.load_board(db, conference_id=conference_id,
                                         session_key=scope.session_key)
    return filter_rows(board, root=scope.root, filter=filter, q=q, offset=offset, limit=limit)


def conferences_today(db: Session, *, today: date) -> list[int]:
    """Conferences running on `today`: their dashboards are followed from start-up."""
    ids = db.exec(
        select(Conference.id).where(
            col(Conference.starts_on) <= today, col(Conference.ends_on) >= today
        )
    ).all()
    db.rollback()
    return [int(i) for i in ids if i is not None]
