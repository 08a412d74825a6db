"""Who may see a site's screen QR: one of its enrolled screens, or a user in scope."""

from sqlmodel import Session

from app.accounts.models import User
from checkin import errors
from endpoints import errors as endpoints_errors
from endpoints import service as endpoints_service
from endpoints.models import Site


def authorize_site_screen(
    db: Session, *, site_id: int, screen_token: str | None, actor: User | None
) -> Site:
    """The site, if the caller is one of its enrolled screens or a user in scope."""
    if screen_token:
        screen = endpoints_service.screen_for_token(db, token=screen_token)
        if screen is None or screen.site_id != site_id:
            raise errors.ScreenTokenInvalid()
        site = db.get(Site, site_id)
        if site is None:
            raise endpoints_errors.SiteNotFound()
        return site
    if actor is None:
        raise errors.ScreenTokenInvalid()
    return endpoints_service.get_site(db, site_id=site_id, actor=actor)
