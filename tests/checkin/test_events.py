"""Attendance messages: every decoder reads back what its encoder wrote."""

from datetime import UTC, datetime

import pytest

from checkin import events

AT = datetime(2025, 9, 9, 1, 2, 3, tzinfo=UTC)


def test_checkin_round_trips() -> None:
    message = events.encode_checkin(conference_id=1, site_id=2, session_id=None, attendee_id=3,
                                    foreign_site=True, at=AT)
    assert events.decode(message) == events.CheckinMessage(
        conference_id=1, site_id=2, session_id=None, attendee_id=3, foreign_site=True, at=AT)


def test_checkout_round_trips() -> None:
    message = events.encode_checkout(conference_id=1, site_id=2, session_id=5, attendee_id=3,
                                     at=AT)
    assert events.decode(message.encode()) == events.CheckoutMessage(
        conference_id=1, site_id=2, session_id=5, attendee_id=3, at=AT)


def test_headcount_round_trips() -> None:
    message = events.encode_headcount(conference_id=1, site_id=2, session_id=4, total=40, at=AT)
    assert events.decode(message) == events.HeadcountMessage(
        conference_id=1, site_id=2, session_id=4, total=40, at=AT)


def test_unknown_type_decodes_to_none() -> None:
    assert events.decode('{"type": "later"}') is None


@pytest.mark.parametrize(
    "message", ["not json", "[1, 2]", '{"type": "checkin"}',
                '{"type": "headcount", "conference_id": 1, "site_id": 2, "total": 3, "at": "x"}'],
)
def test_malformed_message_is_a_value_error(message: str) -> None:
    with pytest.raises(ValueError):
        events.decode(message)


def test_attendance_channel_name() -> None:
    assert events.attendance_channel(7) == "conference:7:attendance"


def test_synced_decodes_the_contract_message() -> None:
    message = ('{"type":"synced","conference_id":1,"site_id":2,"checkins":312,'
               '"headcounts":1,"refused":3,"oldest":"2025-09-09T08:01:02+07:00",'
               '"at":"2025-09-09T01:02:03+00:00"}')
    assert events.decode(message) == events.SyncedMessage(
        conference_id=1, site_id=2, checkins=312, headcounts=1, refused=3,
        oldest=datetime(2025, 9, 9, 1, 1, 2, tzinfo=UTC), at=AT)
