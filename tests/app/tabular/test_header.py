"""Header matching: aliases forgiving case and accents, missing and repeated columns."""

import pytest

from app.tabular.errors import MissingColumns
from app.tabular.header import Columns, header_key, map_header, read_file

COLUMNS = Columns(
    aliases={"name": ("name", "họ và tên"), "code": ("code", "mã điểm cầu"), "note": ("ghi chú",)},
    required=("name", "code"),
    labels={"name": "Họ và tên", "code": "Mã điểm cầu", "note": "Ghi chú"},
    example="họ và tên, mã điểm cầu",
)


def test_header_key_drops_case_accents_and_punctuation() -> None:
    assert header_key("Mã cấp trên (*)") == "ma cap tren"


def test_map_header_finds_columns_and_warns_on_unknown() -> None:
    cmap, warnings = map_header(["  HỌ VÀ TÊN ", "Ma diem cau", "Tuổi"], COLUMNS)
    assert cmap.index == {"name": 0, "code": 1}
    assert cmap.headers == {"name": "HỌ VÀ TÊN", "code": "Ma diem cau"}
    assert cmap.width == 3
    assert warnings == ["Bỏ qua cột không nhận ra: “Tuổi”."]


def test_map_header_missing_required_names_them() -> None:
    with pytest.raises(MissingColumns) as caught:
        map_header(["họ và tên"], COLUMNS)
    assert caught.value.extra == {"missing": ["code"]}
    assert caught.value.detail == (
        "Tệp thiếu cột bắt buộc: code (mã điểm cầu). Dòng đầu tiên phải là tiêu đề, ví dụ: "
        "họ và tên, mã điểm cầu."
    )


def test_map_header_repeated_column_refused_or_ignored() -> None:
    with pytest.raises(MissingColumns) as caught:
        map_header(["name", "code", "Họ và tên"], COLUMNS)
    assert caught.value.extra == {"repeated": ["Họ và tên"]}
    lenient = Columns(COLUMNS.aliases, COLUMNS.required, COLUMNS.labels, COLUMNS.example,
                      refuse_repeated=False)
    cmap, warnings = map_header(["name", "code", "Họ và tên"], lenient)
    assert cmap.index == {"name": 0, "code": 1}
    assert warnings == ["Bỏ qua cột không nhận ra: “Họ và tên”."]


def test_read_file_refuses_header_only_file_with_the_given_message() -> None:
    table, cmap, warnings = read_file(
        b"name,code\nAn,HCM\n", "a.csv", COLUMNS, max_rows=10, header_only="x"
    )
    assert table.rows == [(2, ["An", "HCM"])] and cmap.index == {"name": 0, "code": 1}
    assert warnings == []
    with pytest.raises(Exception) as caught:
        read_file(b"name,code\n", "a.csv", COLUMNS, max_rows=10, header_only="Chỉ có tiêu đề.")
    assert getattr(caught.value, "code", None) == "empty_file"
    assert str(caught.value) == "Chỉ có tiêu đề."
