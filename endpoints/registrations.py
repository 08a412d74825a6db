"""Sites registered through invites: the approval list and the decision.

A registration makes a registry site (approval pending) and its participation in the
invite's conference (pending too); the central office's decision sets both.
"""

from collections.abc import Sequence

from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.accounts.models import AccountStatus, User
from app.accounts.service import require_admin
from app.audit import service as audit_service
from app.db import utcnow
from endpoints import errors
from endpoints.invite_models import Invite
from endpoints.models import Approval, Participation, Site, SiteView
from endpoints.service import (
    MAX_PAGE,
    current_conference_id,
    get_conference,
    get_site,
    participation_of,
)


def _with_users(
    db: Session, rows: Sequence[tuple[Site, Participation]]
) -> list[tuple[SiteView, User | None]]:
    users = {
        u.site_id: u
        for u in db.exec(
            select(User).where(col(User.site_id).in_([s.id for s, _ in rows]))
        ).all()
    }
    return [(SiteView(s, p), users.get(s.id)) for s, p in rows]


def list_registrations(
    db: Session, *, conference_id: int, actor: User, approval: Approval = Approval.pending
) -> Sequence[tuple[SiteView, User | None]]:
    """Sites of a conference with that approval there, with their coordinator, for the
    approval screen."""
    require_admin(actor)
    get_conference(db, conference_id=conference_id, actor=actor)
    rows = db.execute(
        sa_select(Site, Participation)
        .join(Participation, col(Participation.site_id) == col(Site.id))
        .where(col(Participation.conference_id) == conference_id,
               col(Participation.approval) == approval)
        .order_by(col(Site.id))
    ).all()
    return _with_users(db, rows)


def _decide(db: Session, *, site_id: int, actor: User, approve: bool) -> SiteView:
    require_admin(actor)
    site = get_site(db, site_id=site_id, actor=actor)
    new_approval = Approval.approved if approve else Approval.rejected
    now = utcnow()
    decided = db.execute(
        update(Site)
        .where(col(Site.id) == site_id, col(Site.approval) == Approval.pending)
        .values(approval=new_approval, updated_at=now)
    )
    if decided.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise errors.RegistrationNotPending()
    # The conference(s) it registered for wait on the same decision.
    db.execute(
        update(Participation)
        .where(col(Participation.site_id) == site_id,
               col(Participation.approval) == Approval.pending)
        .values(approval=new_approval, updated_at=now)
    )
    db.execute(
        update(User)
        .where(col(User.site_id) == site_id, col(User.status) == AccountStatus.pending)
        .values(status=AccountStatus.active if approve else AccountStatus.rejected)
    )
    # Statements the ORM listener cannot see: the decision is one entry.
    audit_service.record(db, action="approve" if approve else "reject",
                         object_type="registration", object_id=site_id, site_id=site_id,
                         detail={"approval": new_approval.value})
    db.commit()
    db.refresh(site)
    conference_id = registered_for(db, site_id=site_id)
    part = (participation_of(db, conference_id=conference_id, site_id=site_id)
            if conference_id is not None else None)
    return SiteView(site, part)


def registered_for(db: Session, *, site_id: int) -> int | None:
    """The conference a site registered for through an invite (else its current one)."""
    conference_id = db.exec(
        select(Invite.conference_id).where(Invite.site_id == site_id)
        .order_by(col(Invite.id).desc())
    ).first()
    return conference_id if conference_id is not None else current_conference_id(
        db, site_id=site_id
    )


def approve_registration(db: Session, *, site_id: int, actor: User) -> SiteView:
    """Approve a registered site; its coordinator can log in from now on."""
    return _decide(db, site_id=site_id, actor=actor, approve=True)


def reject_registration(db: Session, *, site_id: int, actor: User) -> SiteView:
    """Reject a registered site; its coordinator account is refused."""
    return _decide(db, site_id=site_id, actor=actor, approve=False)


def list_decided_registrations(
    db: Session, *, conference_id: int, actor: User, limit: int = 200
) -> Sequence[tuple[SiteView, User | None]]:
    """Sites registered for this conference through invites that were approved or
    rejected, latest first."""
    require_admin(actor)
    get_conference(db, conference_id=conference_id, actor=actor)
    rows = db.execute(
        sa_select(Site, Participation)
        .join(Participation, col(Participation.site_id) == col(Site.id))
        .join(Invite, col(Invite.site_id) == col(Site.id))
        .where(col(Participation.conference_id) == conference_id,
               col(Invite.conference_id) == conference_id,
               col(Participation.approval) != Approval.pending)
        .order_by(col(Participation.updated_at).desc(), col(Site.id).desc())
        .limit(max(1, min(limit, MAX_PAGE)))
    ).all()
    return _with_users(db, rows)
