"""Content-Disposition headers safe for any file name (RFC 6266 / RFC 8187)."""

from urllib.parse import unquote

import pytest

from app.disposition import ascii_fallback, attachment

NAMES = [
    'Hà Nội; "x".csv', "a\r\nSet-Cookie: s=1.csv", "../../etc/passwd", "東京.xlsx",
    "=cmd|' /C calc'!A0.csv", "", "\u202eexe.csv", "Điểm cầu Đà Nẵng.xlsx", "a" * 500 + ".csv",
]


def _parts(header: str) -> tuple[str, str]:
    assert header.startswith('attachment; filename="')
    fallback, rest = header[len('attachment; filename="'):].split('"', 1)
    assert rest.startswith("; filename*=UTF-8''")
    return fallback, rest[len("; filename*=UTF-8''"):]


@pytest.mark.parametrize("name", NAMES)
def test_any_name_gives_one_safe_header(name: str) -> None:
    header = attachment(name)["Content-Disposition"]
    assert header.isascii() and header.isprintable()
    fallback, encoded = _parts(header)
    assert fallback and not set(fallback) & set(';"\\/ ')
    assert not set(encoded) & set(';"\\/ \'')
    real = unquote(encoded)
    assert "/" not in real and "\\" not in real and real.isprintable()
    assert len(real) <= 160 and len(fallback) <= 160


def test_vietnamese_name_travels_in_filename_star_with_an_ascii_fallback() -> None:
    fallback, encoded = _parts(attachment("Điểm cầu Đà Nẵng.xlsx")["Content-Disposition"])
    assert fallback == "Diem-cau-Da-Nang.xlsx"
    assert unquote(encoded) == "Điểm-cầu-Đà-Nẵng.xlsx"


def test_fallback_keeps_the_extension() -> None:
    assert ascii_fallback("東京.xlsx") == "download.xlsx"
    assert ascii_fallback('Hà Nội; "x".csv') == "Ha-Noi-x.csv"
