"""Styled cells of a write-only XLSX sheet: a bold header row, formatted cells, local times.

Shared by every report that writes a workbook (attendance, the floor's minutes); the
cells come from `export.xlsx_cell`, so text is formula-safe here too.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from app.tabular import export
from app.templating import LOCAL_TZ

BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
INT = "#,##0"
RATE = "0.0%"
TIME = "dd/mm/yyyy hh:mm"


def letter(index: int) -> str:
    """The column letter of a 0-based column index."""
    found: str = get_column_letter(index + 1)
    return found


def header(ws: WriteOnlyWorksheet, titles: Sequence[str], widths: Sequence[float]) -> None:
    """Column widths, a frozen bold header row (call before any other row)."""
    for i, width in enumerate(widths):
        ws.column_dimensions[letter(i)].width = width
    ws.freeze_panes = "A2"
    cells = []
    for title in titles:
        cell = export.xlsx_cell(ws, title)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cells.append(cell)
    ws.append(cells)


def cell(ws: WriteOnlyWorksheet, value: Any, fmt: str | None = None, bold: bool = False) -> Any:
    """A formula-safe cell with a number format and weight."""
    made = export.xlsx_cell(ws, value)
    if fmt is not None:
        made.number_format = fmt
    if bold:
        made.font = BOLD
    return made


def naive_local(value: datetime | None) -> datetime | None:
    """Excel has no time zones: the local (Asia/Ho_Chi_Minh) wall-clock time."""
    return None if value is None else value.astimezone(LOCAL_TZ).replace(tzinfo=None)
