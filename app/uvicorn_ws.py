"""uvicorn's websockets-sansio protocol with a leaner receive queue (for `diemcau serve`),
and admission control (app/admission.py) right at the handshake.

Each open socket keeps an `asyncio.Queue` of ASGI receive events. A stock queue makes
four deques (≈ 760 B each: getters, putters, items, and the waiters of its `join()`
event); uvicorn's queue is unbounded and never joined, so two of them can never hold
anything. `ReceiveQueue` shares one empty putters deque and a no-op join state between
all sockets: ≈ 1.6 KB less per open screen (tracemalloc, bench/fanout.py).

In a storm most handshakes are shed (1013 retry_after=N). Shed through the app, each one
costs an ASGI scope, a task, uvicorn's proxy-headers middleware, the app's call and
three ASGI messages: a fifth of a worker's event loop in bench/storm.py, while the
listen queue waited behind it. Here the protocol asks the process's admission as soon as
the request is parsed and sheds without any of that; an admitted socket carries its
ticket to the app in the scope (app.admission.TICKET), so it is not admitted twice.
"""

import asyncio
import collections
from typing import Any, cast

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

from app.admission import (
    ADMISSION_STATE,
    CLOSE_TRY_AGAIN_LATER,
    TICKET,
    Admission,
    request_age,
    retry_reason,
)

# Unbounded: put() never waits, so no putter is ever added; get() only pops if any.
_NO_PUTTERS: collections.deque[Any] = collections.deque()


class _NeverJoined:
    """Stands in for a queue's `_finished` event: uvicorn never joins its queue."""

    __slots__ = ()

    def set(self) -> None:
        """A no-op: nobody waits for the queue to drain."""

    def clear(self) -> None:
        """A no-op: nobody waits for the queue to drain."""


_NEVER_JOINED = _NeverJoined()


class ReceiveQueue(asyncio.Queue[Any]):
    """An unbounded queue without `join()`; get, put and their nowait forms as usual."""

    def __init__(self) -> None:
        # Not super().__init__(): it would make the two parts shared here.
        self._maxsize = 0
        self._getters: collections.deque[Any] = collections.deque()
        self._putters = _NO_PUTTERS
        self._unfinished_tasks = 0
        self._finished = _NEVER_JOINED
        self._init(0)

    def task_done(self) -> None:
        """Refused: the queue keeps no count of unfinished items (uvicorn never joins)."""
        raise TypeError("ReceiveQueue is never joined")

    async def join(self) -> None:
        """Refused: nothing ever completes a join (uvicorn never joins)."""
        raise TypeError("ReceiveQueue is never joined")


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O websocket protocol, its receive queue a `ReceiveQueue`.

    Only the queue changes: app/wsfast.py still recognises the protocol (a subclass,
    `send` not overridden) and writes pre-framed changes to its transport.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = ReceiveQueue()

    def handle_connect(self, event: Request) -> None:
        """Admit or shed the new socket (the app's admission, from the lifespan state),
        then hand an admitted one to the app as uvicorn does."""
        admission = self.app_state.get(ADMISSION_STATE)
        if not isinstance(admission, Admission):  # an app without admission
            super().handle_connect(event)
            return
        sock = self.transport.get_extra_info("socket")
        ticket = admission.admit(0.0 if sock is None else request_age(sock))
        if isinstance(ticket, int):
            self._shed(event, ticket)
            return
        super().handle_connect(event)
        if self.response.status_code == 101:
            # Read by the app (app.admission.ticket_for); its task has not run yet.
            cast(dict[str, Any], self.scope)[TICKET] = ticket
        else:  # a bad handshake, answered and closed by uvicorn: nothing to follow
            ticket.leave()

    def _shed(self, event: Request, retry_after: int) -> None:
        """Accept and close at once with 1013 and when to come back (as
        app.admission.shed), in one write, without the app."""
        self.request = event
        self.response = self.conn.accept(event)
        self.handshake_initiated = self.handshake_complete = True
        self.conn.send_response(self.response)
        if self.response.status_code == 101:
            self.conn.send_close(CLOSE_TRY_AGAIN_LATER, retry_reason(retry_after))
            # The client echoes the close (handle_close then closes); if not, this does.
            self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)
        self.close_sent = True
        self.transport.write(b"".join(self.conn.data_to_send()))
        if self.response.status_code != 101:
            self.transport.close()

