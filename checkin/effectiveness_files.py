"""The effectiveness report as files: CSV (one level) and XLSX (every level and the
questions most often answered wrong), Vietnamese headers, formula-safe (app.tabular).

Percentages are written as numbers with one decimal (a comma in the CSV, as Vietnamese
Excel expects), the gain g with three; an empty cell means "cannot be computed".
"""

import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from app.tabular import export, sheet
from app.text import format_number
from checkin.effectiveness import EffectReport, WrongQuestion
from checkin.effectiveness_rows import EffectRow, Figures

TOTAL_LABEL = "Tổng cộng"
FIGURE_HEADERS = [
    "Điểm đầu vào TB", "Điểm đầu ra TB", "Thay đổi (điểm)", "Chỉ số tiến bộ g",
    "Số người làm cả hai bài (có mã)", "Thay đổi theo cặp (điểm)", "Số lượt đánh giá",
    "Mức hài lòng (1–5)",
]
WRONG_HEADERS = ["Bài", "Câu", "Nội dung câu hỏi", "Số trả lời", "Số trả lời sai",
                 "Tỷ lệ sai (%)", "Phương án sai được chọn nhiều nhất", "Số lần chọn"]
LEVEL_SHEETS = (("site", "Điểm cầu"), ("hub", "Cụm điểm cầu"), ("province", "Tỉnh, thành"))


def _dec(value: float | None, decimals: int = 1) -> str:
    return "" if value is None else format_number(value, decimals)


def headers(report: EffectReport, level: str) -> list[str]:
    """The columns of a level: where the row is, present, answers per form, the figures."""
    head = (["Mã điểm cầu", "Tên điểm cầu", "Loại", "Cấp tỉnh/thành"] if level == "site"
            else ["Mã điểm cầu", "Tên", "Số điểm cầu"])
    head.append("Có mặt")
    for form in report.forms:
        head += [f"{form.title}: số trả lời", f"{form.title}: tỷ lệ trả lời (%)"]
    return head + FIGURE_HEADERS


def _where(row: EffectRow | None, level: str) -> list[Any]:
    if row is None:
        return ["", TOTAL_LABEL, "", ""] if level == "site" else ["", TOTAL_LABEL]
    if level == "site":
        return [row.code or "", row.name, row.kind_label, row.group]
    return [row.code or "", row.name]


def _csv_figures(report: EffectReport, f: Figures, level: str) -> list[export.CsvValue]:
    cells: list[export.CsvValue] = [] if level == "site" else [f.sites]
    cells.append(f.present)
    for form in report.forms:
        cells += [f.answers.get(form.id, 0), _dec(f.participation(form.id))]
    return [*cells, _dec(f.pre_mean), _dec(f.post_mean), _dec(f.change), _dec(f.gain, 3),
                    f.pairs, _dec(f.paired_change), f.rating_count, _dec(f.satisfaction, 2)]


def csv_rows(report: EffectReport, level: str) -> Iterator[Sequence[export.CsvValue]]:
    """The rows of one level (header first, the total row last)."""
    yield headers(report, level)
    for row in report.level(level):
        yield [*_where(row, level), *_csv_figures(report, row.figures, level)]
    yield [*_where(None, level), *_csv_figures(report, report.totals, level)]


def _wrong_cells(test: str, w: WrongQuestion) -> list[Any]:
    return [test, w.position, w.text, w.respondents, w.wrong, w.wrong_share,
            w.top_wrong or "", w.top_wrong_count]


def _xlsx_figures(ws: WriteOnlyWorksheet, report: EffectReport, f: Figures, level: str,
                  bold: bool) -> list[Any]:
    def num(value: Any, fmt: str = sheet.INT) -> Any:
        return sheet.cell(ws, value, fmt, bold)

    cells = [] if level == "site" else [num(f.sites)]
    cells.append(num(f.present))
    for form in report.forms:
        cells += [num(f.answers.get(form.id, 0)), num(f.participation(form.id), "0.0")]
    return [*cells, num(f.pre_mean, "0.0"), num(f.post_mean, "0.0"), num(f.change, "0.0"),
                    num(f.gain, "0.000"), num(f.pairs), num(f.paired_change, "0.0"),
                    num(f.rating_count), num(f.satisfaction, "0.00")]


def _level_sheet(ws: WriteOnlyWorksheet, report: EffectReport, level: str) -> None:
    titles = headers(report, level)
    sheet.header(ws, titles, [14, 40] + [14] * (len(titles) - 2))
    for row in report.level(level):
        ws.append(export.xlsx_row(ws, [*_where(row, level),
                                       *_xlsx_figures(ws, report, row.figures, level, False)]))
    total = [sheet.cell(ws, v, bold=True) for v in _where(None, level)]
    ws.append(export.xlsx_row(ws, [*total, *_xlsx_figures(ws, report, report.totals, level,
                                                          True)]))


def xlsx_bytes(report: EffectReport) -> bytes:
    """The report as a workbook: a sheet per level, and the questions most answered wrong."""
    book = Workbook(write_only=True)
    for level, title in LEVEL_SHEETS:
        _level_sheet(book.create_sheet(title), report, level)
    ws = book.create_sheet("Câu sai nhiều")
    sheet.header(ws, WRONG_HEADERS, [18, 8, 60, 12, 14, 12, 40, 12])
    for test, found in (("Đầu vào", report.wrong_pre), ("Đầu ra", report.wrong_post)):
        for w in found:
            ws.append(export.xlsx_row(ws, _wrong_cells(test, w)))
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as out:
        book.save(out)
        out.seek(0)
        return out.read()


def file_stem(report: EffectReport, level: str = "site") -> str:
    """bao-cao-hieu-qua-<conference>[-<level>][-<site name>] (app.disposition makes it safe)."""
    stem = f"bao-cao-hieu-qua-{report.conference_id}"
    if level != "site":
        stem += f"-{level}"
    if report.under_name:
        stem += "-" + report.under_name[:60]
    return stem
