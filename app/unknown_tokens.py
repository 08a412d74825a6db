"""A short memory of tokens found unknown, so a flood of them costs no database lookups.

Websocket handshakes name their token in the query string; anyone can send thousands of
made-up ones. Malformed tokens are refused by their shape alone (each token kind has a
well-formed check); a well-formed one that matched nothing is remembered here for a few
seconds and refused again without a lookup. Only digests are kept, the memory is bounded
(cleared when full: the worst case is back to one lookup per unknown token).
"""

import hashlib
import time
from typing import Final

DEFAULT_TTL: Final = 30.0
DEFAULT_MAX: Final = 20_000


class UnknownTokens:
    """Tokens recently looked up and not found; per process, per token kind."""

    def __init__(self, *, ttl: float = DEFAULT_TTL, max_entries: int = DEFAULT_MAX) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._until: dict[bytes, float] = {}

    @staticmethod
    def _key(token: str) -> bytes:
        return hashlib.blake2b(token.encode(), digest_size=16).digest()

    def __contains__(self, token: str) -> bool:
        key = self._key(token)
        until = self._until.get(key)
        if until is None:
            return False
        if until < time.monotonic():
            del self._until[key]
            return False
        return True

    def add(self, token: str) -> None:
        """Remember that `token` matched nothing (for the next `ttl` seconds)."""
        if len(self._until) >= self._max:
            self._until.clear()
        self._until[self._key(token)] = time.monotonic() + self._ttl

    def forget(self, token: str) -> None:
        """The token became valid (or a test wants a fresh start)."""
        self._until.pop(self._key(token), None)
