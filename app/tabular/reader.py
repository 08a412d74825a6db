"""Reading a CSV or XLSX file (bytes and a file name) into a header and text rows.

CSV: UTF-8 with or without BOM (or UTF-16 with BOM, Excel's "Unicode Text"); a
Windows-1258 file (what Excel saves as "CSV" on a Vietnamese Windows) is converted
with a warning; other legacy encodings (TCVN3, VNI) are refused with
`encoding_unsupported`. The delimiter (, ; or tab) is taken from the header line.
XLSX: the active sheet, read in read-only mode. Blank rows are skipped; line numbers
are the file's own (Excel's row numbers for XLSX).
"""

import codecs
import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal

from app.tabular import errors, xlsx
from app.tabular.report import LineError
from app.text import nfc

CONVERTED_WARNING = "Tệp đã chuyển từ mã Windows-1258 sang Unicode (UTF-8)."
SAVE_AS_HINT = 'Hãy mở tệp bằng Excel và chọn Lưu thành (Save As) → "CSV UTF-8 (Comma delimited)".'
# The default size limit of an uploaded file (settings may set another).
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_COLUMNS = 60
# Blank rows a file may hold beyond the row limit (Excel keeps formatted empty rows).
MAX_BLANK_ROWS = 10_000

FileKind = Literal["csv", "xlsx"]

# -------------------------------------------------------------------- table


@dataclass(frozen=True)
class Table:
    """The header and the non-blank rows of a file, every cell as text."""

    header: list[str]
    rows: list[tuple[int, list[str]]]
    encoding: str
    warnings: list[str] = field(default_factory=list)


_MAGIC_REFUSED: tuple[tuple[bytes, str], ...] = (
    (b"\xd0\xcf\x11\xe0", "Tệp Excel 97-2003 (.xls) chưa được hỗ trợ; hãy lưu thành .xlsx "
                          "hoặc CSV UTF-8."),
    (b"%PDF", "Tệp PDF không nhập được; hãy dùng tệp CSV hoặc Excel (.xlsx)."),
    (b"\x89PNG", "Tệp ảnh không nhập được; hãy dùng tệp CSV hoặc Excel (.xlsx)."),
    (b"\xff\xd8\xff", "Tệp ảnh không nhập được; hãy dùng tệp CSV hoặc Excel (.xlsx)."),
    (b"GIF8", "Tệp ảnh không nhập được; hãy dùng tệp CSV hoặc Excel (.xlsx)."),
)
_CSV_EXT = (".csv", ".txt", ".tsv")
_XLSX_EXT = (".xlsx", ".xlsm")


def file_kind(data: bytes, filename: str) -> FileKind:
    """CSV or XLSX, from the name and the first bytes; anything else is refused."""
    name = filename.strip().lower()
    for magic, message in _MAGIC_REFUSED:
        if data.startswith(magic):
            raise errors.UnsupportedFile(message)
    if data.startswith(b"PK\x03\x04") and name.endswith(_XLSX_EXT + _CSV_EXT):
        return "xlsx"  # an .xlsx renamed to .csv is still read as what it is
    if name.endswith(_XLSX_EXT):
        raise errors.UnsupportedFile("Tệp .xlsx bị hỏng hoặc không phải tệp Excel.")
    if name.endswith(".xls"):
        raise errors.UnsupportedFile(_MAGIC_REFUSED[0][1])
    if name.endswith(_CSV_EXT):
        return "csv"
    raise errors.UnsupportedFile()


def read_table(data: bytes, filename: str, *, max_rows: int) -> Table:
    """The rows of a CSV or XLSX file; refuses unknown types, bad encodings, too many rows."""
    if file_kind(data, filename) == "xlsx":
        return _read_xlsx(data, max_rows=max_rows)
    text, encoding, warnings = decode_text(data)
    return _read_csv(text, encoding=encoding, warnings=warnings, max_rows=max_rows)


# ----------------------------------------------------------------- encoding


def _vietnamese_letters() -> frozenset[str]:
    tones = ("", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323")
    vowels = ("a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y")
    letters = {nfc(v + t) for v in vowels for t in tones} | {"đ"}
    return frozenset(letters | {ch.upper() for ch in letters})


VIETNAMESE_LETTERS = _vietnamese_letters()
# Typographic marks Word and Excel put into Vietnamese text (curly quotes, dashes, …, ₫).
_TYPOGRAPHY = frozenset("\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u2022\u20ab\u20ac")


def looks_vietnamese(text: str) -> bool:
    """True when every non-ASCII character is a Vietnamese letter or common typography.

    TCVN3 and VNI files read as Windows-1258 turn into Latin-1 symbols (§ ¶ ­ µ …) and
    non-Vietnamese letters (Ñ û ö ø …); genuine Windows-1258 text has neither.
    """
    return all(
        ord(ch) < 128 or ch in VIETNAMESE_LETTERS or ch in _TYPOGRAPHY for ch in set(text)
    )


def decode_text(data: bytes) -> tuple[str, str, list[str]]:
    """Text (NFC), the encoding found and warnings; refuses what is not Unicode or cp1258."""
    try:
        if data.startswith(codecs.BOM_UTF8):
            return nfc(data[len(codecs.BOM_UTF8):].decode("utf-8")), "utf-8-sig", []
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return nfc(data.decode("utf-16")), "utf-16", []
    except UnicodeDecodeError as exc:
        raise errors.EncodingUnsupported(
            "Tệp đánh dấu là Unicode nhưng có byte không hợp lệ (tệp hỏng). " + SAVE_AS_HINT
        ) from exc
    try:
        return nfc(data.decode("utf-8")), "utf-8", []
    except UnicodeDecodeError:
        pass
    try:
        text = nfc(data.decode("cp1258"))
    except UnicodeDecodeError as exc:
        raise errors.EncodingUnsupported() from exc
    if not looks_vietnamese(text):
        raise errors.EncodingUnsupported()
    return text, "windows-1258", [CONVERTED_WARNING]


def _legacy_chars(value: str) -> bool:
    """True when a cell looks typed in TCVN3/VNI (a ".VnTime" or "VNI-Times" font)."""
    odd = 0
    for ch in value:
        code = ord(ch)
        if 0xA1 <= code <= 0xBF:
            return True
        if 0xC0 <= code <= 0xFF and ch not in VIETNAMESE_LETTERS:
            odd += 1
    return odd >= 2


def legacy_encoded(value: str) -> bool:
    """True when a text cell holds TCVN3/VNI bytes shown as Latin-1 (e.g. "§µ N½ng")."""
    return not value.isascii() and _legacy_chars(value)


# ---------------------------------------------------------------------- csv


def sniff_delimiter(line: str) -> str:
    """`,`, `;` or tab: whichever occurs most often outside quotes in the header line."""
    counts = {",": 0, ";": 0, "\t": 0}
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip(" ,;\t"):
            return line
    return ""


def _read_csv(text: str, *, encoding: str, warnings: list[str], max_rows: int) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(_first_line(text)))
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    line = blank = 0
    try:
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(c.strip() for c in cells):
                blank += 1
                if blank > max_rows + MAX_BLANK_ROWS:
                    raise errors.too_many_rows(max_rows)
                continue
            if header is None:
                header = cells[:MAX_COLUMNS]
                continue
            if len(rows) >= max_rows:
                raise errors.too_many_rows(max_rows)
            rows.append((start, cells[: MAX_COLUMNS + 1]))
    except csv.Error as exc:
        raise errors.ImportRejected(
            f"Không đọc được tệp CSV ở dòng {line + 1}.",
            errors=[
                LineError(line + 1, "", "unreadable_line",
                          f"Dòng không đọc được ({exc}); kiểm tra dấu ngoặc kép.").as_dict()
            ],
            error_count=1,
        ) from exc
    return Table(header=header or [], rows=rows, encoding=encoding, warnings=list(warnings))


# --------------------------------------------------------------------- xlsx


def cell_text(value: Any) -> str:
    """An XLSX cell as text: 12.0 → "12", dates as dd/mm/yyyy, empty → ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return nfc(str(value))


def _trim(cells: Iterable[Any]) -> list[str]:
    out = [cell_text(v) for v in cells]
    while out and not out[-1].strip():
        out.pop()
    return out


def _read_xlsx(data: bytes, *, max_rows: int) -> Table:
    # The sizes a zip declares are not trusted: xlsx.scan streams it once with bounded
    # memory and refuses a bomb before openpyxl builds anything (see app/tabular/xlsx.py).
    limits = xlsx.Limits.for_rows(max_rows)
    xlsx.scan(data, limits)
    book = xlsx.load(data, limits)
    try:
        return _sheet_rows(book, max_rows=max_rows)
    finally:
        book.close()


def _sheet_rows(book: Any, *, max_rows: int) -> Table:
    sheets = list(book.worksheets)
    if not sheets:
        raise errors.UnsupportedFile("Tệp Excel không có trang tính nào.")
    sheet = book.active if book.active in sheets else sheets[0]
    warnings = []
    if len(sheets) > 1:
        warnings.append(f"Tệp có {len(sheets)} trang tính; chỉ đọc trang “{sheet.title}”.")
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    blank = 0
    try:
        for number, values in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1),
                                        start=1):
            cells = _trim(values)
            if not cells:
                blank += 1
                if blank > max_rows + MAX_BLANK_ROWS:
                    raise errors.too_many_rows(max_rows)
                continue
            if header is None:
                header = cells[:MAX_COLUMNS]
            elif len(rows) >= max_rows:
                raise errors.too_many_rows(max_rows)
            else:
                rows.append((number, cells))
    except (errors.TooManyRows, errors.FileTooLarge, errors.WorkbookTooLarge):
        raise
    except Exception as exc:  # a damaged sheet XML
        raise errors.UnsupportedFile("Trang tính trong tệp Excel bị hỏng.") from exc
    return Table(header=header or [], rows=rows, encoding="xlsx", warnings=warnings)
