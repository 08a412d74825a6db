"""HTML pages for a site's screens: list, enrol by link or pairing code, revoke."""

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import DbSession, ReadDbSession, utcnow
from app.deps import CsrfChecked, CurrentUser
from app.templating import render
from endpoints import screens, service
from endpoints.screen_models import ScreenDevice

router = APIRouter(include_in_schema=False)


def _render(request: Request, db: Session, user: User, site_id: int, **extra: Any) -> HTMLResponse:
    # Screens belong to the site; the page names the conference the site is about now.
    site = service.site_view(db, site_id=site_id, actor=user)
    conference = None
    if site.conference_id is not None:
        conference = service.get_conference(db, conference_id=site.conference_id, actor=user)
    devices = screens.list_screens(db, site_id=site_id, actor=user)
    online_since = utcnow() - timedelta(seconds=screens.ONLINE_SECONDS)

    def online(device: ScreenDevice) -> bool:
        return bool(device.last_seen_at and device.last_seen_at > online_since)

    request.state.user = user
    context = {
        "site": site,
        "conference": conference,
        "screens": [d for d in devices if not d.revoked],
        "online": online,
        "is_admin": accounts_service.is_admin(user),
        "tab": "sites",
        **extra,
    }
    return render(request, "endpoints/screens.html", context)


@router.get("/sites/{site_id}/screens", response_class=HTMLResponse)
def screens_page(request: Request, site_id: int, db: ReadDbSession, user: CurrentUser) -> Response:
    """The screens of a site and the ways to enrol one."""
    return _render(request, db, user, site_id)


@router.post("/sites/{site_id}/screens/pairing", dependencies=[CsrfChecked])
def pairing_submit(request: Request, site_id: int, db: DbSession, user: CurrentUser) -> Response:
    """Make a pairing code to type on the projector PC (shown once, valid 10 minutes)."""
    _, code = screens.create_pairing_code(db, site_id=site_id, actor=user)
    return _render(request, db, user, site_id, pairing_code=code)


@router.post("/sites/{site_id}/screens/link", dependencies=[CsrfChecked])
def link_submit(request: Request, site_id: int, db: DbSession, user: CurrentUser) -> Response:
    """Make a screen link (shown once) to open on the projector PC."""
    _, token = screens.enroll_screen(db, site_id=site_id, actor=user)
    link = f"{str(request.base_url).rstrip('/')}/screen#token={token}"
    return _render(request, db, user, site_id, screen_link=link)


@router.post("/screens/{screen_id}/revoke", dependencies=[CsrfChecked])
def revoke_submit(screen_id: int, db: DbSession, user: CurrentUser) -> Response:
    """Revoke a screen; its open connection is closed within seconds."""
    screen = screens.revoke_screen(db, screen_id=screen_id, actor=user)
    return RedirectResponse(f"/sites/{screen.site_id}/screens", status_code=303)
