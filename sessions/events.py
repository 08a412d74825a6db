"""Realtime messages of the stage and their channel names. Pure: no I/O.

A stage message carries the whole stage (not a diff), so the newest message of a
channel is also a complete snapshot for a screen that joins late. `type` is always
the first key: the stream cache relabels a "state" as a "snapshot" by its prefix.
A screen whose site has no conference live today gets a "waiting" message instead.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime
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
class StageFloor:
    """The site that has the floor: every screen shows it with a running timer."""

    request_id: int
    site_id: int
    site_name: str
    speaker_name: str
    speaker_position: str
    topic: str
    started_at: datetime
    limit_seconds: int | None


@dataclass(frozen=True, slots=True)
class StageQuestion:
    """An approved written question the chair put on every screen."""

    id: int
    text: str
    site_name: str | None
    weight: int


@dataclass(frozen=True, slots=True)
class StageForm:
    """The training form every screen shows: while `status` is "open" its answer link
    (each screen adds its own site's code and live count); with `results` its results
    (`results_version` names them: screens fetch the charts once per version)."""

    id: int
    kind: str
    kind_label: str
    title: str
    status: str
    results: bool
    results_version: int


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
    floor: StageFloor | None = None
    question: StageQuestion | None = None
    form: StageForm | None = None


def stage_channel(conference_id: int) -> str:
    """The channel every screen of a conference listens to."""
    return f"conference:{conference_id}:stage"


def floor_channel(conference_id: int) -> str:
    """The channel of a conference's floor queue: chairs' views listen to it."""
    return f"conference:{conference_id}:floor"


def encode_floor_changed(*, session_id: int, version: int) -> str:
    """`{"type": "floor", "session_id", "version"}`: the session's queue changed."""
    return json.dumps({"type": "floor", "session_id": session_id, "version": version},
                      separators=(",", ":"))


def decode_floor_changed(message: str | bytes) -> tuple[int, int]:
    """The inverse of :func:`encode_floor_changed`: (session_id, version)."""
    body = json.loads(message)
    return int(body["session_id"]), int(body["version"])


def form_channel(conference_id: int) -> str:
    """The channel of a conference's form answers: the live counters listen to it."""
    return f"conference:{conference_id}:forms"


def encode_form_answered(*, form_id: int, site_id: int) -> str:
    """`{"type": "answer", "form_id", "site_id"}`: one more phone answer at a site."""
    return json.dumps({"type": "answer", "form_id": form_id, "site_id": site_id},
                      separators=(",", ":"))


def encode_form_tallied(*, form_id: int, site_id: int, respondents: int) -> str:
    """`{"type": "tally", "form_id", "site_id", "respondents"}`: a room's tally now stands
    for `respondents` people (it replaces the site's earlier tally)."""
    return json.dumps({"type": "tally", "form_id": form_id, "site_id": site_id,
                       "respondents": respondents}, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class FormCountChange:
    """A decoded form-channel message: `respondents` is set for a tally, None for an answer."""

    form_id: int
    site_id: int
    respondents: int | None


def decode_form_change(message: str | bytes) -> FormCountChange:
    """The inverse of :func:`encode_form_answered` and :func:`encode_form_tallied`."""
    body = json.loads(message)
    respondents = int(body["respondents"]) if body["type"] == "tally" else None
    return FormCountChange(int(body["form_id"]), int(body["site_id"]), respondents)


StageType = Literal["snapshot", "state"]

#: What a screen sends every 15 s so the server knows it is still there.
HEARTBEAT = '{"type":"heartbeat"}'


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
        "floor": _floor(view.floor),
        "question": _question(view.question),
        "form": _form(view.form),
    }


def _form(form: StageForm | None) -> dict[str, Any] | None:
    if form is None:
        return None
    return {"id": form.id, "kind": form.kind, "kind_label": form.kind_label,
            "title": form.title, "status": form.status, "results": form.results,
            "results_version": form.results_version}


def _floor(floor: StageFloor | None) -> dict[str, Any] | None:
    if floor is None:
        return None
    return {
        "request_id": floor.request_id,
        "site_id": floor.site_id,
        "site_name": floor.site_name,
        "speaker_name": floor.speaker_name,
        "speaker_position": floor.speaker_position,
        "topic": floor.topic,
        "started_at": floor.started_at.isoformat(),
        "limit_seconds": floor.limit_seconds,
    }


def _question(question: StageQuestion | None) -> dict[str, Any] | None:
    if question is None:
        return None
    return {"id": question.id, "text": question.text, "site_name": question.site_name,
            "weight": question.weight}


def encode_stage(type: StageType, view: StageView) -> str:
    """Compact JSON message `{"type": ..., "version": n, ...}`, encoded once for every listener."""
    return json.dumps(
        {"type": type, **stage_body(view)}, separators=(",", ":"), ensure_ascii=False
    )


_STATE_PREFIX = '{"type":"state"'
_SNAPSHOT_PREFIX = '{"type":"snapshot"'


def as_snapshot(message: str) -> str:
    """The same stage message, typed as a snapshot (the encoder puts `type` first)."""
    if message.startswith(_STATE_PREFIX):
        return _SNAPSHOT_PREFIX + message[len(_STATE_PREFIX) :]
    return message


@dataclass(frozen=True, slots=True)
class StageMessage:
    """A decoded stage message: its type and the stage it carries."""

    type: StageType
    view: StageView


def _decode_item(body: dict[str, Any]) -> StageItem:
    return StageItem(
        id=body["id"],
        title=body["title"],
        kind=body["kind"],
        kind_label=body["kind_label"],
        speaker=body["speaker"],
        position=body["position"],
    )


def _decode_session(body: dict[str, Any] | None) -> StageSession | None:
    if body is None:
        return None
    return StageSession(
        id=body["id"],
        title=body["title"],
        starts_at=datetime.fromisoformat(body["starts_at"]),
        ends_at=datetime.fromisoformat(body["ends_at"]),
        status=body["status"],
    )


def _decode_floor(body: dict[str, Any] | None) -> StageFloor | None:
    if body is None:
        return None
    return StageFloor(
        request_id=body["request_id"],
        site_id=body["site_id"],
        site_name=body["site_name"],
        speaker_name=body["speaker_name"],
        speaker_position=body["speaker_position"],
        topic=body["topic"],
        started_at=datetime.fromisoformat(body["started_at"]),
        limit_seconds=body["limit_seconds"],
    )


def _decode_question(body: dict[str, Any] | None) -> StageQuestion | None:
    if body is None:
        return None
    return StageQuestion(id=body["id"], text=body["text"], site_name=body["site_name"],
                         weight=body["weight"])


def decode_stage(message: str | bytes) -> StageMessage:
    """The inverse of :func:`encode_stage`."""
    body = json.loads(message)
    slide = body["slide"]
    view = StageView(
        version=int(body["version"]),
        conference_id=body["conference_id"],
        conference_title=body["conference_title"],
        session=_decode_session(body["session"]),
        item=None if body["item"] is None else _decode_item(body["item"]),
        next=tuple(_decode_item(n) for n in body["next"]),
        slide=None if slide is None else StageSlide(slide["number"], slide["count"], slide["url"]),
        notice=body["notice"],
        changed_at=datetime.fromisoformat(body["changed_at"]),
        floor=_decode_floor(body.get("floor")),
        question=_decode_question(body.get("question")),
        form=StageForm(**body["form"]) if body.get("form") else None,
    )
    return StageMessage(type=body["type"], view=view)


def stage_version(message: str | bytes) -> int:
    """The version a stage message carries."""
    return decode_stage(message).view.version


def is_heartbeat(text: str) -> bool:
    """Whether a client's message is a heartbeat (the only message a stage socket takes)."""
    try:
        kind = json.loads(text).get("type")
    except (ValueError, AttributeError):
        return False
    return bool(kind == "heartbeat")


# ------------------------------------------------------------- waiting screen


@dataclass(frozen=True, slots=True)
class NextConference:
    """The next conference a site takes part in, as a waiting screen announces it."""

    conference_id: int
    title: str
    starts_on: date
    starts_at: datetime | None  # its first session's start, when it has sessions


@dataclass(frozen=True, slots=True)
class WaitingView:
    """What a screen shows between conferences."""

    site_name: str
    next: NextConference | None
    now: datetime


def encode_waiting(view: WaitingView) -> str:
    """`{"type": "waiting", "site_name", "next": {...} | null, "now"}`."""
    upcoming = view.next
    body = {
        "type": "waiting",
        "site_name": view.site_name,
        "next": None
        if upcoming is None
        else {
            "conference_id": upcoming.conference_id,
            "title": upcoming.title,
            "starts_on": upcoming.starts_on.isoformat(),
            "starts_at": None if upcoming.starts_at is None else upcoming.starts_at.isoformat(),
        },
        "now": view.now.isoformat(),
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def decode_waiting(message: str | bytes) -> WaitingView:
    """The inverse of :func:`encode_waiting`."""
    body = json.loads(message)
    raw = body["next"]
    upcoming = None
    if raw is not None:
        starts_at = raw["starts_at"]
        upcoming = NextConference(
            conference_id=raw["conference_id"],
            title=raw["title"],
            starts_on=date.fromisoformat(raw["starts_on"]),
            starts_at=None if starts_at is None else datetime.fromisoformat(starts_at),
        )
    return WaitingView(
        site_name=body["site_name"], next=upcoming, now=datetime.fromisoformat(body["now"])
    )
