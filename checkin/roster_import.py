"""Use case: import a roster from a CSV/XLSX file into sites in the actor's scope, all or none.

Columns: họ và tên, mã điểm cầu (both required), đơn vị, chức vụ, số điện thoại. Every
row is checked before anything is written; the rows are then written through the
roster's bulk path (`checkin.roster.write_attendees`).
"""

import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.accounts.models import User
from app.errors import describe_validation
from app.tabular import errors as tabular_errors
from app.tabular import export, reader
from app.tabular.header import ColumnMap, Columns, read_file
from app.tabular.report import ImportReport, LineError, fixed_phones_warning, reject, shown
from app.text import TextError, clean_text, format_number, restore_phone_zero
from checkin import roster
from checkin.basis import DEFAULT_BASIS, Basis
from checkin.models import AttendeeCreate
from endpoints import service as endpoints_service
from endpoints.models import Participation, Site

Progress = Callable[[int, int], None]
MAX_ROSTER_ROWS = 300_000

COLUMNS = ("full_name", "site_code", "unit", "position", "phone")
COLUMN_LABELS = {
    "full_name": "Họ và tên",
    "site_code": "Mã điểm cầu",
    "unit": "Đơn vị",
    "position": "Chức vụ",
    "phone": "Số điện thoại",
}
_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "full_name": ("full_name", "full name", "ho va ten", "ho ten", "ten", "ten dai bieu",
                  "dai bieu", "name"),
    "site_code": ("site_code", "site code", "ma diem cau", "ma", "diem cau", "ma dc", "site"),
    "unit": ("unit", "don vi", "co quan", "co quan don vi", "noi cong tac"),
    "position": ("position", "chuc vu", "chuc danh"),
    "phone": ("phone", "so dien thoai", "dien thoai", "sdt", "so dt"),
}
ROSTER_COLUMNS = Columns(
    aliases=_HEADER_ALIASES,
    required=("full_name", "site_code"),
    labels=COLUMN_LABELS,
    example="họ và tên, mã điểm cầu, đơn vị, chức vụ, số điện thoại",
    refuse_repeated=False,
)


def _symbols(value: str) -> bool:
    """True when a name holds emoji or other pictographs (a pasted chat message)."""
    return any(unicodedata.category(ch) in ("So", "Cs", "Co", "Cn") for ch in value)


@dataclass
class _RowCheck:
    line: int
    raw: dict[str, str]
    labels: dict[str, str]
    problems: list[LineError] = field(default_factory=list)

    def err(self, name: str, code: str, message: str) -> None:
        self.problems.append(
            LineError(self.line, name, code, message, header=self.labels.get(name, ""),
                      value=shown(self.raw.get(name, "")))
        )


def _text_problem(check: _RowCheck, name: str, max_length: int) -> str | None:
    value = check.raw.get(name, "")
    label = COLUMN_LABELS[name]
    try:
        cleaned = clean_text(value, max_length=max_length, field=label)
    except TextError as exc:
        code = "required" if not value.strip() else "too_long"
        if value.strip() and "điều khiển" in str(exc):
            code = "control_chars"
        check.err(name, code, str(exc))
        return None
    if reader.legacy_encoded(cleaned):
        check.err(name, "legacy_encoding", "Chữ gõ bằng bảng mã cũ (TCVN3/VNI); hãy chuyển "
                  "sang Unicode (ví dụ bằng Unikey) rồi nhập lại")
        return None
    return cleaned


def _check_row(
    line: int, cells: list[str], cmap: ColumnMap, sites: dict[str, int]
) -> tuple[AttendeeCreate | None, str, list[LineError], bool]:
    raw = {name: (cells[i] if i < len(cells) else "") for name, i in cmap.index.items()}
    check = _RowCheck(line, raw, cmap.headers)
    full_name = _text_problem(check, "full_name", 200)
    if full_name is not None and _symbols(full_name):
        check.err("full_name", "invalid_characters",
                  "Họ và tên có biểu tượng cảm xúc hoặc ký tự không phải chữ")
    code = raw["site_code"].strip()
    site_id = sites.get(code)
    if not code:
        check.err("site_code", "required", "Thiếu mã điểm cầu")
    elif site_id is None:
        check.err("site_code", "unknown_site",
                  f"Không có điểm cầu mã “{code}” trong hội nghị (hoặc ngoài phạm vi của bạn)")
    payload: dict[str, Any] = {"full_name": full_name or "x", "site_id": site_id or 0}
    for name in ("unit", "position"):
        if raw.get(name, "").strip():
            value = _text_problem(check, name, 200)
            if value is not None:
                payload[name] = value
    fixed = False
    if raw.get("phone", "").strip():
        payload["phone"], fixed = restore_phone_zero(raw["phone"].strip())
    data: AttendeeCreate | None = None
    try:
        data = AttendeeCreate.model_validate(payload)
    except ValidationError as exc:
        for described in describe_validation([dict(e) for e in exc.errors()]):
            name = described["field"] or "full_name"
            if name == "phone":
                check.err("phone", "invalid_phone", "Số điện thoại không hợp lệ")
            elif not any(p.column == name for p in check.problems):
                check.err(name, "invalid_value",
                          f"{COLUMN_LABELS.get(name, name)}: {described['message']}")
    return (None if check.problems else data), code, check.problems, fixed


def _site_codes(db: Session, conference_id: int, path: str | None) -> dict[str, int]:
    """Site ids by the code the conference knows them by (its participants only)."""
    query = (
        sa_select(col(Participation.code), col(Site.id))
        .join(Participation, col(Participation.site_id) == col(Site.id))
        .where(col(Participation.conference_id) == conference_id,
               col(Participation.code).is_not(None))
    )
    if path is not None:
        query = query.where(col(Site.path).startswith(path))
    return {r[0]: r[1] for r in db.execute(query).all()}


def example_codes(db: Session, *, conference_id: int, actor: User, limit: int = 2) -> list[str]:
    """A few codes of sites in the actor's scope, deepest first (what a template shows)."""
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    path = roster.scope_path(db, conference_id=conference_id, actor=actor, site_id=None)
    query = (
        sa_select(col(Participation.code))
        .join(Site, col(Participation.site_id) == col(Site.id))
        .where(col(Participation.conference_id) == conference_id,
               col(Participation.code).is_not(None))
        .order_by(col(Participation.path).desc())
        .limit(limit)
    )
    if path is not None:
        query = query.where(col(Site.path).startswith(path))
    return [str(code) for code in db.execute(query).scalars().all()]


def sample_csv(codes: list[str]) -> bytes:
    """The template: Vietnamese headers and two example lines (UTF-8 with BOM for Excel)."""
    codes = codes or ["HCM-BN", "HCM-CG"]
    first, second = codes[0], codes[-1]
    return export.csv_bytes((
        tuple(COLUMN_LABELS[name] for name in COLUMNS),
        ("Nguyễn Văn An", first, "Đảng ủy phường", "Bí thư", "0901 234 567"),
        ("Trần Thị Bình", second, "Ủy ban nhân dân phường", "Phó Chủ tịch", ""),
    ))


@dataclass
class _Checked:
    """The rows that passed, per site code, and what was wrong or fixed."""

    items: list[AttendeeCreate] = field(default_factory=list)
    problems: list[LineError] = field(default_factory=list)
    by_site: dict[str, int] = field(default_factory=dict)
    fixed_phones: int = 0
    repeated: int = 0


def _check_rows(
    table: reader.Table, cmap: ColumnMap, sites: dict[str, int], progress: Progress | None
) -> _Checked:
    out = _Checked()
    seen: set[tuple[str, int]] = set()
    for done, (line, cells) in enumerate(table.rows, start=1):
        item, code, errs, fixed = _check_row(line, cells, cmap, sites)
        out.problems.extend(errs)
        out.fixed_phones += fixed
        if item is not None:
            out.items.append(item)
            out.by_site[code] = out.by_site.get(code, 0) + 1
            key = (item.full_name, item.site_id)
            out.repeated += key in seen
            seen.add(key)
        if progress and (done % 1000 == 0 or done == len(table.rows)):
            progress(done, len(table.rows))
    return out


def import_attendees(
    db: Session,
    *,
    conference_id: int,
    filename: str,
    data: bytes,
    actor: User,
    progress: Progress | None = None,
    max_bytes: int = reader.DEFAULT_MAX_BYTES,
    max_rows: int = MAX_ROSTER_ROWS,
    basis: Basis = DEFAULT_BASIS,
) -> ImportReport:
    """Import a roster (CSV/XLSX: họ và tên, mã điểm cầu, đơn vị, chức vụ, số điện thoại)
    into sites in the actor's scope; every bad line is reported and nothing is written.
    The rows record the actor as who supplied them, and `basis`."""
    clock = time.perf_counter()
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    if len(data) > max_bytes:
        raise tabular_errors.file_too_large(max_bytes)
    table, cmap, warnings = read_file(
        data, filename, ROSTER_COLUMNS, max_rows=max_rows,
        header_only="Tệp chỉ có dòng tiêu đề, không có đại biểu nào.",
    )
    path = roster.scope_path(db, conference_id=conference_id, actor=actor, site_id=None)
    sites = _site_codes(db, conference_id, path)
    db.rollback()  # nothing written yet: release the lock while rows are checked
    checked = _check_rows(table, cmap, sites, progress)
    if checked.problems:
        raise reject(checked.problems, warnings, nothing_done="chưa nhập đại biểu nào",
                     say_truncated=False)
    if checked.fixed_phones:
        warnings.append(fixed_phones_warning(checked.fixed_phones))
    if checked.repeated:
        warnings.append(f"{format_number(checked.repeated)} dòng trùng họ tên và điểm cầu với "
                        "dòng khác (vẫn nhập, vì có thể là người trùng tên).")
    checked_at = time.perf_counter()
    roster.write_attendees(db, conference_id=conference_id, items=checked.items,
                           progress=progress,
                           supply=roster.Supply(basis=basis, supplied_by_id=actor.id))
    done_at = time.perf_counter()
    return ImportReport(
        created=len(checked.items),
        rows=len(table.rows),
        encoding=table.encoding,
        warnings=warnings,
        counts=checked.by_site,
        seconds={
            "check": round(checked_at - clock, 4),
            "insert": round(done_at - checked_at, 4),
            "total": round(done_at - clock, 4),
        },
    )
