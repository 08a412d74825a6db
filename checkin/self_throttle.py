"""Throttle of the anonymous self check-in: per client address and per site.

A pass's short code is 8 letters of 31, so guessing is hopeless only if guesses are
few: every refused attempt (unknown code, bad pass, bad or stale site QR) counts
against the client address, and, when the site QR is genuine, against that site
too, which bounds what many phones together can try at one site. Past the free
misses the wait doubles (client: from 2 s; site: from 10 s), up to 15 and 10
minutes. A genuine check-in clears nothing: a guesser could check themselves in
between guesses.
"""

from app.config import Settings
from app.errors import AppError
from app.throttle import Rule, Throttled
from checkin import site_tokens

CLIENT_FIRST_DELAY, CLIENT_MAX_DELAY = 2.0, 15 * 60.0
SITE_FIRST_DELAY, SITE_MAX_DELAY = 10.0, 10 * 60.0
FORGET = 15 * 60.0


def self_rules(settings: Settings) -> tuple[Rule, Rule]:
    """The rules for client addresses and for sites."""
    return (
        Rule("self-client", settings.self_checkin_misses_per_client, CLIENT_FIRST_DELAY,
             CLIENT_MAX_DELAY, FORGET),
        Rule("self-site", settings.self_checkin_misses_per_site, SITE_FIRST_DELAY,
             SITE_MAX_DELAY, FORGET),
    )


def self_attempts(
    settings: Settings, *, client: str, site_token: str, now: float | None = None
) -> tuple[tuple[Rule, str], ...]:
    """The subjects one self check-in attempt counts against. A forged site token counts
    against the client only: it must not let anyone block a site they do not stand in."""
    client_rule, site_rule = self_rules(settings)
    try:
        site_id = site_tokens.verify_self_token(site_token, settings, now).site_id
    except AppError:
        return ((client_rule, client),)
    return ((client_rule, client), (site_rule, str(site_id)))


def is_miss(exc: AppError) -> bool:
    """A refusal that counts as a guess (not the throttle's own, not a server fault)."""
    return not isinstance(exc, Throttled) and exc.status_code < 500
