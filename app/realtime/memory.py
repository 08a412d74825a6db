"""In-process backend: one worker, no network."""

from __future__ import annotations

from app.realtime.hub import Hub
from app.realtime.types import (
    Message,
)


class MemoryHub(Hub):
    """In-process backend: one worker, no network."""

    def _publish_on_loop(self, channel: str, message: Message, payload: bytes | None) -> None:
        self._fanout(channel, message)
