"""What an import reports: one error per bad line and cell, or what an accepted file did."""

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from app.tabular import errors
from app.text import format_number

# Errors returned to the caller; the total is always given.
MAX_REPORTED_ERRORS = 2_000


@dataclass(frozen=True)
class LineError:
    """One problem on one line of the file."""

    line: int
    column: str
    code: str
    message: str
    header: str = ""
    value: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form sent in `errors`."""
        return {
            "line": self.line,
            "column": self.column,
            "header": self.header,
            "code": self.code,
            "message": self.message,
            "value": self.value,
        }


@dataclass(frozen=True)
class ImportReport:
    """What an accepted import did; `counts` are the created rows per group (kind, site)."""

    created: int
    rows: int
    encoding: str
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def shown(value: str, limit: int = 80) -> str:
    """A cell as echoed in an error: control characters made visible, long text cut."""
    cut = value[:limit]
    out = "".join(
        f"[U+{ord(ch):04X}]" if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch
        for ch in cut
    )
    return out + ("…" if len(value) > limit else "")


def fixed_phones_warning(count: int) -> str:
    """The warning that `count` phone numbers got back the 0 Excel dropped."""
    return f"Đã thêm số 0 đầu cho {format_number(count)} số điện thoại bị Excel bỏ mất."


def reject(
    problems: list[LineError], warnings: list[str], *, nothing_done: str,
    say_truncated: bool = True,
) -> errors.ImportRejected:
    """The 422 listing the bad lines (the first MAX_REPORTED_ERRORS), line by line.

    `nothing_done` ends the detail ("chưa nhập điểm cầu nào"); `say_truncated` adds how
    many errors are listed when not all are.
    """
    # A whole-line error (no column) comes first on its line, then cells by column name.
    problems.sort(key=lambda p: (p.line, p.column != "", p.column))
    lines = len({p.line for p in problems})
    listed = problems[:MAX_REPORTED_ERRORS]
    detail = (
        f"Tệp có {format_number(len(problems))} lỗi ở {format_number(lines)} dòng; "
        f"{nothing_done}."
    )
    if say_truncated and len(problems) > len(listed):
        detail += f" Hiển thị {format_number(len(listed))} lỗi đầu tiên."
    return errors.ImportRejected(
        detail,
        errors=[p.as_dict() for p in listed],
        error_count=len(problems),
        line_count=lines,
        warnings=warnings,
    )
