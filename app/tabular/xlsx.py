"""Checking an uploaded XLSX with bounded work: a zip bomb is refused, not unpacked.

The sizes an archive declares are not trusted. Before openpyxl sees the file, every XML
part is streamed once through a counter of the bytes really decompressed and a C
(expat) scan that keeps only counters: shared strings, cells, the elements of one row or
one string (what openpyxl holds in memory at a time), the longest run between two tags
(a giant text or attribute) and DTDs (entity bombs; XLSX never has one). openpyxl then
reads through the same kind of counter. Whichever cap is met first ends the read with
`workbook_too_large` (413); memory stays at a few chunks plus what the caps allow.
"""

import io
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, Any
from xml.parsers import expat

from app.tabular import errors

MiB = 1024 * 1024
# Real decompressed bytes of all parts together: a 300,000-line roster is ~100 MiB of XML.
MAX_UNPACKED = 256 * MiB
# A part read whole into memory (workbook, styles, theme, content types): small in real files.
MAX_WHOLE_PART = 8 * MiB
MAX_STRINGS_BYTES = 64 * MiB  # the shared-string part (a 300,000-line roster: ~40 MiB)
# Bytes between two "<": a cell holds at most 32,767 characters (Excel's limit).
MAX_RUN = 1 * MiB
# Elements inside one row or one shared string: 16,384 columns × (c, v, is, t) and slack.
MAX_RECORD_ELEMENTS = 70_000
MAX_MEMBERS = 10_000  # entries in the archive (each costs a ZipInfo before anything is read)
STRINGS_PER_ROW = 8  # shared strings allowed per data row the import accepts (plus a floor)
CELLS_PER_ROW = 64  # cells per data row (the sheet's width beyond the columns we keep counts)
FLOOR = 100_000
CHUNK = 64 * 1024


@dataclass
class Limits:
    """How much one workbook may cost, sized from the rows the import accepts."""

    unpacked: int
    whole_part: int
    strings: int
    strings_bytes: int
    cells: int
    record_elements: int = MAX_RECORD_ELEMENTS
    run: int = MAX_RUN
    members: int = MAX_MEMBERS

    @classmethod
    def for_rows(cls, max_rows: int) -> "Limits":
        """The limits for an import of up to `max_rows` data rows."""
        return cls(
            unpacked=MAX_UNPACKED,
            whole_part=MAX_WHOLE_PART,
            strings=FLOOR + STRINGS_PER_ROW * max_rows,
            strings_bytes=MAX_STRINGS_BYTES,
            cells=FLOOR + CELLS_PER_ROW * max_rows,
        )


def too_large(what: str, limit: int) -> errors.WorkbookTooLarge:
    """The 413 naming which part of the workbook went over which limit."""
    return errors.WorkbookTooLarge(
        f"Tệp Excel quá lớn khi giải nén ({what}); hãy chia tệp hoặc lưu thành CSV UTF-8.",
        part=what,
        limit=limit,
    )


class Meter:
    """Real decompressed bytes and parsed cells of one workbook, against its limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.unpacked = 0
        self.cells = 0

    def add_bytes(self, count: int) -> None:
        """Count bytes just decompressed; refuse past the limit."""
        self.unpacked += count
        if self.unpacked > self.limits.unpacked:
            raise too_large("dữ liệu nén", self.limits.unpacked)

    def add_cells(self, count: int) -> None:
        """Count cells just parsed; refuse past the limit."""
        self.cells += count
        if self.cells > self.limits.cells:
            raise too_large("số ô", self.limits.cells)


class _MeteredPart(io.RawIOBase):
    """A zip member that counts what it really decompresses; a whole read has a smaller cap."""

    def __init__(self, inner: IO[bytes], meter: Meter) -> None:
        super().__init__()
        self._inner = inner
        self._meter = meter

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self._read_whole()
        data = self._inner.read(size)
        self._meter.add_bytes(len(data))
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _read_whole(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while chunk := self._inner.read(CHUNK):
            self._meter.add_bytes(len(chunk))
            total += len(chunk)
            if total > self._meter.limits.whole_part:
                raise too_large("một phần của tệp", self._meter.limits.whole_part)
            parts.append(chunk)
        return b"".join(parts)

    def close(self) -> None:
        self._inner.close()
        super().close()


class MeteredZip(zipfile.ZipFile):
    """A ZipFile whose members are read through the workbook's meter."""

    meter: Meter

    def open(self, name: Any, mode: Any = "r", pwd: Any = None, **kwargs: Any) -> Any:
        inner = super().open(name, mode, pwd, **kwargs)
        return _MeteredPart(inner, self.meter) if mode == "r" else inner


def open_archive(data: bytes, meter: Meter) -> MeteredZip:
    """The archive of an upload, its reads counted; a damaged zip is `unsupported_file`."""
    try:
        archive = MeteredZip(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise errors.UnsupportedFile("Tệp Excel bị hỏng (không mở được tệp nén .xlsx).") from exc
    archive.meter = meter
    return archive


# ------------------------------------------------------------------ the scan

# Elements whose subtree openpyxl builds whole before clearing it, by root element:
# a worksheet's <row> (depth 3) and a shared-string table's <si> (depth 2).
_RECORD_DEPTH = {"worksheet": 3, "sst": 2}
_XML_SUFFIXES = (".xml", ".rels", ".vml")


class _PartScan:
    """Counters of one XML part, fed by expat; raises as soon as a cap is passed."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        self.depth = 0
        self.root = ""
        self.record_depth = 0
        self.in_record = 0
        self.strings = 0
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.StartDoctypeDeclHandler = self.doctype
        self.parser.EntityDeclHandler = self.doctype

    def doctype(self, *_: Any) -> None:
        raise too_large("khai báo DTD", 0)

    def start(self, name: str, _attrs: Any) -> None:
        self.depth += 1
        local = name.rpartition(" ")[2]
        if self.depth == 1:
            self.root = local
            self.record_depth = _RECORD_DEPTH.get(local, 0)
        if self.record_depth and self.depth > self.record_depth:
            self.in_record += 1
            if self.in_record > self.meter.limits.record_elements:
                raise too_large("số phần tử của một dòng", self.meter.limits.record_elements)
        if local == "c" and self.root == "worksheet":
            self.meter.add_cells(1)
        elif local == "si" and self.root == "sst" and self.depth == 2:
            self.strings += 1
            if self.strings > self.meter.limits.strings:
                raise too_large("số chuỗi dùng chung", self.meter.limits.strings)

    def end(self, _name: str) -> None:
        if self.depth == self.record_depth:
            self.in_record = 0
        self.depth -= 1

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        try:
            self.parser.Parse(chunk, final)
        except expat.ExpatError as exc:
            raise errors.UnsupportedFile("Tệp Excel có phần XML bị hỏng.") from exc


def _longest_run(chunk: bytes, run: int) -> tuple[int, int]:
    """The longest stretch without "<" ending in or inside `chunk`, and the open one after it."""
    pieces = chunk.split(b"<")
    if len(pieces) == 1:
        return run + len(chunk), run + len(chunk)
    inner = max((len(p) for p in pieces[1:-1]), default=0)
    return max(run + len(pieces[0]), inner, len(pieces[-1])), len(pieces[-1])


def _scan_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, meter: Meter) -> None:
    scan = _PartScan(meter)
    run = size = 0
    limits = meter.limits
    with archive.open(info) as member:
        while chunk := member.read(CHUNK):
            size += len(chunk)
            meter.add_bytes(len(chunk))
            if scan.root == "sst" and size > limits.strings_bytes:
                raise too_large("bảng chuỗi dùng chung", limits.strings_bytes)
            # A giant text or attribute has no "<" for a long stretch: expat would buffer it.
            longest, run = _longest_run(chunk, run)
            if longest > limits.run:
                raise too_large("một ô hoặc thuộc tính quá dài", limits.run)
            scan.feed(chunk)
    scan.feed(b"", final=True)


_EXCEL_COMPRESSION = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})


def scan(data: bytes, limits: Limits) -> None:
    """Stream every XML part of an XLSX once with bounded memory; refuse what passes a cap."""
    if data.count(b"PK\x01\x02") > limits.members:  # central directory entries, before parsing
        raise too_large("số phần của tệp nén", limits.members)
    meter = Meter(limits)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                # Excel writes stored or deflated members only; any other method (one that
                # zipfile cannot even open, such as Deflate64) is a hostile or broken file.
                if info.compress_type not in _EXCEL_COMPRESSION:
                    raise zipfile.BadZipFile(f"compression method {info.compress_type}")
                if info.filename.lower().endswith(_XML_SUFFIXES):
                    _scan_part(archive, info, meter)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise errors.UnsupportedFile("Tệp Excel bị hỏng (không mở được tệp nén .xlsx).") from exc


def load(data: bytes, limits: Limits) -> Any:
    """The workbook in openpyxl's read-only mode, every part it reads counted by a meter."""
    # Imported here: openpyxl takes ~0.2 s to import and only this path needs it.
    from openpyxl.reader.excel import ExcelReader

    archive = open_archive(data, Meter(limits))
    try:
        reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
        reader.archive.close()
        reader.archive, reader.valid_files = archive, archive.namelist()
        reader.read()
    except (errors.WorkbookTooLarge, errors.UnsupportedFile):
        archive.close()
        raise
    except Exception as exc:  # openpyxl raises many types for a damaged package
        archive.close()
        raise errors.UnsupportedFile("Tệp Excel bị hỏng hoặc không đọc được.") from exc
    return reader.wb
