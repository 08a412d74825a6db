"""Reading CSV/XLSX into text rows: encodings, delimiters, refusals, limits."""

import io
from datetime import date, datetime

import openpyxl
import pytest

from app.tabular import errors, reader


def test_read_table_csv_semicolon_bom_and_blank_rows() -> None:
    data = "\ufeffmã;tên\n\nHCM;Thành phố\n".encode()
    table = reader.read_table(data, "a.csv", max_rows=10)
    assert table.header == ["mã", "tên"]
    assert table.rows == [(3, ["HCM", "Thành phố"])]
    assert table.encoding == "utf-8-sig" and table.warnings == []


def test_decode_text_windows_1258_converted_with_warning() -> None:
    # Windows-1258 stores "ộ" as "ô" and a combining dot below; decoding gives NFC.
    text, encoding, warnings = reader.decode_text("Hà Nô\u0323i".encode("cp1258"))
    assert text == "Hà Nội" and encoding == "windows-1258"
    assert warnings == [reader.CONVERTED_WARNING]


def test_decode_text_legacy_font_bytes_refused() -> None:
    with pytest.raises(errors.EncodingUnsupported):
        reader.decode_text(b"\xa7\xb5 N\xbdng \xd1\xfb\xf6")


def test_file_kind_refuses_pdf_xls_and_unknown_names() -> None:
    with pytest.raises(errors.UnsupportedFile):
        reader.file_kind(b"%PDF-1.4", "a.csv")
    with pytest.raises(errors.UnsupportedFile):
        reader.file_kind(b"abc", "a.xls")
    with pytest.raises(errors.UnsupportedFile):
        reader.file_kind(b"abc", "a.docx")
    assert reader.file_kind(b"a,b", "a.TXT") == "csv"


def test_read_table_too_many_rows() -> None:
    with pytest.raises(errors.TooManyRows) as caught:
        reader.read_table(b"a\n1\n2\n3\n", "a.csv", max_rows=2)
    assert caught.value.extra == {"max_rows": 2}
    assert caught.value.status_code == 413


def test_read_table_xlsx_cells_as_text() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["mã", "ngày"])
    sheet.append([12.0, date(2025, 9, 9)])
    buf = io.BytesIO()
    book.save(buf)
    table = reader.read_table(buf.getvalue(), "a.xlsx", max_rows=10)
    assert table.encoding == "xlsx"
    assert table.rows == [(2, ["12", "09/09/2025 00:00"])]
    assert reader.cell_text(datetime(2025, 9, 9, 8, 30)) == "09/09/2025 08:30"
    assert reader.cell_text(None) == ""


def test_sniff_delimiter_ignores_quoted_commas() -> None:
    assert reader.sniff_delimiter('"a,b,c";d;e') == ";"
    assert reader.sniff_delimiter("a\tb") == "\t"
    assert reader.sniff_delimiter("abc") == ","
