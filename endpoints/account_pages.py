"""HTML pages of accounts: the central office's list (lock, unlock, log out, reset link),
changing one's own password, and the reset link's page."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from app.accounts import admin, resets
from app.accounts import errors as accounts_errors
from app.accounts import service as accounts_service
from app.accounts.models import AccountStatus, User
from app.audit import spool
from app.db import DbSession, ReadDbSession
from app.deps import AdminUser, CsrfChecked, CurrentUser, HubDep, SettingsDep, set_login_cookie
from app.errors import AppError
from app.templating import render_page
from endpoints.account_routes import reset_url
from endpoints.models import Site

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
STATUS_LABELS = {
    AccountStatus.active: "Đang hoạt động",
    AccountStatus.pending: "Chờ duyệt",
    AccountStatus.rejected: "Bị từ chối",
    AccountStatus.disabled: "Đã khoá",
}
_DONE = {
    "disable": "Đã khoá tài khoản {name}; các phiên đăng nhập của tài khoản đã kết thúc.",
    "enable": "Đã mở khoá tài khoản {name}.",
    "logout": "Đã đăng xuất tài khoản {name} khỏi mọi thiết bị.",
}


def _site_names(db: Session, users: list[User]) -> dict[int, str]:
    ids = {u.site_id for u in users if u.site_id is not None}
    if not ids:
        return {}
    rows = db.exec(select(Site.id, Site.name).where(col(Site.id).in_(ids))).all()
    return {sid: name for sid, name in rows if sid is not None}


def _list_page(
    request: Request, db: Session, user: User, *, q: str = "", status: str = "",
    page: int = 1, **extra: Any,
) -> HTMLResponse:
    chosen = AccountStatus(status) if status in AccountStatus.__members__ else None
    users, total = admin.list_accounts(
        db, actor=user, query=q or None, status=chosen,
        limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
    )
    context = {
        "accounts": list(users), "total": total, "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)), "query": {"q": q, "status": status},
        "sites": _site_names(db, list(users)), "STATUS_LABELS": STATUS_LABELS,
        "me": user.id, **extra,
    }
    return render_page(request, user, "endpoints/accounts.html", context)


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(
    request: Request, db: ReadDbSession, user: AdminUser,
    q: Annotated[str, Query(max_length=100)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Every account, searchable, with the central office's actions."""
    spool.viewed(db, what="user_account_list", search=bool(q))  # names and phones
    return _list_page(request, db, user, q=q, status=status, page=page)


@router.post("/accounts/{user_id}/{action}", dependencies=[CsrfChecked])
def account_action(
    request: Request, user_id: int, action: str, db: DbSession, user: AdminUser,
    hub: HubDep, settings: SettingsDep,
) -> Response:
    """Lock, unlock, log out, or issue a reset link (shown once on the page)."""
    extra: dict[str, Any] = {}
    if action == "disable":
        target = admin.disable_account(db, user_id=user_id, actor=user, publish=hub.publish)
    elif action == "enable":
        target = admin.enable_account(db, user_id=user_id, actor=user)
    elif action == "logout":
        target = admin.force_logout(db, user_id=user_id, actor=user, publish=hub.publish)
    elif action == "reset-link":
        token = resets.issue_reset(
            db, user_id=user_id, actor=user, valid_hours=settings.reset_link_hours
        )
        target = admin.get_account(db, user_id=user_id, actor=user)
        extra = {"reset_link": reset_url(request, token), "reset_for": target,
                 "reset_hours": settings.reset_link_hours}
    else:
        raise AppError("Thao tác không hợp lệ.", action=action)
    if action in _DONE:
        extra["flash"] = _DONE[action].format(name=target.username)
    return _list_page(request, db, user, q=target.username, **extra)


# ------------------------------------------------------------- own password


@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request, user: CurrentUser) -> Response:
    """The form to change one's own password."""
    return render_page(request, user, "account_password.html")


@router.post("/account/password", dependencies=[CsrfChecked])
def password_submit(
    request: Request, db: DbSession, user: CurrentUser, hub: HubDep, settings: SettingsDep,
    current_password: Annotated[str, Form(max_length=200)],
    new_password: Annotated[str, Form(max_length=500)],
    confirm_password: Annotated[str, Form(max_length=500)],
) -> Response:
    """Change the password; other devices are logged out, this one gets a fresh cookie."""
    try:
        if new_password != confirm_password:
            raise accounts_errors.PasswordMismatch()
        saved = accounts_service.change_password(
            db, user=user, current=current_password, new=new_password, publish=hub.publish
        )
    except AppError as exc:
        return render_page(request, user, "account_password.html",
                           {"error": exc.detail, "code": exc.code}, status=exc.status_code)
    response = render_page(request, saved, "account_password.html", {"done": True})
    set_login_cookie(
        response, token=accounts_service.issue_token(user=saved, secret=settings.secret_key),
        settings=settings,
    )
    return response


# ------------------------------------------------------------- reset link


@router.get("/password-reset/{token}", response_class=HTMLResponse)
def reset_page(request: Request, token: str, db: ReadDbSession) -> Response:
    """The reset form, for a live link only."""
    try:
        account = resets.reset_account(db, token=token)
    except AppError as exc:
        return render_page(request, None, "password_reset.html",
                           {"invalid": exc.detail}, status=exc.status_code)
    return render_page(request, None, "password_reset.html", {"account": account})


@router.post("/password-reset/{token}", dependencies=[CsrfChecked])
def reset_submit(
    request: Request, token: str, db: DbSession, hub: HubDep,
    new_password: Annotated[str, Form(max_length=500)],
    confirm_password: Annotated[str, Form(max_length=500)],
) -> Response:
    """Set the new password through the link (once)."""
    try:
        account = resets.reset_account(db, token=token)
    except AppError as exc:
        return render_page(request, None, "password_reset.html",
                           {"invalid": exc.detail}, status=exc.status_code)
    try:
        if new_password != confirm_password:
            raise accounts_errors.PasswordMismatch()
        resets.redeem_reset(db, token=token, password=new_password, publish=hub.publish)
    except AppError as exc:
        return render_page(request, None, "password_reset.html",
                           {"account": account, "error": exc.detail, "code": exc.code},
                           status=exc.status_code)
    return render_page(request, None, "password_reset.html", {"done": True})
