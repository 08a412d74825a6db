"""Helpers shared by the registry's invite and registration tests."""

from endpoints.models import Registration


def registration(**over: object) -> Registration:
    """A valid registration form, with some fields changed."""
    data: dict[str, object] = {
        "site_name": "Đảng ủy phường Sài Gòn",
        "kind": "ward",
        "room": "Phòng họp tầng 2",
        "expected_attendees": 60,
        "full_name": "Trần Văn Bình",
        "phone": "0912345678",
        "username": "saigon",
        "password": "saigon-password",
    }
    data.update(over)
    return Registration.model_validate(data)

