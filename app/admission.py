"""Admission control for websockets: a storm of new sockets is shed, never left to fail.

When 31,000 screens come back at once (a network cut, a power return, the morning of a
conference) a worker that takes every handshake falls behind: its event loop and thread
pool queue up token lookups and snapshots, handshakes take longer than the clients wait,
the listen queue overflows and connections fail with nothing to tell the screen when to
come back. Instead each process admits new sockets at a safe rate (a token bucket) up to
a cap of open sockets, and sheds the excess: it accepts the handshake and closes at once
with 1013 Try Again Later and the reason ``retry_after=N`` (seconds). Shedding costs one
HTTP parse and two small frames, no database or thread hop.

The N given to consecutive shed sockets grows by one admission slot each (1/rate), so
the retries come back spread at about the rate the worker admits, not as one wave; the
pages add up to a second of jitter (app/static/retry.js).
"""

import asyncio
import contextlib
import logging
import math
import resource
import socket
import struct
import time
from collections.abc import Callable
from typing import Any, Final

from starlette.types import Receive, Scope, Send

from app.config import Settings
from app.wsfast import transport_socket

logger = logging.getLogger(__name__)

#: RFC 6455 "Try Again Later": the server is overloaded, the client should come back.
CLOSE_TRY_AGAIN_LATER: Final = 1013
#: Open files a process keeps for its database pool, Redis, static files and HTTP
#: requests when the socket cap follows the open-file limit.
RESERVED_FILES: Final = 1000
#: Seconds a socket shed because the process holds its cap of open sockets waits.
FULL_WAIT: Final = 10.0
#: Admissions a second assumed when spacing shed sockets' returns with no rate set, and
#: the least the event loop's lag lowers the rate to.
MIN_RATE: Final = 20.0
#: A worker that kept up with the returns (few handshakes under way) is offered this many
#: times its recent rate at the next ones, as TCP opens its window: spaced only at the
#: completed rate, returns came back as slowly as they had been let in (21/s at a
#: 31,000-screen storm, where nearly all were shed) and never found the real capacity.
PROBE: Final = 1.5
# struct tcp_info (linux/tcp.h): 8 one-byte fields, then u32s; tcpi_last_data_recv is
# the 12th u32.
_LAST_DATA_RECV: Final = 8 + 11 * 4
_TCP_INFO_LEN: Final = 104
#: How often the event loop's lag is measured (seconds).
TICK: Final = 0.1
#: Where an admitted socket's :class:`Ticket` travels in the ASGI scope.
TICKET: Final = "diemcau.admission"
#: The process's :class:`Admission` in the lifespan state: uvicorn hands that state to
#: every new connection's protocol (app/uvicorn_ws.py sheds there, before the app).
ADMISSION_STATE: Final = "diemcau.admission_control"


def retry_reason(seconds: int) -> str:
    """The close reason telling a client when to come back."""
    return f"retry_after={seconds}"


def open_file_limit() -> int:
    """This process's soft limit of open files (RLIMIT_NOFILE)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def raise_open_file_limit() -> tuple[int, int]:
    """Raise the soft open-file limit to the hard one (every socket is a file); the
    (before, after) soft limits. Worker processes inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft, soft
        return soft, target
    return soft, soft


def automatic_max_open(limit: int) -> int:
    """The socket cap when none is set: the open-file limit less what the process needs
    besides (at least a tenth of the limit stays for sockets)."""
    return max(limit // 10, limit - RESERVED_FILES)


class Admission:
    """One process's admission of new websockets: a token bucket, a cap of handshakes
    under way (admitted, first message not yet sent) and a cap of open sockets.

    The handshake cap is what adapts to the machine: a worker slower than the storm
    (a busy database, a loaded host) has more under way and sheds sooner, whatever the
    configured rate. A value <= 0 turns a limit off.
    """

    def __init__(
        self,
        *,
        per_second: float,
        burst: int,
        max_pending: int,
        max_open: int,
        max_wait: float = 0.0,
        retry_max: int = 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.rate = per_second  # lowered while the event loop lags (observe_lag)
        self.burst = max(1, burst)
        self.max_pending = max_pending
        self.max_open = max_open
        self.max_wait = max_wait
        self.retry_max = max(1, retry_max)
        self.open = self.pending = self.admitted = self.shed = 0
        self._clock = clock
        self._tokens = float(self.burst)
        self._last = clock()
        self._promised = 0.0  # when the last shed socket was told to come back
        self._done, self._window, self._throughput = 0, clock(), 0.0

    def admit(self, waited: float = 0.0) -> "Ticket | int":
        """A ticket when the new socket may open (settle it after the first message,
        leave when it ends), else the seconds it should wait before trying again.

        ``waited``: seconds its request sat in the kernel before we read it (listen
        queue included, :func:`queued_seconds`). A long wait means the process is
        behind, whatever it counts itself: shedding the queue drains it far faster.
        """
        now = self._clock()
        if self.max_wait > 0 and waited > self.max_wait:
            return self._shed(now, wait=0.0)
        if self.max_open > 0 and self.open >= self.max_open:
            # Sockets leave slowly: no use asking again within seconds.
            return self._shed(now, wait=min(self.retry_max, FULL_WAIT))
        if self.max_pending > 0 and self.pending >= self.max_pending:
            return self._shed(now, wait=0.0)
        if self.rate > 0:
            elapsed, self._last = now - self._last, now
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
            if self._tokens < 1.0:
                return self._shed(now, wait=(1.0 - self._tokens) / self.rate)
            self._tokens -= 1.0
        self.open += 1
        self.pending += 1
        self.admitted += 1
        return Ticket(self)

    def settled(self) -> None:
        """An admitted socket's handshake is over (its first message is out)."""
        self.pending = max(0, self.pending - 1)
        self._done += 1

    def left(self) -> None:
        """An admitted socket ended."""
        self.open = max(0, self.open - 1)

    def _slot(self, now: float) -> float:
        """Seconds between two shed sockets' returns: one handshake at the rate this
        process completed them lately (more while it keeps up: PROBE; at most the rate
        in force).

        Returns spaced at the configured rate instead came back faster than a loaded
        worker completes handshakes and were shed again and again (a retry storm in
        bench/storm.py); this spacing is slow but stable.
        """
        elapsed = now - self._window
        if elapsed >= 1.0:
            if elapsed < 2.0:  # a window that spans idle time says nothing of a storm
                seen = self._done / elapsed
                self._throughput = (self._throughput + seen) / 2 if self._throughput else seen
            self._done, self._window = 0, now
        rate = max(MIN_RATE, self._throughput) if self._throughput else 0.0
        if rate and (self.max_pending <= 0 or 2 * self.pending < self.max_pending):
            rate *= PROBE
        if self.rate > 0:
            rate = min(rate or self.rate, self.rate)
        return 1.0 / (rate or MIN_RATE)

    def observe_lag(self, lag: float, *, max_lag: float) -> None:
        """Adapt the rate to the event loop's lag, like TCP to losses: down by 30 % while
        the loop lags more than ``max_lag`` (full handshakes are what overload it, a shed
        costs far less), back up by 5 % of the setting per tick once it keeps up."""
        if self.per_second <= 0:
            return
        floor = min(MIN_RATE, self.per_second)
        if lag > max_lag:
            self.rate = max(floor, self.rate * 0.7)
        elif lag < max_lag / 2:
            self.rate = min(self.per_second, self.rate + self.per_second * 0.05)

    def _shed(self, now: float, *, wait: float) -> int:
        """Give this socket the next free slot after the ones promised already."""
        self.shed += 1
        self._promised = max(self._promised + self._slot(now), now + wait)
        return min(self.retry_max, max(1, math.ceil(self._promised - now)))


class Ticket:
    """One admitted socket: settled once its first message is out, then left at its end."""

    __slots__ = ("admission", "done")

    def __init__(self, admission: Admission) -> None:
        self.admission = admission
        self.done = False

    def settle(self) -> None:
        """The handshake is over; idempotent."""
        if not self.done:
            self.done = True
            self.admission.settled()

    def leave(self) -> None:
        """The socket ended (settling it if it never got that far)."""
        self.settle()
        self.admission.left()


class LagWatch:
    """Measures the event loop's lag every :data:`TICK` s and hands it to admission.

    The loop lags when the process has more work than CPU (its own handshakes, a
    fan-out, or other processes on the host): what no count of sockets shows.
    """

    def __init__(self, admission: Admission, *, max_lag: float) -> None:
        self.admission = admission
        self.max_lag = max_lag
        self.lag = 0.0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start watching (on the serving event loop)."""
        if self.max_lag > 0 and self.admission.per_second > 0:
            self._task = asyncio.create_task(self._run(), name="admission-lag")

    async def stop(self) -> None:
        """Stop watching."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(TICK)
            sample = time.monotonic() - started - TICK
            self.lag = 0.5 * self.lag + 0.5 * sample  # one late tick is no overload
            before = self.admission.rate
            self.admission.observe_lag(self.lag, max_lag=self.max_lag)
            after = self.admission.rate
            if (before == self.admission.per_second) != (after == self.admission.per_second):
                logger.warning(
                    "websocket admission: event loop lag %.0f ms, new sockets %s (%.0f/s)",
                    self.lag * 1000, "slowed" if after < before else "back to full", after)


def queued_seconds(send: Callable[..., Any]) -> float:
    """Seconds the handshake request behind an ASGI ``send`` waited in the kernel
    (:func:`request_age` of uvicorn's socket), 0 when unknown (no uvicorn, no Linux).

    The listen queue is invisible to the event loop: a worker behind a storm sees
    only the connections it has accepted, each fresh to it, while the rest wait in
    the kernel until the clients give up. This is how long they waited.
    """
    sock = transport_socket(send)
    return 0.0 if sock is None else request_age(sock)


def ticket_for(admission: Admission, scope: Scope, send: Send) -> "Ticket | int":
    """Admit (or shed) a new socket: the ticket app/uvicorn_ws.py already admitted it
    with (under `diemcau serve`), else :meth:`Admission.admit` now."""
    ticket = scope.get(TICKET)
    if isinstance(ticket, Ticket):
        return ticket
    return admission.admit(queued_seconds(send))


def request_age(sock: socket.socket) -> float:
    """Seconds since the last byte arrived on a TCP socket (``tcpi_last_data_recv`` of
    TCP_INFO, Linux), 0 when unknown."""
    if not hasattr(socket, "TCP_INFO"):
        return 0.0
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_LEN)
    except OSError:
        return 0.0
    if len(info) < _LAST_DATA_RECV + 4:
        return 0.0
    return float(struct.unpack_from("I", info, _LAST_DATA_RECV)[0]) / 1000


def settle(scope: Scope) -> None:
    """Tell admission that this socket's handshake is over (its first message is out).

    Handlers that never call it are settled when they end: call it from every socket
    that stays open, or each open one keeps a place among the handshakes under way.
    """
    ticket = scope.get(TICKET)
    if isinstance(ticket, Ticket):
        ticket.settle()


def admission_for(settings: Settings) -> Admission:
    """This process's admission as the settings say (made in each worker process)."""
    max_open = settings.ws_max_open or automatic_max_open(open_file_limit())
    return Admission(
        per_second=settings.ws_admit_per_second, burst=settings.ws_admit_burst,
        max_pending=settings.ws_admit_pending, max_open=max_open,
        max_wait=settings.ws_admit_max_wait_ms / 1000,
        retry_max=settings.ws_retry_after_max_seconds,
    )


async def shed(receive: Receive, send: Send, retry_after: int) -> None:
    """Accept the handshake and close it at once with 1013 and when to come back.

    Accepted rather than refused: a refused handshake is an HTTP 403 that a browser
    reports as a bare failure (code 1006), with no way to say "later".
    """
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({
        "type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER,
        "reason": retry_reason(retry_after),
    })
