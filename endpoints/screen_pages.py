"""HTML pages for a site's screens: list, enrol by link or pairing code, revoke."""

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import DbSession, ReadDbSession, utcnow
from app.deps import CsrfChecked, CurrentUser, SettingsDep
from app.qrimage import qr_svg_inline
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


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/sites/{site_id}/screens", response_class=HTMLResponse)
def screens_page(
    request: Request,
    site_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    settings: SettingsDep,
    pairing: Annotated[int | None, Query(ge=1, le=2**31)] = None,
) -> Response:
    """The screens of a site and the ways to enrol one; `?pairing=` shows that screen's
    code while it waits (a reload or Back shows it again and creates nothing)."""
    if pairing is None:
        return _render(request, db, user, site_id)
    screen, code = screens.pending_pairing_code(
        db, site_id=site_id, screen_id=pairing, actor=user, secret=settings.secret_key
    )
    address = f"{_base(request)}/screen/pair"
    return _render(request, db, user, site_id, pairing_screen=screen, pairing_code=code,
                   pairing_address=address, pairing_qr=qr_svg_inline(address))


@router.post("/sites/{site_id}/screens/pairing", dependencies=[CsrfChecked])
def pairing_submit(
    site_id: int, db: DbSession, user: CurrentUser, settings: SettingsDep
) -> Response:
    """Make a pairing code to type on the projector PC (valid 10 minutes), then show it
    on a GET page (post/redirect/get)."""
    screen, _ = screens.create_pairing_code(
        db, site_id=site_id, actor=user, secret=settings.secret_key
    )
    return RedirectResponse(f"/sites/{site_id}/screens?pairing={screen.id}#ghep-noi",
                            status_code=303)


@router.post("/sites/{site_id}/screens/link", dependencies=[CsrfChecked])
def link_submit(request: Request, site_id: int, db: DbSession, user: CurrentUser) -> Response:
    """Make a screen link (shown once) to open on the projector PC."""
    _, token = screens.enroll_screen(db, site_id=site_id, actor=user)
    link = f"{_base(request)}/screen#token={token}"
    return _render(request, db, user, site_id, screen_link=link)


@router.post("/screens/{screen_id}/revoke", dependencies=[CsrfChecked])
def revoke_submit(screen_id: int, db: DbSession, user: CurrentUser) -> Response:
    """Revoke a screen; its open connection is closed within seconds."""
    screen = screens.revoke_screen(db, screen_id=screen_id, actor=user)
    return RedirectResponse(f"/sites/{screen.site_id}/screens", status_code=303)
