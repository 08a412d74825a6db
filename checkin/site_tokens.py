"""The rotating tokens of the self check-in QR a site screen shows (no database)."""

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.config import Settings
from checkin import qr

# The self check-in's clock; tests move it to pass a token's window without waiting.
clock: Callable[[], float] = time.time


def site_qr_secret(settings: Settings) -> bytes:
    """The key of the rotating site codes, derived from the secret key."""
    return hmac.new(settings.secret_key.encode(), b"diemcau.site-qr", hashlib.sha256).digest()


@dataclass(frozen=True)
class SiteQr:
    """What a site screen shows now for self check-in."""

    token: str
    step: int
    expires_in: float


def site_qr(site_id: int, settings: Settings, now: float | None = None) -> str:
    """The current rotating token for a site screen."""
    return site_qr_info(site_id, settings, now).token


def site_qr_info(site_id: int, settings: Settings, now: float | None = None) -> SiteQr:
    """The current token, its step, and seconds until the screen should show the next."""
    moment = time.time() if now is None else now
    step = qr.current_step(moment)
    return SiteQr(
        token=qr.sign_site_step(site_id, step, site_qr_secret(settings)),
        step=step,
        expires_in=round((step + 1) * qr.STEP_SECONDS - moment, 3),
    )


def verify_self_token(
    token: str, settings: Settings, now: float | None = None
) -> qr.SiteStep:
    """The site of a self check-in token: a screen's QR (20-40 s) or the page code a self
    check-in page opened from it keeps (qr.PAGE_STEPS)."""
    moment = clock() if now is None else now
    return qr.verify_site_or_page(token, site_qr_secret(settings), moment)


def page_token(token: str, settings: Settings, now: float | None = None) -> str:
    """The code a self check-in page keeps for its form: same site, same step as the token
    it was opened with, so reopening or reloading never extends the window."""
    found = verify_self_token(token, settings, now)
    return qr.sign_site_page(found.site_id, found.step, site_qr_secret(settings))
