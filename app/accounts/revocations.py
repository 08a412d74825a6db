"""Closing the open websockets of an account that was disabled or logged out.

A socket checks its login token once, at connect. So that a disabled account or a
forced logout also ends the sockets already open, the use case announces the account
on :data:`REVOKED_CHANNEL` after commit, and every process keeps one subscription to
it (one per process, not per socket) and closes that account's sockets at once. With
Redis the announcement reaches every worker. Pub/sub may lose messages across a Redis
reconnect; on RESYNC every open socket's account is checked again in one query.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from itertools import count

from app.realtime import RESYNC, Hub, Publish, SubscriberDropped, Subscription

REVOKED_CHANNEL = "accounts.revoked"
logger = logging.getLogger(__name__)

#: Given (user id, token version) pairs of open sockets, the pairs no longer valid.
FindStale = Callable[[set[tuple[int, int]]], set[tuple[int, int]]]
Close = Callable[[], Coroutine[object, object, None]]


def announce_revoked(publish: Publish, *, user_id: int) -> None:
    """Tell every process to close `user_id`'s sockets (call after commit)."""
    publish(REVOKED_CHANNEL, json.dumps({"user_id": user_id}))


def _user_of(message: str | bytes) -> int | None:
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        user_id = json.loads(message).get("user_id")
        return user_id if isinstance(user_id, int) else None
    return None


@dataclass
class _Entry:
    user_id: int
    version: int
    close: Close


@dataclass
class SocketRevocations:
    """The open login-token sockets of this process, by account."""

    hub: Hub
    find_stale: FindStale
    _entries: dict[int, _Entry] = field(default_factory=dict)
    _ids: "count[int]" = field(default_factory=count)
    _task: "asyncio.Task[None] | None" = None
    _closing: set["asyncio.Task[None]"] = field(default_factory=set)

    async def start(self) -> None:
        """Subscribe (returns once announcements reach this process)."""
        sub = self.hub.subscribe(REVOKED_CHANNEL)
        await sub.__aenter__()
        self._task = asyncio.create_task(self._run(sub))

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def register(self, *, user_id: int, version: int, close: Close) -> int:
        """Track an open socket; the handle goes to :meth:`unregister` when it ends."""
        handle = next(self._ids)
        self._entries[handle] = _Entry(user_id, version, close)
        return handle

    def unregister(self, handle: int) -> None:
        """Forget a socket that ended."""
        self._entries.pop(handle, None)

    def open_sockets(self) -> int:
        """Sockets tracked in this process."""
        return len(self._entries)

    async def _run(self, sub: Subscription) -> None:
        while True:
            try:
                async for item in sub:
                    if item is RESYNC:
                        await self._recheck()
                    else:
                        self._close_user(_user_of(item))
                return
            except SubscriberDropped:
                # Fell behind: announcements may be lost, so check every socket again.
                sub = self.hub.subscribe(REVOKED_CHANNEL)
                await sub.__aenter__()
                await self._recheck()

    def _close_user(self, user_id: int | None) -> None:
        if user_id is None:
            return
        self._close(h for h, e in self._entries.items() if e.user_id == user_id)

    async def _recheck(self) -> None:
        pairs = {(e.user_id, e.version) for e in self._entries.values()}
        if not pairs:
            return
        try:
            stale = await asyncio.to_thread(self.find_stale, pairs)
        except Exception:
            logger.exception("could not re-check the accounts of open sockets")
            return
        self._close(h for h, e in self._entries.items() if (e.user_id, e.version) in stale)

    def _close(self, handles: Iterable[int]) -> None:
        for handle in list(handles):
            entry = self._entries.pop(handle, None)
            if entry is not None:
                task: asyncio.Task[None] = asyncio.create_task(entry.close())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
