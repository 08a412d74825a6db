"""Typed access to the stage objects the roof (app.main) makes at start-up.

The roof hands them over with :func:`provide`; handlers read them back with the
accessors, never through untyped ``app.state`` attributes.
"""

from typing import Protocol

from starlette.datastructures import State
from starlette.requests import HTTPConnection

from sessions.form_feed import FormCounts
from sessions.stream import StageCache
from sessions.waiting import RECHECK_SECONDS


class Closable(Protocol):
    """What a presence recorder needs of a socket: a way to close it."""

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class ScreenPresence(Protocol):
    """Who records that site screens are connected and alive (endpoints' presence)."""

    def connected(self, screen_id: int, socket: Closable) -> None: ...

    def seen(self, screen_id: int) -> None: ...

    def disconnected(self, screen_id: int, socket: Closable) -> None: ...


def provide(
    state: State, *, stage_cache: StageCache, presence: ScreenPresence,
    recheck_seconds: float = RECHECK_SECONDS,
) -> None:
    """Keep the stage cache, the presence recorder and how often a waiting screen looks
    for a live conference (tests shorten it) for the handlers of this app."""
    state.stage_cache = stage_cache
    state.screen_presence = presence
    state.screen_recheck_seconds = recheck_seconds


def stage_cache(connection: HTTPConnection) -> StageCache:
    """The stage cache of this process."""
    cache: StageCache = connection.app.state.stage_cache
    return cache


def screen_presence(connection: HTTPConnection) -> ScreenPresence:
    """The recorder the screen socket reports connects, heartbeats and disconnects to."""
    presence: ScreenPresence = connection.app.state.screen_presence
    return presence


def recheck_seconds(connection: HTTPConnection) -> float:
    """Seconds between a waiting screen's looks for a conference gone live."""
    seconds: float = connection.app.state.screen_recheck_seconds
    return seconds


def provide_form_counts(state: State, form_counts: FormCounts) -> None:
    """Keep the live form counters of this process (the roof injects their loader)."""
    state.form_counts = form_counts


def form_counts(connection: HTTPConnection) -> FormCounts | None:
    """The live form counters of this process (None in an app made without them)."""
    counts: FormCounts | None = getattr(connection.app.state, "form_counts", None)
    return counts
