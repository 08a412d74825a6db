"""Form text shared by the registry pages: Vietnamese messages naming the field."""

import pytest
from pydantic import BaseModel, Field, ValidationError

from endpoints.forms import filled, notice, validation_message


class _Form(BaseModel):
    expected_attendees: int = Field(ge=0)


def test_validation_message_names_the_field_in_vietnamese() -> None:
    with pytest.raises(ValidationError) as exc:
        _Form.model_validate({"expected_attendees": -1})
    assert validation_message(exc.value) == "Số đại biểu dự kiến: quá nhỏ"


def test_filled_keeps_only_non_blank_values_trimmed() -> None:
    values = {"code": " HCM ", "room": "  ", "note": "x"}
    assert filled(values, ("code", "room", "phone")) == {"code": "HCM"}


def test_notice_of_unknown_key_is_none() -> None:
    assert notice("site_saved") == "Đã lưu thay đổi."
    assert notice("nope") is None
    assert notice(None) is None
