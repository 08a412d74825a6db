"""Throttle of the attendee's own pages: per client address and per attendee.

A personal code is 8 characters of 31, hopeless to guess only if guesses are few.
Every forged link counts against the client address; every wrong code against the
client address and against the attendee, which bounds what many addresses together
can try on one link. Past the free misses the wait doubles (client: from 2 s, attendee:
from 10 s) up to 15 and 10 minutes.
"""

from app.errors import AppError
from app.throttle import Rule, Throttled

FORGET = 15 * 60.0
CLIENT_RULE = Rule("own-client", free=9, first_delay=2.0, max_delay=15 * 60.0, forget=FORGET)
ATTENDEE_RULE = Rule("own-attendee", free=5, first_delay=10.0, max_delay=10 * 60.0,
                     forget=FORGET)


def own_attempts(*, client: str, attendee_id: int | None) -> tuple[tuple[Rule, str], ...]:
    """The subjects one attempt counts against (the attendee once the link is genuine)."""
    if attendee_id is None:
        return ((CLIENT_RULE, client),)
    return ((CLIENT_RULE, client), (ATTENDEE_RULE, str(attendee_id)))


def is_miss(exc: AppError) -> bool:
    """A refusal that counts as a guess: a forged or stale link, a wrong code."""
    return not isinstance(exc, Throttled) and exc.code in (
        "attendee_link_invalid", "attendee_link_revoked", "personal_code_wrong")
