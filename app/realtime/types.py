"""Message and marker types, listener callbacks and delivery limits of the hub."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Any, Final, Literal

Message = bytes | str

#: What services take to announce a change after commit: `hub.publish(channel, text)`.
Publish = Callable[[str, str], None]


class Marker(enum.Enum):
    """Out-of-band markers delivered in the message stream."""

    RESYNC = "resync"


#: Delivered to listeners when messages may have been lost (after a Redis
#: reconnect): the stream layer should send a fresh snapshot.
RESYNC: Final = Marker.RESYNC
Resync = Literal[Marker.RESYNC]
Item = Message | Resync

#: A sender receives each message unchanged (str or bytes, as published) and
#: returns None or an awaitable (``ws.send_text`` fits).
Sender = Callable[[Any], Awaitable[object] | None]
DropCallback = Callable[[str], Awaitable[object] | None]
ResyncCallback = Callable[[], Awaitable[object] | None]

DEFAULT_QUEUE_SIZE: Final = 256
DEFAULT_MAX_PENDING: Final = 64
DEFAULT_SEND_TIMEOUT: Final = 10.0
# Senders handled between two yields to the event loop: keeps reads,
# pings and HTTP requests flowing during a large fan-out at a tiny cost.
FANOUT_CHUNK: Final = 512


class SubscriberDropped(Exception):
    """The subscriber fell behind (or could not send) and was removed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
