"""uvicorn's websockets-sansio protocol with a leaner receive queue (for `diemcau serve`).

Each open socket keeps an `asyncio.Queue` of ASGI receive events. A stock queue makes
four deques (≈ 760 B each: getters, putters, items, and the waiters of its `join()`
event); uvicorn's queue is unbounded and never joined, so two of them can never hold
anything. `ReceiveQueue` shares one empty putters deque and a no-op join state between
all sockets: ≈ 1.6 KB less per open screen (tracemalloc, bench/fanout.py).
"""

import asyncio
import collections
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

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
