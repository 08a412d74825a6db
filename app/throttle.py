"""Attempt throttling: growing waits after repeated failures, then 429 with Retry-After.

A *rule* says how many failures a subject (a client address, an account, a site) may
make before it has to wait, and how the wait grows: it doubles with every further
failure up to a ceiling. A subject whose wait has not run out is refused before any
work is done (no password hash, no database write), so a flood costs one cheap read
per request. Counts are forgotten after a quiet spell.

The counts live where every worker sees them (see `make_limiter`): Redis when the
broker is Redis, else the database's `throttle` table; in-process memory only when
asked for (tests, or a server known to run one process).
"""

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from app.errors import AppError

#: Exponents past this would only overflow; every rule's ceiling is far below 2**30 s.
_MAX_DOUBLINGS = 30


class Throttled(AppError):
    """Refused until a wait runs out; carries the wait for `Retry-After`."""

    status_code = 429
    code = "too_many_attempts"
    detail = "Thử sai quá nhiều lần, vui lòng đợi rồi thử lại."

    def __init__(self, retry_after: float, detail: str | None = None) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(
            detail or f"Thử sai quá nhiều lần, vui lòng thử lại sau {self.retry_after} giây.",
            retry_after=self.retry_after,
        )
        self.headers = {"Retry-After": str(self.retry_after)}


@dataclass(frozen=True)
class Rule:
    """How many failures a subject may make, and how long it then waits."""

    name: str  # key prefix: "login-client", "login-account", ...
    free: int  # failures before any wait
    first_delay: float  # seconds to wait after the first failure past `free`; doubles after
    max_delay: float
    forget: float  # seconds without a failure after which the count starts over

    def delay(self, count: int) -> float:
        """The wait after the `count`-th failure."""
        if count <= self.free:
            return 0.0
        doublings = min(count - self.free - 1, _MAX_DOUBLINGS)
        return float(min(self.first_delay * 2**doublings, self.max_delay))

    def key(self, subject: str) -> str:
        """The storage key of `subject` under this rule (bounded length)."""
        return f"{self.name}:{subject[:200]}"


@dataclass(frozen=True)
class Rate:
    """How many requests a subject may make in each fixed window (not failures: every
    request counts). Fixed windows: at a window's edge up to twice `limit` may pass."""

    name: str  # key prefix: "floor-site", "floor-client", ...
    limit: int  # requests per window
    window: float = 60.0

    def rule(self, wait: float) -> Rule:
        """The failure rule that stands for this rate in a window with `wait` seconds left."""
        return Rule(self.name, free=self.limit, first_delay=max(1.0, wait),
                    max_delay=self.window, forget=self.window)


class Limiter(Protocol):
    """Where failure counts live."""

    def wait(self, keys: Sequence[str], now: float) -> float:
        """Seconds until every key may try again (0 when all may now)."""
        ...

    def fail(self, key: str, rule: Rule, now: float) -> float:
        """Count one failure of `key`; the wait it now has."""
        ...

    def clear(self, key: str) -> None:
        """Forget `key`'s failures."""
        ...


class Throttle:
    """The limiter with a clock: check subjects, count their failures.

    Waits this process has seen are remembered locally, so a subject refused once is
    refused again without asking the store (a wait never ends early: only a good login
    clears a count, and a waiting subject cannot log in). `check_cached` uses only that
    memory: callers run it on the event loop, before any thread hop or database work.
    """

    def __init__(self, limiter: Limiter, clock: "Clock | None" = None,
                 max_known: int = 10_000, rates: Limiter | None = None) -> None:
        self.limiter = limiter
        # Where `count` keeps request rates (default: with the failures).
        self.rates = rates or limiter
        self._clock = clock or time.time
        self._known: dict[str, float] = {}  # key -> blocked until
        self._max_known = max_known
        self._clear: dict[str, float] = {}  # key -> when the store last said "no wait"

    def _known_wait(self, keys: Sequence[str], now: float) -> float:
        return max([0.0, *(self._known.get(k, 0.0) - now for k in keys)])

    def _remember(self, key: str, until: float, now: float) -> None:
        if len(self._known) >= self._max_known:
            self._known = {k: t for k, t in self._known.items() if t > now}
            if len(self._known) >= self._max_known:
                self._known.clear()  # bounded memory beats a cache under a flood
        self._known[key] = until

    def check_cached(self, *attempts: tuple[Rule, str]) -> None:
        """Refuse a subject already known to wait (no I/O: safe on the event loop)."""
        wait = self._known_wait([rule.key(s) for rule, s in attempts], self._clock())
        if wait > 0:
            raise Throttled(wait)

    def check(self, *attempts: tuple[Rule, str], fresh: float = 0.0) -> None:
        """Refuse (`Throttled`) while any of the subjects still has to wait.

        `fresh` > 0: subjects the store found free within that many seconds are not read
        again (hot paths; a failure counted in this process forgets that at once, one
        counted by another worker is seen at most `fresh` seconds late)."""
        keys, now = [rule.key(s) for rule, s in attempts], self._clock()
        known = self._known_wait(keys, now)
        if known > 0:
            raise Throttled(known)
        if fresh > 0 and all(now - self._clear.get(k, -fresh) < fresh for k in keys):
            return
        wait = self.limiter.wait(keys, now)
        if wait <= 0 and fresh > 0:
            if len(self._clear) >= self._max_known:
                self._clear.clear()
            self._clear.update(dict.fromkeys(keys, now))
        if wait > 0:
            for key in keys:  # once per wait and process: which of them waits, how long
                own = wait if len(keys) == 1 else self.limiter.wait([key], now)
                if own > 0:
                    self._remember(key, now + own, now)
            raise Throttled(wait)

    def prefetch(self, requests: Sequence[Sequence[tuple[Rule, str]]], fresh: float) -> None:
        """Ask the store once about the subjects of many requests about to be checked with
        `check(..., fresh=fresh)`: when none of them waits, each is trusted for `fresh`
        seconds and those checks read nothing; when one waits, they read as usual."""
        now = self._clock()
        keys = {rule.key(s) for attempts in requests for rule, s in attempts}
        keys = {k for k in keys if self._known.get(k, 0.0) <= now
                and now - self._clear.get(k, -fresh) >= fresh}
        if len(keys) < 2 or self.limiter.wait(sorted(keys), now) > 0:
            return  # one subject: its own check reads it; a wait: each finds out whose
        if len(self._clear) + len(keys) > self._max_known:
            self._clear.clear()
        self._clear.update(dict.fromkeys(keys, now))

    def failed(self, *attempts: tuple[Rule, str]) -> float:
        """Count one failure of each subject; the longest wait that results."""
        now, longest = self._clock(), 0.0
        for rule, subject in attempts:
            key = rule.key(subject)
            self._clear.pop(key, None)
            delay = self.limiter.fail(key, rule, now)
            if delay > 0:
                self._remember(key, now + delay, now)
            longest = max(longest, delay)
        return longest

    def count(self, *rates: tuple[Rate, str], detail: str | None = None) -> None:
        """Count one request of each subject in the current window; `Throttled` (until the
        window ends) when any of them is past its rate. The store's failure counter is the
        rate counter, keyed by window; a refused subject is refused from memory until then."""
        now = self._clock()
        keyed = []
        for rate, subject in rates:
            start = math.floor(now / rate.window) * rate.window
            keyed.append((rate, f"{subject}:{int(start)}", start + rate.window))
        known = self._known_wait([rate.name + ":" + s[:200] for rate, s, _ in keyed], now)
        if known > 0:
            raise Throttled(known, detail)
        longest = 0.0
        for rate, subject, until in keyed:
            rule = rate.rule(until - now)
            if self.rates.fail(rule.key(subject), rule, now) > 0:
                self._remember(rule.key(subject), until, now)
                longest = max(longest, until - now)
        if longest > 0:
            raise Throttled(longest, detail)

    def clear(self, rule: Rule, subject: str) -> None:
        """Forget one subject's failures (e.g. an account after a good password)."""
        key = rule.key(subject)
        self._known.pop(key, None)
        self.limiter.clear(key)


class Clock(Protocol):
    def __call__(self) -> float: ...


class MemoryLimiter:
    """Counts in this process only: right only when one process serves every request."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._max_keys = max_keys
        # key -> (failures, blocked until, forgotten at)
        self._state: dict[str, tuple[int, float, float]] = {}

    def wait(self, keys: Sequence[str], now: float) -> float:
        """Seconds until every key may try again."""
        with self._lock:
            ends = [s[1] for k in keys if (s := self._state.get(k)) is not None and s[2] > now]
        return max([end - now for end in ends if end > now], default=0.0)

    def fail(self, key: str, rule: Rule, now: float) -> float:
        """Count one failure."""
        with self._lock:
            count, _, forget_at = self._state.get(key, (0, 0.0, 0.0))
            count = count + 1 if forget_at > now else 1
            delay = rule.delay(count)
            if len(self._state) >= self._max_keys:
                self._evict(now)
            self._state[key] = (count, now + delay, now + delay + rule.forget)
        return delay

    def _evict(self, now: float) -> None:
        # Bounded memory under a flood of new subjects: drop the forgotten, then the oldest.
        self._state = {k: s for k, s in self._state.items() if s[2] > now}
        while len(self._state) >= self._max_keys:
            self._state.pop(next(iter(self._state)))

    def clear(self, key: str) -> None:
        """Forget one key."""
        with self._lock:
            self._state.pop(key, None)


class ConnectionCap:
    """Open connections per client address in this process; refuses past `limit` (0 = off).

    Per process on purpose: a socket lives in one process, and a count kept elsewhere
    would outlive a crashed worker. With N workers a client may hold N × limit.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def enter(self, client: str) -> bool:
        """Count a new connection of `client`; False (not counted) when over the cap."""
        if self.limit <= 0:
            return True
        count = self._open.get(client, 0)
        if count >= self.limit:
            return False
        self._open[client] = count + 1
        return True

    def leave(self, client: str) -> None:
        """A connection of `client` ended."""
        if self.limit <= 0:
            return
        count = self._open.get(client, 0) - 1
        if count > 0:
            self._open[client] = count
        else:
            self._open.pop(client, None)

    def open_count(self, client: str) -> int:
        """How many connections `client` holds now."""
        return self._open.get(client, 0)
