"""Request dependencies of the registry: the pairing-code throttle."""

from typing import Annotated

from fastapi import Depends, Request

from app.throttle import Rule, Throttle

# The tenth miss of a client address starts a wait of 2 s, doubling up to 15 minutes. On
# the app's shared throttle (database or Redis), so N workers do not allow N × the guesses.
PAIR_RULE = Rule("pair-client", free=9, first_delay=2.0, max_delay=15 * 60.0,
                 forget=15 * 60.0)


class PairingLimiter:
    """Failed pairing-code attempts per client address; 429 with Retry-After past the rule."""

    def __init__(self, throttle: Throttle) -> None:
        self._throttle = throttle

    def check(self, client: str) -> None:
        """Refuse a client that must still wait."""
        self._throttle.check((PAIR_RULE, client))

    def failed(self, client: str) -> None:
        """Count one failed attempt (call with no write transaction open: on SQLite the
        count is written through the write gate)."""
        self._throttle.failed((PAIR_RULE, client))


async def get_pairing_limiter(request: Request) -> PairingLimiter:
    """The pairing limiter over the app's throttle (async: no thread hop to resolve it)."""
    throttle: Throttle = request.app.state.throttle
    return PairingLimiter(throttle)


PairingLimiterDep = Annotated[PairingLimiter, Depends(get_pairing_limiter)]
