"""Line errors and the rejection listing them."""

from app.tabular import report
from app.tabular.report import LineError, reject, shown


def test_shown_makes_control_characters_visible_and_cuts() -> None:
    assert shown("a\x07b") == "a[U+0007]b"
    assert shown("x" * 100, limit=5) == "xxxxx…"


def test_reject_sorts_by_line_whole_line_errors_first() -> None:
    problems = [
        LineError(3, "name", "required", "Thiếu tên"),
        LineError(2, "", "too_many_cells", "Nhiều ô"),
        LineError(2, "code", "required", "Thiếu mã"),
    ]
    exc = reject(problems, ["lưu ý"], nothing_done="chưa nhập gì")
    assert exc.status_code == 422 and exc.code == "import_invalid"
    assert exc.detail == "Tệp có 3 lỗi ở 2 dòng; chưa nhập gì."
    assert [(e["line"], e["column"]) for e in exc.extra["errors"]] == [
        (2, ""), (2, "code"), (3, "name")
    ]
    assert exc.extra["error_count"] == 3 and exc.extra["line_count"] == 2
    assert exc.extra["warnings"] == ["lưu ý"]
    assert exc.extra["errors"][1] == {
        "line": 2, "column": "code", "header": "", "code": "required", "message": "Thiếu mã",
        "value": "",
    }


def test_reject_lists_at_most_the_limit_and_may_say_so() -> None:
    many = [LineError(i, "name", "required", "Thiếu") for i in range(2, 2 + 2_500)]
    exc = reject(list(many), [], nothing_done="chưa nhập điểm cầu nào")
    assert len(exc.extra["errors"]) == report.MAX_REPORTED_ERRORS
    assert exc.detail == (
        "Tệp có 2.500 lỗi ở 2.500 dòng; chưa nhập điểm cầu nào. Hiển thị 2.000 lỗi đầu tiên."
    )
    quiet = reject(list(many), [], nothing_done="chưa nhập đại biểu nào", say_truncated=False)
    assert quiet.detail == "Tệp có 2.500 lỗi ở 2.500 dòng; chưa nhập đại biểu nào."
