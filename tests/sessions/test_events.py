"""Stage messages: what the encoder writes, the decoder reads back."""

import json
from datetime import UTC, date, datetime

import pytest

from sessions import events

WHEN = datetime(2025, 9, 9, 8, 30, tzinfo=UTC)
ITEM = events.StageItem(
    id=3, title="Khai mạc", kind="talk", kind_label="Phát biểu", speaker="Ông A", position=1
)
FULL = events.StageView(
    version=42,
    conference_id=7,
    conference_title="Hội nghị tập huấn",
    session=events.StageSession(
        id=5, title="Phiên sáng", starts_at=WHEN, ends_at=WHEN, status="live"
    ),
    item=ITEM,
    next=(events.StageItem(4, "Thảo luận", "discussion", "Thảo luận", None, 2),),
    slide=events.StageSlide(number=2, count=10, url="/files/deck.pdf#2"),
    notice="Giải lao 10 phút",
    changed_at=WHEN,
)
EMPTY = events.StageView(
    version=0, conference_id=7, conference_title="Hội nghị", session=None, item=None,
    next=(), slide=None, notice=None, changed_at=WHEN.replace(tzinfo=None),  # naive UTC
)


@pytest.mark.parametrize("view", [FULL, EMPTY], ids=["full", "empty"])
@pytest.mark.parametrize("kind", ["snapshot", "state"])
def test_decode_reads_back_what_encode_wrote(
    view: events.StageView, kind: events.StageType
) -> None:
    message = events.encode_stage(kind, view)
    assert events.decode_stage(message) == events.StageMessage(type=kind, view=view)
    assert events.decode_stage(message.encode()) == events.StageMessage(type=kind, view=view)
    assert events.stage_version(message) == view.version


def test_as_snapshot_relabels_a_state_message_only() -> None:
    state = events.encode_stage("state", FULL)
    assert events.as_snapshot(state) == events.encode_stage("snapshot", FULL)
    snapshot = events.encode_stage("snapshot", FULL)
    assert events.as_snapshot(snapshot) is snapshot


def test_encoded_message_puts_type_first() -> None:
    assert list(json.loads(events.encode_stage("state", FULL)))[:2] == ["type", "version"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [(events.HEARTBEAT, True), ('{"type": "heartbeat", "at": 1}', True), ('{"type":"hack"}', False),
     ("not json", False), ("[1, 2]", False), ("null", False)],
)
def test_is_heartbeat_takes_only_heartbeats(text: str, expected: bool) -> None:
    assert events.is_heartbeat(text) is expected


NEXT = events.NextConference(
    conference_id=9, title="Hội nghị quý I", starts_on=date(2026, 1, 5), starts_at=WHEN
)


@pytest.mark.parametrize(
    "upcoming", [NEXT, None, events.NextConference(9, "X", date(2026, 1, 5), None)]
)
def test_decode_waiting_reads_back_what_encode_waiting_wrote(
    upcoming: events.NextConference | None,
) -> None:
    view = events.WaitingView(site_name="Phường Bến Nghé", next=upcoming, now=WHEN)
    assert events.decode_waiting(events.encode_waiting(view)) == view


def test_waiting_message_shape() -> None:
    message = events.encode_waiting(events.WaitingView(site_name="Xã Cần Giờ", next=NEXT, now=WHEN))
    assert message.startswith('{"type":"waiting"')
    assert json.loads(message) == {
        "type": "waiting",
        "site_name": "Xã Cần Giờ",
        "next": {"conference_id": 9, "title": "Hội nghị quý I", "starts_on": "2026-01-05",
                 "starts_at": "2025-09-09T08:30:00+00:00"},
        "now": "2025-09-09T08:30:00+00:00",
    }
