"""JSON API of site screens: enrolment, pairing codes, revoking, who is online."""

from fastapi import APIRouter, Request
from sqlmodel import Session

from app.db import DbSession, ReadDbSession
from app.deps import CookieCsrf, CurrentUser
from app.throttle_deps import client_address
from endpoints import screens, service
from endpoints.deps import PairingLimiterDep
from endpoints.errors import PairingCodeInvalid
from endpoints.screen_models import (
    PairingCode,
    PairRequest,
    ScreenCreate,
    ScreenDevice,
    ScreenPublic,
    ScreensOnline,
    ScreenToken,
)

router = APIRouter(prefix="/api/v1")


def _screen(db: Session, screen: ScreenDevice) -> ScreenPublic:
    # Screens belong to their site; older clients read the conference they show now.
    conference_id = service.current_conference_id(db, site_id=screen.site_id)
    return ScreenPublic.model_validate(screen, from_attributes=True).model_copy(
        update={"conference_id": conference_id}
    )


@router.post(
    "/sites/{site_id}/screen-token", response_model=ScreenToken, status_code=201, tags=["screens"],
    dependencies=[CookieCsrf],
)
def enroll_screen(
    site_id: int, db: DbSession, user: CurrentUser, data: ScreenCreate | None = None
) -> ScreenToken:
    """Enrol one screen of a site; the token is shown once (open `url` on the projector)."""
    screen, token = screens.enroll_screen(
        db, site_id=site_id, actor=user, name=data.name if data else None
    )
    assert screen.id is not None
    return ScreenToken(
        token=token, screen_id=screen.id, site_id=site_id, url=f"/screen#token={token}"
    )


@router.post(
    "/sites/{site_id}/pairing-code", response_model=PairingCode, status_code=201, tags=["screens"],
    dependencies=[CookieCsrf],
)
def create_pairing_code(
    site_id: int, db: DbSession, user: CurrentUser, data: ScreenCreate | None = None
) -> PairingCode:
    """A short code (10 minutes, one use) to type on the projector PC at /screen/pair."""
    screen, code = screens.create_pairing_code(
        db, site_id=site_id, actor=user, name=data.name if data else None
    )
    assert screen.id is not None and screen.pairing_expires_at is not None
    return PairingCode(code=code, screen_id=screen.id, expires_at=screen.pairing_expires_at)


@router.post("/screens/pair", response_model=ScreenToken, status_code=201, tags=["screens"])
def pair_screen(
    data: PairRequest, request: Request, db: DbSession, limiter: PairingLimiterDep
) -> ScreenToken:
    """A screen exchanges its pairing code for a token (no login; attempts are limited)."""
    client = client_address(request)
    limiter.check(client)
    try:
        screen, token = screens.pair_screen(db, code=data.code)
    except PairingCodeInvalid:
        db.rollback()  # free SQLite's write lock before the throttle writes the count
        limiter.failed(client)
        raise
    assert screen.id is not None
    return ScreenToken(
        token=token, screen_id=screen.id, site_id=screen.site_id, url=f"/screen#token={token}"
    )


@router.get("/sites/{site_id}/screens", response_model=list[ScreenPublic], tags=["screens"])
def list_screens(site_id: int, db: ReadDbSession, user: CurrentUser) -> list[ScreenPublic]:
    """Screens of a site."""
    return [_screen(db, s) for s in screens.list_screens(db, site_id=site_id, actor=user)]


@router.delete(
    "/screens/{screen_id}", response_model=ScreenPublic, tags=["screens"],
    dependencies=[CookieCsrf],
)
def revoke_screen(screen_id: int, db: DbSession, user: CurrentUser) -> ScreenPublic:
    """Revoke a screen: its token stops working and its open connection is closed."""
    screen = screens.revoke_screen(db, screen_id=screen_id, actor=user)
    return _screen(db, screen)


@router.get(
    "/conferences/{conference_id}/screens/online", response_model=ScreensOnline, tags=["screens"]
)
def screens_online(conference_id: int, db: ReadDbSession, user: CurrentUser) -> ScreensOnline:
    """How many screens (and sites) sent a heartbeat in the last 45 seconds."""
    online, sites = screens.count_online(db, conference_id=conference_id, actor=user)
    return ScreensOnline(online=online, sites_online=sites)
