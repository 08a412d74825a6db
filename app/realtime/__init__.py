"""Realtime hub: transport-only pub/sub for websockets; it knows no domain.

Backends, chosen by URL through :func:`create_hub`:

* ``memory://`` — in-process, for the embedded single-worker deployment.
* ``redis://…`` / ``rediss://…`` — Redis pub/sub for several workers or hosts.
  Each process holds ONE subscription connection (not one per websocket) and
  one publishing connection. After the subscription connection drops (Redis
  restart, ``CLIENT KILL``, network) the hub reconnects with backoff,
  resubscribes every channel it needs, and then delivers :data:`RESYNC` to
  the local listeners of each channel: pub/sub is at-most-once, so they may
  have missed messages and should send their clients a fresh snapshot.

Two ways to listen, both fed by the same per-channel delivery loop:

* :meth:`Hub.attach` registers a *sender* (e.g. ``ws.send_text``). This is the
  path for "N screens on one channel". For each message ONE task per channel
  and process walks the channel's senders and calls each in turn, like
  ``websockets.broadcast()``. A sender may be a plain callable or a coroutine
  function. A coroutine is started eagerly (``coro.send(None)``): a websocket
  send whose bytes fit into the transport buffer finishes in that first step,
  so the common case costs no task, no queue and no wake-up. Only a send that
  really suspends (the client's socket buffer is full) is finished in its own
  task; further messages for that sender wait in a small bounded backlog, and
  when the backlog overflows or a send takes longer than ``send_timeout`` the
  sender is detached and ``on_drop`` is called (close the socket there). A
  sender that raises is detached the same way. So a slow or dead client
  never delays the others, and nothing is ever awaited on the fan-out path.

  Why this design (measured; see bench/README.md "Fan-out"): one task per
  client per message, or a per-connection sender task woken by a queue, was
  6–7x slower than a plain send loop at 3k clients (FIELD-NOTES) and the
  task churn feeds the garbage collector. A plain ``await ws.send(m)`` loop is
  fast but lets one stuck client stall the whole channel. Eager start keeps
  the speed of the plain loop and the isolation of per-client tasks.

* :meth:`Hub.subscribe` gives an async iterator with a bounded queue, for
  consumers that do more than forward bytes (coalescing dashboards, tests).
  On overflow it raises :class:`SubscriberDropped` instead of blocking.

Messages are ``str`` or ``bytes``, encoded once by the publisher; every
listener receives the very same object. :meth:`Hub.publish` never blocks and
may be called from the event loop or from any thread (FastAPI runs sync
routes in a threadpool). Messages of one channel keep their publish order
for every listener. Call ``gc.freeze()`` after app start-up: with thousands
of connections full GC passes otherwise pause delivery for hundreds of ms.
"""

from typing import Any
from urllib.parse import urlsplit

from app.realtime.hub import Hub
from app.realtime.memory import MemoryHub
from app.realtime.redis_hub import RedisHub
from app.realtime.sinks import Attachment, Subscription
from app.realtime.types import (
    RESYNC,
    Item,
    Marker,
    Message,
    Publish,
    Resync,
    Sender,
    SubscriberDropped,
)

__all__ = [
    "RESYNC",
    "Attachment",
    "Hub",
    "Item",
    "Marker",
    "MemoryHub",
    "Message",
    "Publish",
    "RedisHub",
    "Resync",
    "Sender",
    "SubscriberDropped",
    "Subscription",
    "create_hub",
]


def create_hub(url: str, **options: Any) -> Hub:
    """Build a hub from a URL: ``memory://`` or ``redis://…``/``rediss://…``.

    ``options`` go to the backend (e.g. ``channel_prefix`` for Redis).
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        return MemoryHub(**options)
    if scheme in ("redis", "rediss"):
        return RedisHub(url, **options)
    raise ValueError(
        f"unsupported realtime broker URL {url!r}: expected memory:// or redis://host:port/db"
    )
