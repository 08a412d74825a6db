"""JSON API of the site screens' QR codes: self check-in (rotating token, URL, SVG) and
the conference's follow-along link."""

from datetime import datetime
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from app.accounts.models import User
from app.db import ReadDbSession, utcnow
from app.deps import BearerToken, SettingsDep, find_user
from app.errors import NotAuthenticated
from app.qrimage import qr_svg
from checkin import errors, follow_offer, service, site_screens
from checkin import sites as checkin_sites
from endpoints import service as endpoints_service

router = APIRouter(prefix="/api/v1")
_NO_STORE = {"Cache-Control": "private, no-store"}


class SiteQrPublic(BaseModel):
    token: str
    url: str
    step: int
    expires_in: float
    # The conference live at the site, which a self check-in there counts in (None
    # between conferences).
    conference_id: int | None = None


def _screen_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "screen" and value.strip():
        return value.strip()
    return request.query_params.get("screen_token") or None


def _optional_user(
    request: Request, db: ReadDbSession, settings: SettingsDep, bearer: BearerToken
) -> User | None:
    try:
        return find_user(request, db=db, settings=settings, bearer=bearer)
    except NotAuthenticated:
        return None


def _site_qr(
    request: Request, site_id: int, db: ReadDbSession, settings: SettingsDep,
    user: Annotated[User | None, Depends(_optional_user)],
) -> SiteQrPublic:
    site = site_screens.authorize_site_screen(db, site_id=site_id,
                                         screen_token=_screen_token(request), actor=user)
    live = checkin_sites.current_view(db, site=site, live_only=True)
    info = service.site_qr_info(site_id, settings)
    base = str(request.base_url).rstrip("/")
    return SiteQrPublic(token=info.token, url=f"{base}/c/{info.token}", step=info.step,
                        expires_in=info.expires_in, conference_id=live.conference_id)


SiteQrDep = Annotated[SiteQrPublic, Depends(_site_qr)]


@router.get("/sites/{site_id}/self-checkin-qr", response_model=SiteQrPublic, tags=["checkins"])
def self_checkin_qr(qr_now: SiteQrDep) -> SiteQrPublic:
    """The rotating self check-in token of a site (changes every 20 s) and the URL its QR
    encodes. Auth: `Authorization: Screen <token>` (an enrolled screen) or a user in scope."""
    return qr_now


@router.get(
    "/sites/{site_id}/self-checkin-qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
    tags=["checkins"],
)
def self_checkin_qr_svg(qr_now: SiteQrDep) -> Response:
    """The current self check-in QR as SVG (`?screen_token=` works where headers cannot)."""
    return Response(
        qr_svg(qr_now.url),
        media_type="image/svg+xml",
        headers={**_NO_STORE, "X-QR-Expires-In": str(qr_now.expires_in)},
    )


class ScreenQrPublic(SiteQrPublic):
    site_id: int
    site_name: str
    svg: str


@lru_cache(maxsize=1024)
def _qr_svg_text(url: str) -> str:
    # The screens of one site ask for the same URL within a step: draw it once.
    return qr_svg(url).decode()


@router.get("/screen/self-checkin-qr", response_model=ScreenQrPublic, tags=["checkins"])
def screen_self_checkin_qr(
    request: Request, db: ReadDbSession, settings: SettingsDep
) -> ScreenQrPublic:
    """For a site screen (`Authorization: Screen <token>`, no site id needed): its site's
    current self check-in token, the URL its QR encodes, and that QR as SVG."""
    screen = endpoints_service.screen_for_token(db, token=_screen_token(request) or "")
    if screen is None:
        raise errors.ScreenTokenInvalid()
    name = screen.site_name
    if screen.conference_id is not None:
        part = endpoints_service.participation_of(db, conference_id=screen.conference_id,
                                                  site_id=screen.site_id)
        name = part.name if part is not None else name
    info = service.site_qr_info(screen.site_id, settings)
    url = f"{str(request.base_url).rstrip('/')}/c/{info.token}"
    return ScreenQrPublic(
        site_id=screen.site_id, site_name=name, token=info.token, url=url,
        step=info.step, expires_in=info.expires_in, svg=_qr_svg_text(url),
        conference_id=screen.conference_id,
    )


#: How often a screen asks for the follow link again: a rotated link replaces the old
#: QR on every screen within about this long (plus the jitter the screen adds).
FOLLOW_RECHECK_SECONDS = 60.0


class ScreenFollowQrPublic(BaseModel):
    # The conference live at the screen's site; all None between conferences, and url and
    # svg None once the conference's follow links have expired.
    conference_id: int | None
    url: str | None
    svg: str | None
    recheck_in: float
    # The screen's site (its own screen says so when that site has the floor) and the
    # server's time (a projector PC's clock may be off: the floor's timer counts from it).
    site_id: int | None = None
    now: datetime | None = None


@router.get("/screen/follow-qr", response_model=ScreenFollowQrPublic, tags=["checkins"])
def screen_follow_qr(
    request: Request, db: ReadDbSession, settings: SettingsDep
) -> ScreenFollowQrPublic:
    """For a site screen (`Authorization: Screen <token>`): the follow-along link of the
    conference live at its site, and its QR as SVG, for the room to scan. Ask again after
    `recheck_in` seconds: after a rotation the screen shows the new link."""
    screen = endpoints_service.screen_for_token(db, token=_screen_token(request) or "")
    if screen is None:
        raise errors.ScreenTokenInvalid()
    url = None
    if screen.conference_id is not None:
        url = follow_offer.follow_url(db, base=str(request.base_url),
                                        conference_id=screen.conference_id, settings=settings)
    return ScreenFollowQrPublic(
        conference_id=screen.conference_id, url=url, svg=_qr_svg_text(url) if url else None,
        recheck_in=FOLLOW_RECHECK_SECONDS, site_id=screen.site_id, now=utcnow(),
    )
