"""JSON API of coordinator accounts, invite links and the registrations they bring."""

from fastapi import APIRouter
from pydantic import BaseModel

from app.accounts.models import Password, Username, UserPublic
from app.audit import spool
from app.db import DbSession, ReadDbSession
from app.deps import AdminUser, CookieCsrf, CurrentUser, SettingsDep
from app.text import Name
from endpoints import coordinators, invites, registrations
from endpoints.invite_models import (
    InviteCreate,
    InviteCreated,
    InvitePublic,
    Registration,
    RegistrationPublic,
)
from endpoints.models import Approval, Phone, SitePublic

router = APIRouter(prefix="/api/v1")


class CoordinatorCreate(BaseModel):
    model_config = {"extra": "forbid"}

    username: Username
    password: Password
    full_name: Name
    phone: Phone | None = None


def _site(site: object) -> SitePublic:
    return SitePublic.model_validate(site, from_attributes=True)


@router.post(
    "/sites/{site_id}/coordinators", response_model=UserPublic, status_code=201, tags=["sites"],
    dependencies=[CookieCsrf],
)
def create_coordinator(
    site_id: int, data: CoordinatorCreate, db: DbSession, user: AdminUser
) -> UserPublic:
    """Give a site a coordinator account directly (central office)."""
    account = coordinators.create_coordinator(
        db,
        site_id=site_id,
        username=data.username,
        password=data.password,
        full_name=data.full_name,
        phone=data.phone,
        actor=user,
    )
    return UserPublic.model_validate(account, from_attributes=True)


@router.post(
    "/conferences/{conference_id}/invites",
    response_model=InviteCreated,
    status_code=201,
    tags=["invites"],
    dependencies=[CookieCsrf],
)
def create_invite(
    conference_id: int,
    data: InviteCreate,
    db: DbSession,
    user: CurrentUser,
    settings: SettingsDep,
) -> InviteCreated:
    """An invite link for a new site; the token is shown once, only its hash is kept."""
    invite, token = invites.create_invite(
        db,
        conference_id=conference_id,
        data=data,
        actor=user,
        default_days=settings.invite_days,
    )
    return InviteCreated.model_validate(
        {**invite.model_dump(), "token": token, "url": f"/invite/{token}"}
    )


@router.get(
    "/conferences/{conference_id}/invites", response_model=list[InvitePublic], tags=["invites"]
)
def list_invites(conference_id: int, db: ReadDbSession, user: AdminUser) -> list[InvitePublic]:
    """Invites of a conference."""
    return [
        InvitePublic.model_validate(i, from_attributes=True)
        for i in invites.list_invites(db, conference_id=conference_id, actor=user)
    ]


@router.post(
    "/invites/{invite_id}/revoke", response_model=InvitePublic, tags=["invites"],
    dependencies=[CookieCsrf],
)
def revoke_invite(invite_id: int, db: DbSession, user: AdminUser) -> InvitePublic:
    """Stop an invite link from working."""
    invite = invites.revoke_invite(db, invite_id=invite_id, actor=user)
    return InvitePublic.model_validate(invite, from_attributes=True)


@router.post(
    "/invites/{token}/register",
    response_model=RegistrationPublic,
    status_code=201,
    tags=["invites"],
    responses={409: {"description": "invite_used, notice_changed (read the notice again)"},
               422: {"description": "notice_not_accepted (with `notice_version` and "
                                      "`notice_url`), validation_error"}},
)
def register(token: str, data: Registration, db: DbSession) -> RegistrationPublic:
    """Register a site and its coordinator through an invite (no login needed). The
    coordinator must accept the conference's privacy notice: `accept_notice: true` and
    the `notice_version` read (GET /api/v1/privacy/{conference_id})."""
    site, account = invites.register_with_invite(db, token=token, data=data)
    return RegistrationPublic(
        site=_site(site), user=UserPublic.model_validate(account, from_attributes=True)
    )


@router.get(
    "/conferences/{conference_id}/registrations",
    response_model=list[RegistrationPublic],
    tags=["invites"],
)
def list_registrations(
    conference_id: int,
    db: ReadDbSession,
    user: AdminUser,
    approval: Approval = Approval.pending,
) -> list[RegistrationPublic]:
    """Sites registered through invites, waiting for (or past) a decision."""
    spool.viewed(db, what="registration_list", conference_id=conference_id)  # names, phones
    return [
        RegistrationPublic(
            site=_site(s), user=UserPublic.model_validate(u, from_attributes=True)
        )
        for s, u in registrations.list_registrations(
            db, conference_id=conference_id, actor=user, approval=approval
        )
        if u is not None
    ]


@router.post(
    "/sites/{site_id}/approve", response_model=SitePublic, tags=["invites"],
    dependencies=[CookieCsrf],
)
def approve(site_id: int, db: DbSession, user: AdminUser) -> SitePublic:
    """Approve a registered site and activate its coordinator."""
    return _site(registrations.approve_registration(db, site_id=site_id, actor=user))


@router.post(
    "/sites/{site_id}/reject", response_model=SitePublic, tags=["invites"],
    dependencies=[CookieCsrf],
)
def reject(site_id: int, db: DbSession, user: AdminUser) -> SitePublic:
    """Reject a registered site."""
    return _site(registrations.reject_registration(db, site_id=site_id, actor=user))
