"""JSON API of accounts: the central office locks, logs out and resets; a user changes
their own password; a reset link is redeemed."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from app.accounts import admin, resets
from app.accounts import service as accounts_service
from app.accounts.models import AccountStatus, UserPublic
from app.audit import spool
from app.db import DbSession, ReadDbSession
from app.deps import AdminUser, CookieCsrf, CurrentUser, HubDep, SettingsDep
from endpoints.account_models import (
    AccountPage,
    NewToken,
    PasswordChange,
    PasswordResetRedeem,
    ResetLink,
)

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def _public(user: object) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


def reset_url(request: Request, token: str) -> str:
    """The link the central office hands to the account's owner."""
    return f"{str(request.base_url).rstrip('/')}/password-reset/{token}"


@router.get("/accounts", response_model=AccountPage)
def list_accounts(
    db: ReadDbSession,
    user: AdminUser,
    q: Annotated[str | None, Query(max_length=100)] = None,
    status_: Annotated[AccountStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AccountPage:
    """Accounts (central office), by id; `q` matches username or name."""
    users, total = admin.list_accounts(
        db, actor=user, query=q, status=status_, limit=limit, offset=offset
    )
    spool.viewed(db, what="user_account_list", search=bool(q))  # names and phones
    return AccountPage(items=[_public(u) for u in users], total=total)


@router.post("/accounts/{user_id}/disable", response_model=UserPublic,
             dependencies=[CookieCsrf])
def disable_account(user_id: int, db: DbSession, user: AdminUser, hub: HubDep) -> UserPublic:
    """Lock an account: its tokens stop working and its open sockets close."""
    return _public(admin.disable_account(db, user_id=user_id, actor=user, publish=hub.publish))


@router.post("/accounts/{user_id}/enable", response_model=UserPublic, dependencies=[CookieCsrf])
def enable_account(user_id: int, db: DbSession, user: AdminUser) -> UserPublic:
    """Unlock a locked account; it logs in again."""
    return _public(admin.enable_account(db, user_id=user_id, actor=user))


@router.post("/accounts/{user_id}/logout", status_code=status.HTTP_204_NO_CONTENT,
             dependencies=[CookieCsrf])
def force_logout(user_id: int, db: DbSession, user: AdminUser, hub: HubDep) -> None:
    """End every session of an account, open sockets included."""
    admin.force_logout(db, user_id=user_id, actor=user, publish=hub.publish)


@router.post("/accounts/{user_id}/reset-link", response_model=ResetLink, status_code=201,
             dependencies=[CookieCsrf])
def issue_reset_link(
    request: Request, user_id: int, db: DbSession, user: AdminUser, settings: SettingsDep
) -> ResetLink:
    """A one-time password reset link (shown once), valid DIEMCAU_RESET_LINK_HOURS."""
    token = resets.issue_reset(
        db, user_id=user_id, actor=user, valid_hours=settings.reset_link_hours
    )
    return ResetLink(url=reset_url(request, token), expires_in_hours=settings.reset_link_hours)


@router.post("/auth/password", response_model=NewToken, dependencies=[CookieCsrf])
def change_password(
    data: PasswordChange, db: DbSession, user: CurrentUser, hub: HubDep, settings: SettingsDep
) -> NewToken:
    """Change one's own password; other sessions end, the answer carries a fresh token."""
    saved = accounts_service.change_password(
        db, user=user, current=data.current_password, new=data.new_password,
        publish=hub.publish,
    )
    return NewToken(access_token=accounts_service.issue_token(user=saved,
                                                              secret=settings.secret_key))


@router.post("/auth/password-reset", status_code=status.HTTP_204_NO_CONTENT)
def redeem_reset(data: PasswordResetRedeem, db: DbSession, hub: HubDep) -> None:
    """Set a new password with a reset link's token (works once, until it expires)."""
    resets.redeem_reset(db, token=data.token, password=data.new_password, publish=hub.publish)
