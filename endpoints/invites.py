"""Invite links: create, list, revoke, and the public registration they open."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts import errors as accounts_errors
from app.accounts.models import AccountStatus, Role, User
from app.accounts.passwords import check_new_password
from app.accounts.service import is_admin, normalize_username, require_admin
from app.db import utcnow
from app.security import hash_password, hash_token, new_invite_token
from endpoints import errors, privacy
from endpoints.invite_models import Invite, InviteCreate, Registration
from endpoints.models import Approval, Conference, Site, SiteCreate, SiteView
from endpoints.service import (
    MAX_PAGE,
    get_conference,
    in_scope,
    invite_ancestors,
    invite_site,
    participation_of,
    place_new_site,
)


def create_invite(
    db: Session, *, conference_id: int, data: InviteCreate, actor: User, default_days: int
) -> tuple[Invite, str]:
    """An invite link for a new site; a hub coordinator may invite sites below their own."""
    get_conference(db, conference_id=conference_id, actor=actor)
    if data.parent_site_id is not None:
        parent = db.get(Site, data.parent_site_id)
        if parent is None or participation_of(
            db, conference_id=conference_id, site_id=data.parent_site_id
        ) is None:
            raise errors.ParentNotFound()
        if not in_scope(db, user=actor, site=parent):
            raise errors.SiteOutOfScope()
    elif not is_admin(actor):
        raise errors.SiteOutOfScope()
    token, token_hash = new_invite_token()
    invite = Invite(
        conference_id=conference_id,
        token_hash=token_hash,
        parent_site_id=data.parent_site_id,
        suggested_kind=data.suggested_kind,
        note=data.note,
        expires_at=utcnow() + timedelta(days=data.days_valid or default_days),
        created_by_id=actor.id,
    )
    db.add(invite)
    db.commit()
    return invite, token


def list_invites(db: Session, *, conference_id: int, actor: User) -> Sequence[Invite]:
    """Invites of a conference (central office), newest first."""
    require_admin(actor)
    get_conference(db, conference_id=conference_id, actor=actor)
    return db.exec(
        select(Invite)
        .where(Invite.conference_id == conference_id)
        .order_by(col(Invite.id).desc())
    ).all()


def revoke_invite(db: Session, *, invite_id: int, actor: User) -> Invite:
    """Stop an unused invite from working."""
    require_admin(actor)
    invite = db.get(Invite, invite_id)
    if invite is None:
        raise errors.InviteInvalid()
    invite.revoked = True
    db.add(invite)
    db.commit()
    return invite


def open_invite(db: Session, *, token: str) -> Invite:
    """The usable invite behind a link token, or the reason it cannot be used."""
    invite = db.exec(select(Invite).where(Invite.token_hash == hash_token(token))).first()
    if invite is None or invite.revoked:
        raise errors.InviteInvalid()
    if invite.used_at is not None:
        raise errors.InviteUsed()
    if invite.expires_at <= utcnow():
        raise errors.InviteExpired()
    return invite


def register_with_invite(
    db: Session, *, token: str, data: Registration
) -> tuple[SiteView, User]:
    """A coordinator registers their site and account: a registry site under the invite's
    parent, added to the invite's conference; all of it waits for approval."""
    invite = open_invite(db, token=token)
    conference = db.get(Conference, invite.conference_id)
    if conference is None:
        raise errors.InviteInvalid()
    # Before the claim: a weak password or a notice not accepted must not use the invite up.
    privacy.check_acceptance(conference, accepted=data.accept_notice,
                             version=data.notice_version)
    check_new_password(data.password, username=data.username)
    now = utcnow()
    # Claim the invite atomically: of two parallel registrations, exactly one wins.
    claimed = db.execute(
        update(Invite)
        .where(col(Invite.id) == invite.id, col(Invite.used_at).is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise errors.InviteUsed()
    parent = db.get(Site, invite.parent_site_id) if invite.parent_site_id else None
    # The invite is the authority here: whoever made it could add sites below its parent.
    site = place_new_site(
        db,
        data=SiteCreate.model_validate({
            "name": data.site_name, "kind": data.kind, "room": data.room,
            "contact_name": data.full_name, "contact_phone": data.phone,
            "connection_link": data.connection_link,
        }),
        parent=parent,
        actor_id=None,
        approval=Approval.pending,
    )
    invite_ancestors(db, conference_id=invite.conference_id, site=site)
    part = invite_site(db, conference_id=invite.conference_id, site=site,
                       expected=data.expected_attendees, approval=Approval.pending)
    user = User(
        username=normalize_username(data.username),
        password_hash=hash_password(data.password),
        full_name=data.full_name,
        phone=data.phone,
        role=Role.coordinator,
        site_id=site.id,
        status=AccountStatus.pending,
    )
    db.execute(update(Invite).where(col(Invite.id) == invite.id).values(site_id=site.id))
    db.add(user)
    try:
        db.flush()
        assert user.id is not None
        privacy.record_acceptance(db, conference=conference, user_id=user.id,
                                  invite_id=invite.id)
        db.commit()
    except IntegrityError as exc:
        db.rollback()
        raise accounts_errors.UsernameTaken() from exc
    return SiteView(site, part), user


def list_invites_in_scope(
    db: Session, *, conference_id: int, actor: User, limit: int = 200
) -> Sequence[Invite]:
    """Invites the actor may see, newest first: all for the central office, those below
    their own site for a coordinator."""
    get_conference(db, conference_id=conference_id, actor=actor)
    query = select(Invite).where(Invite.conference_id == conference_id)
    if not is_admin(actor):
        root = db.get(Site, actor.site_id) if actor.site_id is not None else None
        if root is None:
            raise errors.SiteOutOfScope()
        query = query.join(Site, col(Site.id) == col(Invite.parent_site_id)).where(
            col(Site.path).startswith(root.path)
        )
    return db.exec(
        query.order_by(col(Invite.id).desc()).limit(max(1, min(limit, MAX_PAGE)))
    ).all()


@dataclass(frozen=True)
class InviteDetails:
    """What the public registration page shows about an invite."""

    invite: Invite
    conference: Conference
    parent: Site | None


def invite_details(db: Session, *, token: str) -> InviteDetails:
    """The usable invite behind a token with its conference and parent site (no login)."""
    invite = open_invite(db, token=token)
    conference = db.get(Conference, invite.conference_id)
    if conference is None:
        raise errors.InviteInvalid()
    parent = db.get(Site, invite.parent_site_id) if invite.parent_site_id else None
    return InviteDetails(invite=invite, conference=conference, parent=parent)
