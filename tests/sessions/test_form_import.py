"""Importing a question bank (sessions/form_import.py): good CSV and XLSX files, the
templates read back, and every kind of bad line reported by line and column with nothing
stored (SQLite and PostgreSQL)."""

import io

import openpyxl
import pytest
from sqlmodel import Session, select

from app.accounts.models import User
from app.errors import AppError
from sessions import form_import, forms
from sessions.form_models import BankQuestion, QuestionBank, QuestionKind
from tests.conftest import Tree

HEADER = "Câu hỏi,Loại,A,B,C,D,Đáp án\n"


def _csv(*lines: str, header: str = HEADER) -> bytes:
    return ("\ufeff" + header + "".join(line + "\n" for line in lines)).encode()


def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_good_csv_becomes_a_bank_in_order(db: Session, tree: Tree, admin: User) -> None:
    data = _csv(
        "Chuyển đổi số bắt đầu từ đâu?,một,Thiết bị,Con người,Phần mềm,,B",
        "Dịch vụ nào trực tuyến?,Nhiều,Khai sinh,Lý lịch,Công chứng,,\"A, B\"",
        "Chọn một mặc định,,Có,Không,,,a",
        "Đánh giá nội dung,đánh giá,,,,,",
        "Đề xuất,tự luận,,,,,",
    )
    done = form_import.import_bank(db, conference_id=tree.cid, filename="kiem-tra.csv",
                                   data=data, actor=admin, title="")
    assert done.report.created == 5 and done.report.counts == {
        "single": 2, "multi": 1, "rating": 1, "text": 1}
    bank = forms.get_bank(db, bank_id=done.bank.id or 0, actor=admin)
    assert bank.title == "kiem-tra"  # no title typed: the file's name
    assert [q.kind for q in bank.questions] == [
        QuestionKind.single, QuestionKind.multi, QuestionKind.single, QuestionKind.rating,
        QuestionKind.text]
    assert [o.correct for o in bank.questions[0].options] == [False, True, False]
    assert [o.letter for o in bank.questions[1].options if o.correct] == ["A", "B"]
    assert [o.correct for o in bank.questions[2].options] == [True, False]
    assert bank.questions[3].options == []


def test_a_good_xlsx_with_loose_headers_becomes_a_bank(
    db: Session, tree: Tree, admin: User
) -> None:
    data = _xlsx([
        ["CAU HOI", "loai", "a", "b", "c", "dap an"],
        ["Thủ đô của Việt Nam?", "single", "Hà Nội", "Huế", 2025, "A"],
        ["Chọn các số chẵn", "multi", 2, 3, 4, "AC"],
    ])
    done = form_import.import_bank(db, conference_id=tree.cid, filename="bo.xlsx", data=data,
                                   actor=admin, title="Bộ từ Excel")
    bank = forms.get_bank(db, bank_id=done.bank.id or 0, actor=admin)
    assert bank.title == "Bộ từ Excel"
    assert [o.label for o in bank.questions[1].options] == ["2", "3", "4"]
    assert [o.correct for o in bank.questions[1].options] == [True, False, True]


@pytest.mark.parametrize("template", ["csv", "xlsx"])
def test_the_templates_import_as_they_are(
    db: Session, tree: Tree, admin: User, template: str
) -> None:
    data = form_import.sample_csv() if template == "csv" else form_import.sample_xlsx()
    done = form_import.import_bank(db, conference_id=tree.cid, filename=f"mau.{template}",
                                   data=data, actor=admin)
    assert done.report.created == len(form_import.TEMPLATE_ROWS)


def test_every_bad_line_is_reported_and_nothing_is_stored(
    db: Session, tree: Tree, admin: User
) -> None:
    data = _csv(
        "Câu đúng,một,Có,Không,,,A",                 # 2: fine
        ",một,Có,Không,,,A",                          # 3: no question
        "Loại lạ,chọn bừa,Có,Không,,,A",              # 4: unknown kind
        "Một phương án,một,Chỉ một,,,,A",             # 5: too few options
        "Thiếu B,nhiều,Có,,Không,,A",                 # 6: a gap in the options
        "Đánh giá có phương án,đánh giá,Tốt,,,,",     # 7: options on a rating
        "Tự luận có đáp án,tự luận,,,,,A",            # 8: an answer on a text
        "Đáp án lạ,một,Có,Không,,,D",                 # 9: no option D
        "Hai đáp án,một,Có,Không,,,\"A,B\"",          # 10: two answers for a single choice
        "Trùng,nhiều,Có,có,,,",                       # 11: the same option twice
    )
    with pytest.raises(AppError) as exc:
        form_import.import_bank(db, conference_id=tree.cid, filename="bo.csv", data=data,
                                actor=admin, title="Hỏng")
    assert exc.value.code == "import_invalid" and exc.value.status_code == 422
    found = [(e["line"], e["column"], e["code"]) for e in exc.value.extra["errors"]]
    assert found == [
        (3, "text", "required"),
        (4, "kind", "unknown_kind"),
        (5, "B", "too_few_options"),
        (6, "B", "option_missing"),
        (7, "A", "options_not_allowed"),
        (8, "answer", "answer_not_allowed"),
        (9, "answer", "answer_unknown"),
        (10, "answer", "answer_too_many"),
        (11, "B", "duplicate_option"),
    ]
    headers = {e["column"]: e["header"] for e in exc.value.extra["errors"]}
    assert headers["answer"] == "Đáp án" and headers["kind"] == "Loại"
    assert "chưa nhập câu hỏi nào" in exc.value.detail
    assert db.exec(select(QuestionBank)).all() == [] and db.exec(select(BankQuestion)).all() == []


@pytest.mark.parametrize(("data", "filename", "code"), [
    (b"\xef\xbb\xbfLo\xe1\xba\xa1i,A\nm\xe1\xbb\x99t,C\xc3\xb3\n", "bo.csv", "missing_columns"),
    (HEADER.encode(), "bo.csv", "empty_file"),
    (b"%PDF-1.4", "bo.pdf", "unsupported_file"),
    (_csv(*["Câu,một,Có,Không,,,A"] * 101), "bo.csv", "too_many_rows"),
])
def test_a_file_that_is_not_a_bank_is_refused_whole(
    db: Session, tree: Tree, admin: User, data: bytes, filename: str, code: str
) -> None:
    with pytest.raises(AppError) as exc:
        form_import.import_bank(db, conference_id=tree.cid, filename=filename, data=data,
                                actor=admin)
    assert exc.value.code == code
    assert db.exec(select(QuestionBank)).all() == []


def test_only_the_central_office_imports(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    with pytest.raises(AppError) as exc:
        form_import.import_bank(db, conference_id=tree.cid, filename="bo.csv",
                                data=_csv("Câu,một,Có,Không,,,A"), actor=coordinator_a)
    assert exc.value.code == "admin_only"
