"""Vietnamese text rules shared by every domain: NFC, search keys, sort order."""

import re
import unicodedata
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_SPACES = re.compile(r"\s+")

# Vietnamese alphabet order: ă and â after a, đ after d, ê after e, ô and ơ after o, ư after u.
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_BASE_RANK = {ch: i for i, ch in enumerate(_ALPHABET)}
# Tone marks in the order Vietnamese dictionaries use: none, huyền, hỏi, ngã, sắc, nặng.
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
_SHAPE_MARKS = {"\u0306", "\u0302", "\u031b"}  # breve, circumflex, horn


class TextError(ValueError):
    """A text value that cannot be accepted (control characters, empty, too long)."""


def nfc(value: str) -> str:
    """The NFC form: "Nguyễn" typed on a Mac (NFD) becomes the same string as on Windows."""
    return unicodedata.normalize("NFC", value)


def clean_text(value: str, *, max_length: int, field: str = "giá trị") -> str:
    """NFC, collapse spaces, refuse control characters and over-long values."""
    value = nfc(value)
    if _CONTROL.search(value.replace("\t", " ")):
        raise TextError(f"{field} chứa ký tự điều khiển không hợp lệ")
    value = _SPACES.sub(" ", value).strip()
    if not value:
        raise TextError(f"{field} không được để trống")
    if len(value) > max_length:
        raise TextError(f"{field} dài quá {max_length} ký tự")
    return value


def search_key(value: str) -> str:
    """Casefolded, de-accented, đ→d: "Nguyễn Văn Đặng" → "nguyen van dang"."""
    decomposed = unicodedata.normalize("NFD", nfc(value).casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.replace("đ", "d")).strip()


def vi_sort_key(value: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Sort key in Vietnamese order (Đ after D, tones as a secondary difference)."""
    primary: list[int] = []
    tones: list[int] = []
    for ch in nfc(value).casefold():
        parts = unicodedata.normalize("NFD", ch)
        base = parts[0]
        tone = 0
        for mark in parts[1:]:
            if mark in _SHAPE_MARKS:
                base = unicodedata.normalize("NFC", base + mark)
            elif mark in _TONES:
                tone = _TONES[mark]
        rank = _BASE_RANK.get(base)
        primary.append(rank if rank is not None else 100 + ord(base))
        tones.append(tone)
    return tuple(primary), tuple(tones)


def format_number(value: int | float | None, decimals: int = 0) -> str:
    """Vietnamese number format: 1.930.000 and 1,2."""
    if value is None:
        return ""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


_PHONE = re.compile(r"^\+?[0-9 .()-]{6,20}$")


def check_phone(value: str) -> str:
    """A phone number as typed (6–20 of digits, spaces, . ( ) - and a leading +)."""
    value = clean_text(value, max_length=20, field="Số điện thoại")
    if not _PHONE.match(value):
        raise TextError("Số điện thoại không hợp lệ")
    return value


def mask_phone(value: str | None) -> str | None:
    """A phone number as a site coordinator sees it: the first two and the last three
    digits ("09xx xxx 678"), enough to recognise it, not to call it. Short or odd numbers
    show their last three digits at most."""
    if not value:
        return value
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) < 7:
        return "xxx " + digits[-2:] if len(digits) > 2 else "xxx"
    return f"{digits[:2]}xx xxx {digits[-3:]}"


def restore_phone_zero(raw: str) -> tuple[str, bool]:
    """A 9-digit mobile number that lost its leading 0 in Excel gets it back (and True)."""
    if raw.isdigit() and len(raw) == 9 and raw[0] in "35789":
        return "0" + raw, True
    return raw, False


def cleaner(max_length: int, field: str) -> Callable[[str], str]:
    """`clean_text` bound to a length and a field name: the validator of a text type
    (`Annotated[str, AfterValidator(cleaner(300, "Lý do"))]`)."""

    def _check(value: str) -> str:
        return clean_text(value, max_length=max_length, field=field)

    return _check


def text_field(max_length: int, field: str) -> Any:
    """A validated text type for API schemas, naming `field` in its error message."""
    return Annotated[str, AfterValidator(cleaner(max_length, field))]


# Validated text types for API schemas: NFC, no control characters, bounded length.
Name = text_field(200, "Tên")
Title = text_field(300, "Tiêu đề")
ShortText = text_field(200, "Giá trị")
LongText = text_field(2000, "Nội dung")
