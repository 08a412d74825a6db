"""Zip bombs and hostile workbooks: refused with `workbook_too_large`, in bounded memory."""

import io
import os
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator

import openpyxl
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.tabular import errors, reader, xlsx
from tests.conftest import Tree

MiB = 1024 * 1024
SST = "xl/sharedStrings.xml"
SHEET = "xl/worksheets/sheet1.xml"
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _base() -> bytes:
    """A real workbook (openpyxl) with shared strings, to graft hostile parts onto."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["mã", "tên"])
    sheet.append(["A", "Điểm cầu A"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _graft(parts: dict[str, Callable[[], Iterator[bytes]]], *, pad: int = 0) -> bytes:
    """The base workbook with some parts replaced by streamed content (and stored padding)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_base())) as src, zipfile.ZipFile(
        out, "w", compression=zipfile.ZIP_DEFLATED
    ) as dst:
        for info in src.infolist():
            if info.filename not in parts:
                body = src.read(info.filename)
                dst.writestr(info, _typed(info.filename, body) if SST in parts else body)
        for name, chunks in parts.items():
            with dst.open(name, "w", force_zip64=True) as f:
                for chunk in chunks():
                    f.write(chunk)
        if pad:
            dst.writestr(zipfile.ZipInfo("xl/media/image1.png"), os.urandom(pad))
    return out.getvalue()


def _typed(name: str, body: bytes) -> bytes:
    """[Content_Types].xml naming the shared-string part, so openpyxl reads it too."""
    if name != "[Content_Types].xml":
        return body
    return body.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType='
                        b'"application/vnd.openxmlformats-officedocument.spreadsheetml.'
                        b'sharedStrings+xml"/></Types>')


def _strings(count: int, text: bytes = b"x") -> Callable[[], Iterator[bytes]]:
    def chunks() -> Iterator[bytes]:
        yield f"<sst {NS}>".encode()
        block = b"<si><t>" + text + b"</t></si>"
        for _ in range(count // 65_536):
            yield block * 65_536
        yield block * (count % 65_536) + b"</sst>"
    return chunks


def _sheet(body: bytes) -> Callable[[], Iterator[bytes]]:
    def chunks() -> Iterator[bytes]:
        yield f"<worksheet {NS}><sheetData>".encode() + body + b"</sheetData></worksheet>"
    return chunks


def _limits(**changes: int) -> xlsx.Limits:
    limits = xlsx.Limits.for_rows(1_000)
    for key, value in changes.items():
        setattr(limits, key, value)
    return limits


def _refused(data: bytes, limits: xlsx.Limits) -> errors.WorkbookTooLarge:
    with pytest.raises(errors.WorkbookTooLarge) as info:
        xlsx.scan(data, limits)
    return info.value


def test_a_real_workbook_passes_the_scan() -> None:
    xlsx.scan(_base(), _limits())
    table = reader.read_table(_base(), "a.xlsx", max_rows=10)
    assert table.rows == [(2, ["A", "Điểm cầu A"])]


def test_real_decompressed_bytes_are_counted_not_the_declared_size() -> None:
    data = _graft({SST: _strings(200_000, b"y" * 20)})  # ~5.6 MiB real, tiny compressed
    assert _refused(data, _limits(unpacked=2 * MiB)).extra["limit"] == 2 * MiB


def test_a_member_declaring_less_than_it_holds_is_refused() -> None:
    body = b"".join(_strings(200_000, b"y" * 20)())
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_base())) as src, zipfile.ZipFile(
        out, "w", compression=zipfile.ZIP_DEFLATED
    ) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, _typed(info.filename, src.read(info)))
        dst.writestr(SST, body)
    raw = bytearray(out.getvalue())
    entry = raw.index(b"PK\x01\x02", raw.index(b"PK\x01\x02"))
    while raw[entry + 46: entry + 46 + len(SST)] != SST.encode():
        entry = raw.index(b"PK\x01\x02", entry + 4)
    raw[entry + 24: entry + 28] = (1024).to_bytes(4, "little")  # declared size: 1 KiB
    with pytest.raises((errors.WorkbookTooLarge, errors.UnsupportedFile)):
        xlsx.scan(bytes(raw), _limits())


@pytest.mark.parametrize("method", [zipfile.ZIP_LZMA, 9])  # 9: Deflate64, zipfile cannot
def test_a_member_compressed_as_excel_never_does_is_refused(method: int) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_base())) as src, zipfile.ZipFile(
        out, "w", compression=zipfile.ZIP_DEFLATED
    ) as dst:
        for info in src.infolist():
            odd = info.filename == SHEET
            dst.writestr(info.filename, src.read(info),
                         compress_type=zipfile.ZIP_LZMA if odd else zipfile.ZIP_DEFLATED)
    raw = bytearray(out.getvalue())
    if method != zipfile.ZIP_LZMA:  # rewrite the method in both headers of that member
        for marker, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
            at = raw.index(marker)
            while True:
                name_at = at + (30 if marker == b"PK\x03\x04" else 46)
                if raw[name_at: name_at + len(SHEET)] == SHEET.encode():
                    raw[at + offset: at + offset + 2] = method.to_bytes(2, "little")
                    break
                at = raw.index(marker, at + 4)
    with pytest.raises(errors.UnsupportedFile):
        xlsx.scan(bytes(raw), _limits())


def test_shared_strings_are_capped_by_count() -> None:
    error = _refused(_graft({SST: _strings(5_000)}), _limits(strings=1_000))
    assert error.code == "workbook_too_large" and error.extra["limit"] == 1_000


def test_shared_string_part_is_capped_by_size() -> None:
    data = _graft({SST: _strings(3_000, b"z" * 1_000)})  # 3 MB of text in few strings
    assert _refused(data, _limits(strings_bytes=1 * MiB)).extra["limit"] == 1 * MiB


def test_cells_are_capped_even_past_the_columns_we_keep() -> None:
    row = b'<row r="1">' + b"<c><v>1</v></c>" * 5_000 + b"</row>"
    assert _refused(_graft({SHEET: _sheet(row * 4)}), _limits(cells=10_000)).extra["limit"]


def test_one_row_may_not_hold_a_million_elements() -> None:
    row = b'<row r="1">' + b"<c><v>1</v></c>" * 40_000 + b"</row>"
    error = _refused(_graft({SHEET: _sheet(row)}), _limits(cells=10**9))
    assert error.extra["limit"] == xlsx.MAX_RECORD_ELEMENTS


def test_a_giant_text_is_refused_before_it_is_buffered() -> None:
    cell = b'<row r="1"><c t="inlineStr"><is><t>' + b"a" * (3 * MiB) + b"</t></is></c></row>"
    assert _refused(_graft({SHEET: _sheet(cell)}), _limits()).extra["limit"] == xlsx.MAX_RUN


def test_a_dtd_is_refused() -> None:
    doc = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
           b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
           b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           b"<si><t>&b;</t></si></sst>")
    _refused(_graft({SST: lambda: iter([doc])}), _limits())


def test_too_many_archive_members_are_refused_before_parsing() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for i in range(200):
            z.writestr(f"x/{i}.bin", b"")
    assert _refused(out.getvalue(), _limits(members=100)).extra["limit"] == 100


def test_a_part_read_whole_is_capped() -> None:
    styles = b"<styleSheet " + NS.encode() + b">" + b"<x/>" * (3 * MiB) + b"</styleSheet>"
    data = _graft({"xl/styles.xml": lambda: iter([styles])})
    with pytest.raises(errors.WorkbookTooLarge):
        xlsx.load(data, _limits(whole_part=1 * MiB))


# ------------------------------------------------------- the 20 MB workbook


def _bomb_20mb() -> bytes:
    """~19.5 MB on the wire: 6 million shared strings (~96 MB of XML, well under the old
    400 MiB check; openpyxl would hold millions of objects) plus stored padding."""
    data = _graft({SST: _strings(6_000_000)}, pad=19 * MiB)
    assert 19 * MiB < len(data) < 20 * MiB
    return data


def test_a_20_mb_bomb_is_refused_with_a_code_in_bounded_memory(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, settings: Settings
) -> None:
    if not settings.is_sqlite:
        pytest.skip("one backend is enough for the memory check")
    data = _bomb_20mb()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        r = client.post(f"/api/v1/conferences/{tree.cid}/sites/import", headers=admin_headers,
                        files={"file": ("bom.xlsx", data, "application/octet-stream")})
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "workbook_too_large"
    # The upload itself is ~20 MB and the server keeps a few copies of it; the bomb adds ~nothing.
    print(f"peak traced memory during the request: {peak / MiB:.1f} MiB")
    assert peak < 120 * MiB
