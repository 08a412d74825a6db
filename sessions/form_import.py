"""Use case: import a question bank from a CSV/XLSX file, all or none.

One row per question: "Câu hỏi" (required), "Loại" (một / nhiều / đánh giá / tự luận, or
single / multi / rating / text; empty: một), options in columns "A" to "J", and "Đáp án"
(the correct letters: "B", "A,C"). Headers are matched forgiving case and accents, as the
roster import does (`app/tabular`). Every row is checked before anything is written;
a bad line anywhere and nothing is imported, every bad line is reported with its line
number and column. Whether the bank suits a test or a survey is decided when a form
asks it (`forms.check_fits`): a bank without answers is a survey's.
"""

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import PurePath

from openpyxl import Workbook
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.tabular import errors as tabular_errors
from app.tabular import export, reader, sheet
from app.tabular.header import ColumnMap, Columns, header_key, read_file
from app.tabular.report import ImportReport, LineError, reject, shown
from app.text import TextError, clean_text
from endpoints import service as endpoints_service
from sessions import forms
from sessions.form_models import (
    CHOICE_KINDS,
    MAX_OPTION_LABEL,
    MAX_OPTIONS,
    MAX_QUESTION_TEXT,
    MAX_QUESTIONS,
    MAX_TITLE,
    BankCreate,
    OptionIn,
    QuestionBank,
    QuestionIn,
    QuestionKind,
    option_letter,
)

LETTERS = tuple(option_letter(i) for i in range(1, MAX_OPTIONS + 1))  # A … J
COLUMN_LABELS = {"text": "Câu hỏi", "kind": "Loại", **{x: x for x in LETTERS},
                 "answer": "Đáp án"}
BANK_COLUMNS = Columns(
    aliases={
        "text": ("câu hỏi", "cau hoi", "noi dung", "noi dung cau hoi", "question", "text"),
        "kind": ("loại", "loai", "loai cau hoi", "kind", "type"),
        **{x: (x, f"phuong an {x}", f"option {x}") for x in LETTERS},
        "answer": ("đáp án", "dap an", "dap an dung", "answer", "correct"),
    },
    required=("text",),
    labels=COLUMN_LABELS,
    example="Câu hỏi, Loại, A, B, C, D, Đáp án",
)
KIND_WORDS: dict[str, QuestionKind] = {
    **dict.fromkeys(("", "mot", "chon mot", "mot dap an", "single"), QuestionKind.single),
    **dict.fromkeys(("nhieu", "chon nhieu", "nhieu dap an", "multi", "multiple"),
                    QuestionKind.multi),
    **dict.fromkeys(("danh gia", "danh gia 1 5", "rating", "thang diem"), QuestionKind.rating),
    **dict.fromkeys(("tu luan", "tra loi ngan", "text"), QuestionKind.text),
}
_ANSWER_SPLIT = re.compile(r"[\s,;/.]+")


@dataclass
class _Row:
    line: int
    raw: dict[str, str]
    headers: dict[str, str]
    problems: list[LineError] = field(default_factory=list)

    def err(self, column: str, code: str, message: str) -> None:
        self.problems.append(LineError(
            self.line, column, code, message, header=self.headers.get(column, column),
            value=shown(self.raw.get(column, ""))))


def _text(row: _Row, column: str, max_length: int) -> str | None:
    value = row.raw.get(column, "")
    try:
        cleaned = clean_text(value, max_length=max_length, field=COLUMN_LABELS[column])
    except TextError as exc:
        row.err(column, "required" if not value.strip() else "invalid_text", str(exc))
        return None
    if reader.legacy_encoded(cleaned):
        row.err(column, "legacy_encoding", "Chữ gõ bằng bảng mã cũ (TCVN3/VNI); hãy chuyển "
                "sang Unicode (ví dụ bằng Unikey) rồi nhập lại")
        return None
    return cleaned


def _options(row: _Row, kind: QuestionKind | None) -> list[str]:
    filled = [x for x in LETTERS if row.raw.get(x, "").strip()]
    if kind is not None and kind not in CHOICE_KINDS:
        if filled:
            row.err(filled[0], "options_not_allowed",
                    "Câu đánh giá hoặc tự luận không có phương án")
        return []
    if kind is None:
        return []
    labels: list[str] = []
    for at, x in enumerate(LETTERS[:len(filled)]):
        if x != filled[at]:
            row.err(x, "option_missing", f"Thiếu phương án {x} (các phương án phải liền nhau "
                    "từ cột A)")
            return []
        label = _text(row, x, MAX_OPTION_LABEL)
        if label is not None:
            if label.casefold() in (seen.casefold() for seen in labels):
                row.err(x, "duplicate_option", f"Phương án {x} trùng với một phương án khác")
            labels.append(label)
    if len(filled) < 2:
        row.err(LETTERS[len(filled)], "too_few_options",
                "Câu chọn phương án cần ít nhất 2 phương án (cột A, B)")
    return labels


def _answer(row: _Row, kind: QuestionKind | None, count: int) -> set[int]:
    raw = row.raw.get("answer", "").strip()
    if not raw or kind is None:
        return set()
    if kind not in CHOICE_KINDS:
        row.err("answer", "answer_not_allowed", "Câu đánh giá hoặc tự luận không có đáp án")
        return set()
    parts = [p for p in _ANSWER_SPLIT.split(raw.upper()) if p]
    if len(parts) == 1 and len(parts[0]) > 1 and parts[0].isalpha():
        parts = list(parts[0])  # "AC"
    picked = {LETTERS.index(p) for p in parts if p in LETTERS[:count]}
    if len(picked) != len(set(parts)):
        row.err("answer", "answer_unknown", f"Đáp án phải là chữ cái của phương án có trong "
                f"câu (A–{LETTERS[max(count, 1) - 1]}), ví dụ “B” hoặc “A,C”")
    elif kind == QuestionKind.single and len(picked) > 1:
        row.err("answer", "answer_too_many", "Câu chọn một chỉ có một đáp án đúng")
    return picked


def _check_row(line: int, cells: list[str], cmap: ColumnMap) -> tuple[QuestionIn | None,
                                                                     list[LineError]]:
    raw = {name: (cells[i] if i < len(cells) else "") for name, i in cmap.index.items()}
    row = _Row(line, raw, cmap.headers)
    text = _text(row, "text", MAX_QUESTION_TEXT)
    kind = KIND_WORDS.get(header_key(raw.get("kind", "")))
    if kind is None:
        row.err("kind", "unknown_kind", "Loại câu hỏi phải là: một, nhiều, đánh giá hoặc tự luận")
    labels = _options(row, kind)
    correct = _answer(row, kind, sum(1 for x in LETTERS if raw.get(x, "").strip()))
    if row.problems or text is None or kind is None:
        return None, row.problems
    return QuestionIn(kind=kind, text=text, options=[
        OptionIn(label=label, correct=at in correct) for at, label in enumerate(labels)
    ]), []


def _title(given: str, filename: str) -> str:
    """The bank's title: the one typed, else the file's name without its extension."""
    title = given.strip() or PurePath(filename.replace("\\", "/")).stem or "Bộ câu hỏi"
    try:
        return clean_text(title[:MAX_TITLE], max_length=MAX_TITLE, field="Tiêu đề")
    except TextError:
        return "Bộ câu hỏi"


@dataclass(frozen=True)
class BankImport:
    """An accepted import: the new bank and what was read."""

    bank: QuestionBank
    report: ImportReport


def import_bank(
    db: Session, *, conference_id: int, filename: str, data: bytes, actor: User,
    title: str = "", max_bytes: int = reader.DEFAULT_MAX_BYTES,
) -> BankImport:
    """A new bank from a CSV/XLSX file, one question a row; every bad line is reported
    (`import_invalid`) and nothing is written."""
    accounts_service.require_admin(actor)
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    if len(data) > max_bytes:
        raise tabular_errors.file_too_large(max_bytes)
    table, cmap, warnings = read_file(
        data, filename, BANK_COLUMNS, max_rows=MAX_QUESTIONS,
        header_only="Tệp chỉ có dòng tiêu đề, không có câu hỏi nào.")
    db.rollback()  # nothing written yet
    questions: list[QuestionIn] = []
    problems: list[LineError] = []
    for line, cells in table.rows:
        question, errs = _check_row(line, cells, cmap)
        problems.extend(errs)
        if question is not None:
            questions.append(question)
    if problems:
        raise reject(problems, warnings, nothing_done="chưa nhập câu hỏi nào")
    bank = forms.create_bank(db, conference_id=conference_id, actor=actor,
                             data=BankCreate(title=_title(title, filename), questions=questions))
    kinds: dict[str, int] = {}
    for q in questions:
        kinds[q.kind.value] = kinds.get(q.kind.value, 0) + 1
    return BankImport(bank, ImportReport(created=len(questions), rows=len(table.rows),
                                         encoding=table.encoding, warnings=warnings,
                                         counts=kinds))


# ---------------------------------------------------------------- templates

TEMPLATE_HEADER = ("Câu hỏi", "Loại", "A", "B", "C", "D", "Đáp án")
TEMPLATE_ROWS = (
    ("Chuyển đổi số cấp xã bắt đầu từ đâu?", "một", "Mua thiết bị", "Con người và thể chế",
     "Xây phần mềm", "Thuê tư vấn", "B"),
    ("Những dịch vụ công nào làm được trực tuyến toàn trình?", "nhiều", "Đăng ký khai sinh",
     "Cấp phiếu lý lịch tư pháp", "Công chứng di chúc", "", "A,B"),
    ("Anh/chị đánh giá nội dung buổi tập huấn", "đánh giá", "", "", "", "", ""),
    ("Đề xuất của anh/chị cho lần tập huấn sau", "tự luận", "", "", "", "", ""),
)


def sample_csv() -> bytes:
    """The CSV template: the headers and one question of each kind (UTF-8 with BOM)."""
    return export.csv_bytes((TEMPLATE_HEADER, *TEMPLATE_ROWS))


def sample_xlsx() -> bytes:
    """The same template as an Excel workbook."""
    book = Workbook(write_only=True)
    ws = book.create_sheet("Câu hỏi")
    sheet.header(ws, TEMPLATE_HEADER, (50, 12, 24, 24, 24, 24, 10))
    for values in TEMPLATE_ROWS:
        ws.append(export.xlsx_row(ws, values))
    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as out:
        book.save(out)
        out.seek(0)
        return out.read()
