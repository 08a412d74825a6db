"""Matching a file's header cells to known columns, forgiving case, accents and punctuation."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.tabular import errors, reader
from app.text import search_key

_NON_WORD = re.compile(r"[^a-z0-9]+")


def header_key(value: str) -> str:
    """Header/value lookup key: "Mã cấp trên (*)" → "ma cap tren"."""
    return _NON_WORD.sub(" ", search_key(value)).strip()


@dataclass(frozen=True)
class Columns:
    """The columns an import knows: names, header aliases, which are required."""

    aliases: Mapping[str, Sequence[str]]  # column → every header that names it
    required: Sequence[str]
    labels: Mapping[str, str]  # column → the label named in "missing column" messages
    example: str  # the example header line of that message
    refuse_repeated: bool = True  # a repeated column is an error (else ignored)

    def lookup(self) -> dict[str, str]:
        """Header key → column."""
        return {header_key(a): c for c, names in self.aliases.items() for a in names}


@dataclass(frozen=True)
class ColumnMap:
    """Where each known column sits in the header, as written in the file."""

    index: dict[str, int]
    headers: dict[str, str]
    width: int  # cells in the header row; a row with more (filled) cells is shifted


def _quoted(cells: Sequence[str]) -> str:
    return ", ".join(f"“{c}”" for c in cells)


def map_header(header: Sequence[str], columns: Columns) -> tuple[ColumnMap, list[str]]:
    """Match header cells to columns; refuse missing (or repeated) required columns."""
    lookup = columns.lookup()
    index: dict[str, int] = {}
    headers: dict[str, str] = {}
    ignored: list[str] = []
    repeated: list[str] = []
    for i, cell in enumerate(header):
        name = lookup.get(header_key(cell))
        if name is None or (name in index and not columns.refuse_repeated):
            if cell.strip():
                ignored.append(cell.strip()[:50])
        elif name in index:
            repeated.append(cell.strip()[:50])
        else:
            index[name] = i
            headers[name] = cell.strip()
    if repeated:
        raise errors.MissingColumns(
            f"Tiêu đề có cột lặp lại: {_quoted(repeated)}.", repeated=repeated
        )
    missing = [c for c in columns.required if c not in index]
    if missing:
        names = ", ".join(f"{c} ({columns.labels[c].lower()})" for c in missing)
        raise errors.MissingColumns(
            f"Tệp thiếu cột bắt buộc: {names}. Dòng đầu tiên phải là tiêu đề, ví dụ: "
            f"{columns.example}.",
            missing=missing,
        )
    warnings = [f"Bỏ qua cột không nhận ra: {_quoted(ignored)}."] if ignored else []
    return ColumnMap(index=index, headers=headers, width=len(header)), warnings


def read_file(
    data: bytes, filename: str, columns: Columns, *, max_rows: int, header_only: str
) -> tuple[reader.Table, ColumnMap, list[str]]:
    """A file's rows, column map and warnings; `header_only` refuses a file without rows."""
    table = reader.read_table(data, filename, max_rows=max_rows)
    if not table.header:
        raise errors.EmptyImport()
    cmap, header_warnings = map_header(table.header, columns)
    if not table.rows:
        raise errors.EmptyImport(header_only)
    return table, cmap, [*table.warnings, *header_warnings]
