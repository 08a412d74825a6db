"""Realtime messages of the stage and their channel names. Pure: no I/O.

A stage message carries the whole stage (not a diff), so the newest message of a
channel is also a complete snapshot for a screen that joins late. `type` is always
the first key: the stream cache relabels a "state" as a "snapshot" by its prefix.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class StageSession:
    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    status: str


@dataclass(frozen=True, slots=True)
class StageItem:
    id: int
    title: str
    kind: str
    kind_label: str
    speaker: str | None
    position: int


@dataclass(frozen=True, slots=True)
class StageSlide:
    number: int
    count: int
    url: str


@dataclass(frozen=True, slots=True)
class StageView:
    """Everything a site screen shows now, with the version that names this state."""

    version: int
    conference_id: int
    conference_title: str
    session: StageSession | None
    item: StageItem | None
    next: tuple[StageItem, ...]
    slide: StageSlide | None
    notice: str | None
    changed_at: datetime


def stage_channel(conference_id: int) -> str:
    """The channel every screen of a conference listens to."""
    return f"conference:{conference_id}:stage"


def _item(item: StageItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "kind": item.kind,
        "kind_label": item.kind_label,
        "speaker": item.speaker,
        "position": item.position,
    }


def stage_body(view: StageView) -> dict[str, Any]:
    """The stage as a JSON-ready dict (also the body of the state API answer)."""
    session = view.session
    slide = view.slide
    return {
        "version": view.version,
        "conference_id": view.conference_id,
        "conference_title": view.conference_title,
        "session": None
        if session is None
        else {
            "id": session.id,
            "title": session.title,
            "starts_at": session.starts_at.isoformat(),
            "ends_at": session.ends_at.isoformat(),
            "status": session.status,
        },
        "item": None if view.item is None else _item(view.item),
        "next": [_item(n) for n in view.next],
        "slide": None
        if slide is None
        else {"number": slide.number, "count": slide.count, "url": slide.url},
        "notice": view.notice,
        "changed_at": view.changed_at.isoformat(),
    }


def encode_stage(type: Literal["snapshot", "state"], view: StageView) -> str:
    """Compact JSON message `{"type": ..., "version": n, ...}`, encoded once for every listener."""
    return json.dumps(
        {"type": type, **stage_body(view)}, separators=(",", ":"), ensure_ascii=False
    )
