"""Coordinator accounts of a site: made by the central office, listed on the site page."""

from collections.abc import Sequence

from sqlmodel import Session, col, select

from app.accounts import service as accounts_service
from app.accounts.models import Role, User
from app.accounts.passwords import check_new_password
from app.accounts.service import normalize_username, require_admin
from app.security import hash_password
from endpoints.service import get_site


def create_coordinator(
    db: Session,
    *,
    site_id: int,
    username: str,
    password: str,
    full_name: str,
    phone: str | None,
    actor: User,
) -> User:
    """An active coordinator account for a site, made by the central office."""
    require_admin(actor)
    get_site(db, site_id=site_id, actor=actor)
    check_new_password(password, username=username)
    return accounts_service.add_user(
        db,
        User(
            username=normalize_username(username),
            password_hash=hash_password(password),
            full_name=full_name,
            phone=phone,
            role=Role.coordinator,
            site_id=site_id,
        ),
    )



def list_site_users(db: Session, *, site_id: int, actor: User) -> Sequence[User]:
    """Coordinator accounts of a site the actor may see."""
    get_site(db, site_id=site_id, actor=actor)
    return db.exec(select(User).where(User.site_id == site_id).order_by(col(User.id))).all()
