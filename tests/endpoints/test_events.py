"""Site messages (presence, readiness): every decoder reads back what its encoder wrote."""

from datetime import UTC, datetime

import pytest

from endpoints import events

AT = datetime(2025, 9, 9, 1, 2, 3, tzinfo=UTC)


def test_presence_round_trips() -> None:
    message = events.encode_presence(conference_id=1, changes=[(2, True), (3, False)], at=AT)
    assert events.decode(message) == events.PresenceMessage(
        conference_id=1, changes=((2, True), (3, False)), at=AT)


def test_site_round_trips_with_and_without_incident() -> None:
    incident = {"id": 9, "site_id": 2, "site_name": "Bến Nghé", "reason": "mất tiếng",
                "opened_at": AT.isoformat(), "resolved_at": None}
    for extra in (None, incident):
        message = events.encode_site(conference_id=1, site_id=2, readiness="incident",
                                     expected=30, name="Bến Nghé", at=AT, incident=extra)
        assert events.decode(message.encode()) == events.SiteMessage(
            conference_id=1, site_id=2, readiness="incident", expected=30, name="Bến Nghé",
            at=AT, incident=extra)


def test_unknown_type_decodes_to_none() -> None:
    assert events.decode('{"type": "later"}') is None


@pytest.mark.parametrize(
    "message", ["{", '"x"', '{"type": "presence", "conference_id": 1, "at": "x"}',
                '{"type": "site", "conference_id": 1, "site_id": 2}'],
)
def test_malformed_message_is_a_value_error(message: str) -> None:
    with pytest.raises(ValueError):
        events.decode(message)


def test_channel_names() -> None:
    assert events.presence_channel(7) == "conference:7:presence"
    assert events.readiness_channel(7) == "conference:7:readiness"
