"""Request dependencies of the registry: its own per-process objects."""

from typing import Annotated

from fastapi import Depends, Request

from app.accounts.errors import TooManyAttempts
from app.security import AttemptLimiter


class PairingLimiter:
    """Failed pairing-code attempts per client address, refused past ten a minute."""

    def __init__(self, limiter: AttemptLimiter) -> None:
        self._limiter = limiter

    def check(self, client: str) -> None:
        """Refuse a client that failed too often in the last minute."""
        if not self._limiter.allowed(client):
            raise TooManyAttempts()

    def failed(self, client: str) -> None:
        """Count one failed attempt."""
        self._limiter.failed(client)


def get_pairing_limiter(request: Request) -> PairingLimiter:
    """The pairing limiter of this process."""
    limiter: AttemptLimiter = request.app.state.pairing_limiter
    return PairingLimiter(limiter)


PairingLimiterDep = Annotated[PairingLimiter, Depends(get_pairing_limiter)]
