"""Shared text rules: Vietnamese number format and phone numbers."""

import pytest

from app.text import TextError, check_phone, format_number, mask_phone, restore_phone_zero


def test_format_number_groups_with_dots_and_decimal_comma() -> None:
    assert format_number(40_000) == "40.000"
    assert format_number(1_930_000) == "1.930.000"
    assert format_number(1.25, 1) == "1,2"
    assert format_number(None) == ""


def test_check_phone_accepts_typed_forms_and_refuses_words() -> None:
    assert check_phone("+84 (28) 3823-0000") == "+84 (28) 3823-0000"
    with pytest.raises(TextError):
        check_phone("gọi tôi")
    with pytest.raises(TextError):
        check_phone("123")


def test_restore_phone_zero_only_for_nine_digit_mobiles() -> None:
    assert restore_phone_zero("912345678") == ("0912345678", True)
    assert restore_phone_zero("0912345678") == ("0912345678", False)
    assert restore_phone_zero("212345678") == ("212345678", False)
    assert restore_phone_zero("91234567") == ("91234567", False)


@pytest.mark.parametrize(("phone", "shown"), [
    ("0912345678", "09xx xxx 678"),
    ("091 234 5678", "09xx xxx 678"),
    ("+84912345678", "84xx xxx 678"),
    ("(028) 3823 4567", "02xx xxx 567"),
    ("12345", "xxx 45"),
    ("12", "xxx"),
    (None, None),
    ("", ""),
])
def test_mask_phone_keeps_two_leading_and_three_trailing_digits(
    phone: str | None, shown: str | None
) -> None:
    assert mask_phone(phone) == shown
