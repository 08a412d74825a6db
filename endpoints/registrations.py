"""Sites registered through invites: the approval list and the decision."""

from collections.abc import Sequence

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.accounts.models import AccountStatus, User
from app.accounts.service import require_admin
from app.db import utcnow
from endpoints import errors
from endpoints.invite_models import Invite
from endpoints.models import Approval, Site
from endpoints.service import MAX_PAGE, get_conference, get_site


def list_registrations(
    db: Session, *, conference_id: int, actor: User, approval: Approval = Approval.pending
) -> Sequence[tuple[Site, User | None]]:
    """Sites registered through invites with their coordinator, for the approval screen."""
    require_admin(actor)
    get_conference(db, conference_id=conference_id, actor=actor)
    sites = db.exec(
        select(Site)
        .where(Site.conference_id == conference_id, Site.approval == approval)
        .order_by(col(Site.id))
    ).all()
    users = {
        u.site_id: u
        for u in db.exec(
            select(User).where(col(User.site_id).in_([s.id for s in sites]))
        ).all()
    }
    return [(s, users.get(s.id)) for s in sites]


def _decide(db: Session, *, site_id: int, actor: User, approve: bool) -> Site:
    require_admin(actor)
    site = get_site(db, site_id=site_id, actor=actor)
    new_approval = Approval.approved if approve else Approval.rejected
    decided = db.execute(
        update(Site)
        .where(col(Site.id) == site_id, col(Site.approval) == Approval.pending)
        .values(approval=new_approval, updated_at=utcnow())
    )
    if decided.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise errors.RegistrationNotPending()
    db.execute(
        update(User)
        .where(col(User.site_id) == site_id, col(User.status) == AccountStatus.pending)
        .values(status=AccountStatus.active if approve else AccountStatus.rejected)
    )
    db.refresh(site)
    db.commit()
    return site


def approve_registration(db: Session, *, site_id: int, actor: User) -> Site:
    """Approve a registered site; its coordinator can log in from now on."""
    return _decide(db, site_id=site_id, actor=actor, approve=True)


def reject_registration(db: Session, *, site_id: int, actor: User) -> Site:
    """Reject a registered site; its coordinator account is refused."""
    return _decide(db, site_id=site_id, actor=actor, approve=False)



def list_decided_registrations(
    db: Session, *, conference_id: int, actor: User, limit: int = 200
) -> Sequence[tuple[Site, User | None]]:
    """Sites registered through invites that were approved or rejected, latest first."""
    require_admin(actor)
    get_conference(db, conference_id=conference_id, actor=actor)
    sites = db.exec(
        select(Site)
        .join(Invite, col(Invite.site_id) == col(Site.id))
        .where(Site.conference_id == conference_id, Site.approval != Approval.pending)
        .order_by(col(Site.updated_at).desc(), col(Site.id).desc())
        .limit(max(1, min(limit, MAX_PAGE)))
    ).all()
    users = {
        u.site_id: u
        for u in db.exec(select(User).where(col(User.site_id).in_([s.id for s in sites]))).all()
    }
    return [(s, users.get(s.id)) for s in sites]
