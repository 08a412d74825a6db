"""Use case: import a site tree from a CSV/XLSX file, all or nothing.

Sites go to the registry: a row whose code the registry already has updates that
site, a new code adds one; every imported site (and the sites above it) is invited
to the conference with its expected attendees. Every row is checked first (fields
with the same rules as `SiteCreate`, then duplicates, parents, cycles, a second
central site); every bad line is reported and nothing is written. A good file is
written in one transaction (`endpoints/import_writes.py`). The file format is
described in `endpoints/import_columns.py`.
"""

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts import errors as accounts_errors
from app.accounts import service as accounts_service
from app.accounts.models import AccountStatus, Role, User
from app.audit import service as audit_service
from app.errors import describe_validation
from app.tabular import errors as tabular_errors
from app.tabular import reader
from app.tabular.header import ColumnMap, read_file
from app.tabular.report import ImportReport, LineError, fixed_phones_warning, reject, shown
from app.text import TextError, clean_text, format_number, restore_phone_zero
from endpoints import import_writes, service
from endpoints.import_columns import COLUMN_LABELS, SITE_COLUMNS, parse_kind
from endpoints.import_writes import Existing, Plan, Row
from endpoints.models import Site, SiteCreate, SiteKind, SiteStatus

Progress = Callable[[int, int], None]
Stage = Callable[[str], None]

DEFAULT_MAX_ROWS = 40_000
# A materialised path holds ~11 characters per level in a 1,000-character column.
MAX_DEPTH = 60
_PROGRESS_EVERY = 250

_TEXT_FIELDS = ("name", "room", "contact_name")
_PYDANTIC_CODES = {
    "missing": "required",
    "string_too_long": "too_long",
    "string_pattern_mismatch": "invalid_code",
    "int_parsing": "invalid_number",
    "int_type": "invalid_number",
    "int_from_float": "invalid_number",
    "greater_than_equal": "out_of_range",
    "less_than_equal": "out_of_range",
    "enum": "invalid_kind",
}
_KINDS_HELP = (
    "central/trung tâm, hub/tỉnh, ward/phường, commune/xã, special_zone/đặc khu, "
    "department/sở-ban-ngành, organization/tổ chức, other/khác"
)


# ------------------------------------------------------------------ values


def _attendees(raw: str) -> str | int:
    """ "1.200", "1,200", "1 200" and "150" as whole numbers; anything else as given."""
    compact = raw.replace(" ", "").replace("\u00a0", "")
    digits = compact.replace(".", "").replace(",", "")
    grouped = all(len(g) == 3 for g in compact.replace(",", ".").split(".")[1:])
    if digits.isdigit() and grouped and len(digits) <= 9:
        return int(digits)
    return raw


def _text_code(field_name: str, raw: str) -> str:
    """The stable code of a text field that its validator refused."""
    try:
        clean_text(raw, max_length=1 << 30)
    except TextError:
        return "control_chars" if raw.strip() else "required"
    return {"contact_phone": "invalid_phone", "connection_link": "invalid_link"}.get(
        field_name, "too_long"
    )


def _pydantic_errors(
    exc: ValidationError, line: int, raw: dict[str, str], cmap: ColumnMap
) -> list[LineError]:
    out = []
    for described, err in zip(describe_validation([dict(e) for e in exc.errors()]), exc.errors(),
                              strict=True):
        name = str(err["loc"][0]) if err["loc"] else ""
        label = COLUMN_LABELS.get(name, name)
        value = raw.get(name, "")
        kind = str(err["type"])
        code = _PYDANTIC_CODES.get(kind, "invalid_value")
        message = str(described["message"])
        if kind == "value_error":
            code = _text_code(name, value)
        elif code == "invalid_code":
            message = f"{label} chỉ được dùng chữ cái không dấu, chữ số và . _ - (tối đa 50 ký tự)"
        elif code == "out_of_range":
            message = f"{label} phải từ 0 đến 100.000"
        elif code == "too_long":
            message = f"{label} quá dài"
        else:
            message = f"{label}: {message}"
        out.append(
            LineError(line, name, code, message, header=cmap.headers.get(name, ""),
                      value=shown(value))
        )
    return out


# ------------------------------------------------------------ row checks


def _check_row(line: int, cells: list[str], cmap: ColumnMap) -> tuple[Row, list[LineError], bool]:
    """One row's own fields; the row (possibly without data) and its errors."""
    raw = {
        name: (cells[i] if i < len(cells) else "") for name, i in cmap.index.items()
    }

    def err(name: str, code: str, message: str) -> LineError:
        return LineError(line, name, code, message, header=cmap.headers.get(name, ""),
                         value=shown(raw.get(name, "")))

    problems: list[LineError] = []
    extra = [c for c in cells[cmap.width:] if c.strip()]
    if extra:
        problems.append(
            LineError(line, "", "too_many_cells",
                      "Dòng có nhiều ô hơn tiêu đề (tên có dấu phẩy cần đặt trong ngoặc kép?)",
                      value=shown(extra[0]))
        )
    code = raw["code"].strip()
    parent_code = raw.get("parent_code", "").strip() or None
    if not code:
        problems.append(err("code", "required", "Thiếu mã điểm cầu"))
    kind = parse_kind(raw["kind"]) if raw["kind"].strip() else None
    if not raw["kind"].strip():
        problems.append(err("kind", "required", "Thiếu loại điểm cầu"))
    elif kind is None:
        problems.append(
            err("kind", "invalid_kind", f"Loại không hợp lệ; dùng một trong: {_KINDS_HELP}")
        )
    payload: dict[str, Any] = {"name": raw["name"], "kind": kind or SiteKind.other}
    if code:
        payload["code"] = code
    fixed_phone = False
    for name in ("room", "contact_name", "contact_phone", "connection_link"):
        value = raw.get(name, "").strip()
        if value:
            if name == "contact_phone":
                value, fixed_phone = restore_phone_zero(value)
            payload[name] = value
    if raw.get("expected_attendees", "").strip():
        payload["expected_attendees"] = _attendees(raw["expected_attendees"].strip())
    data: SiteCreate | None = None
    try:
        data = SiteCreate.model_validate(payload)
    except ValidationError as exc:
        problems.extend(_pydantic_errors(exc, line, raw, cmap))
    failed = {p.column for p in problems}
    for name in _TEXT_FIELDS:
        if name not in failed and reader.legacy_encoded(raw.get(name, "")):
            problems.append(
                err(name, "legacy_encoding",
                    "Chữ gõ bằng bảng mã cũ (TCVN3/VNI); hãy chuyển sang Unicode "
                    "(ví dụ bằng Unikey) rồi nhập lại")
            )
    row = Row(line=line, code=code, parent_code=parent_code, data=None if problems else data)
    return row, problems, fixed_phone


def _check_rows(
    table: reader.Table, cmap: ColumnMap, progress: Progress | None
) -> tuple[list[Row], list[LineError], int]:
    rows: list[Row] = []
    problems: list[LineError] = []
    fixed_phones = 0
    total = len(table.rows)
    for done, (line, cells) in enumerate(table.rows, start=1):
        row, errs, fixed = _check_row(line, cells, cmap)
        rows.append(row)
        problems.extend(errs)
        fixed_phones += fixed
        if progress and (done % _PROGRESS_EVERY == 0 or done == total):
            progress(done, total)
    return rows, problems, fixed_phones


# ----------------------------------------------------------- tree checks


def _existing_sites(db: Session) -> dict[str, Existing]:
    """Every registry site with a code (codes are unique across the registry)."""
    found = db.execute(
        sa_select(
            col(Site.code), col(Site.id), col(Site.path), col(Site.depth), col(Site.kind),
            col(Site.name), col(Site.parent_id), col(Site.status), col(Site.sort_path),
        ).where(col(Site.code).is_not(None))
    ).all()
    return {r[0]: Existing(r[1], r[2], r[3], str(r[4]), r[5], r[6], str(r[7]), r[8])
            for r in found}


def _has_central(db: Session) -> tuple[str | None, str] | None:
    """The registry's central site (code, name), if it has one."""
    row = db.execute(
        sa_select(col(Site.code), col(Site.name)).where(
            col(Site.kind) == SiteKind.central, col(Site.status) == SiteStatus.active
        ).order_by(col(Site.id))
    ).first()
    return (row[0], row[1]) if row is not None else None


def _cycles(by_code: dict[str, Row]) -> dict[str, list[str]]:
    """Rows whose parent chain (within the file) loops back: code → the loop."""
    done: set[str] = set()
    looped: dict[str, list[str]] = {}
    for start in by_code:
        trail: list[str] = []
        seen: dict[str, int] = {}
        cur: str | None = start
        while cur is not None and cur in by_code and cur not in done and cur not in seen:
            seen[cur] = len(trail)
            trail.append(cur)
            cur = by_code[cur].parent_code
        if cur is not None and cur in seen:
            loop = trail[seen[cur]:]
            for code in loop:
                looped[code] = loop
        done.update(trail)
    return looped


def _check_existing(
    r: Row, found: Existing, code_of: dict[int, str],
    err: Callable[[Row, str, str, str, str], None],
) -> None:
    """A row naming a registry site: it must be active and keep its place in the tree."""
    if found.status != SiteStatus.active:
        err(r, "code", "site_inactive",
            f"Điểm cầu mã “{r.code}” đã sáp nhập hoặc giải thể", r.code)
    current = code_of.get(found.parent_id or 0)
    if r.parent_code is not None and r.parent_code != current:
        err(r, "parent_code", "parent_differs",
            f"Điểm cầu mã “{r.code}” đã có trong danh mục, thuộc “{current or 'cấp cao nhất'}”; "
            "chuyển cấp trên trên trang điểm cầu", r.parent_code)


def _check_tree(
    rows: list[Row], existing: dict[str, Existing], central: tuple[str | None, str] | None,
    cmap: ColumnMap,
) -> list[LineError]:
    problems: list[LineError] = []
    by_code: dict[str, Row] = {}

    def err(r: Row, name: str, code: str, message: str, value: str) -> None:
        problems.append(
            LineError(r.line, name, code, message, header=cmap.headers.get(name, ""),
                      value=shown(value))
        )

    code_of = {e.id: c for c, e in existing.items()}
    for r in rows:
        if not r.code:
            continue
        first = by_code.get(r.code)
        if first is not None:
            err(r, "code", "duplicate_code", f"Mã “{r.code}” trùng với dòng {first.line}", r.code)
        else:
            by_code[r.code] = r
        if r.code in existing:
            _check_existing(r, existing[r.code], code_of, err)
    folded = {c.casefold(): c for c in (*existing, *by_code)}
    for r in rows:
        if r.parent_code is None or r.parent_code in by_code or r.parent_code in existing:
            if (r.parent_code in existing and r.code not in existing
                    and existing[r.parent_code].status != SiteStatus.active):
                err(r, "parent_code", "site_inactive",
                    f"Điểm cầu cấp trên mã “{r.parent_code}” đã sáp nhập hoặc giải thể",
                    r.parent_code)
            continue
        hint = folded.get(r.parent_code.casefold())
        message = f"Không có điểm cầu cấp trên mã “{r.parent_code}” trong tệp hoặc trong danh mục"
        err(r, "parent_code", "unknown_parent", message + (f" (có phải “{hint}”?)" if hint else ""),
            r.parent_code)
    for code, loop in _cycles(by_code).items():
        chain = " → ".join([*loop, loop[0]])
        err(by_code[code], "parent_code", "cycle", f"Vòng lặp cấp trên: {chain}", code)
    centrals = [r for r in rows if r.data is not None and r.data.kind == SiteKind.central
                and (central is None or r.code != central[0])]
    for i, r in enumerate(centrals):
        if central is not None:
            err(r, "kind", "multiple_central",
                f"Danh mục đã có điểm cầu trung tâm “{central[1]}”", "central")
        elif i > 0:
            err(r, "kind", "multiple_central",
                f"Chỉ được có một điểm cầu trung tâm (đã có ở dòng {centrals[0].line})", "central")
    return problems


def _order(
    rows: list[Row], existing: dict[str, Existing], cmap: ColumnMap
) -> tuple[list[Row], list[LineError]]:
    """New rows (codes the registry lacks) with parents first, depths set; rows deeper
    than MAX_DEPTH are errors."""
    children: dict[str | None, list[Row]] = {}
    for r in rows:
        if r.code in existing:
            continue
        children.setdefault(r.parent_code if r.parent_code not in existing else None, []).append(r)
    ordered: list[Row] = []
    level = [r for r in children.get(None, [])]
    for r in level:
        parent = existing.get(r.parent_code or "")
        r.depth = parent.depth + 1 if parent else 0
    while level:
        ordered.extend(level)
        nxt = []
        for r in level:
            for c in children.get(r.code, []):
                c.depth = r.depth + 1
                nxt.append(c)
        level = nxt
    too_deep = [
        LineError(r.line, "parent_code", "too_deep", f"Cây điểm cầu sâu quá {MAX_DEPTH} cấp",
                  header=cmap.headers.get("parent_code", ""), value=shown(r.parent_code or ""))
        for r in ordered if r.depth > MAX_DEPTH
    ]
    return ordered, too_deep


# ------------------------------------------------------------------ write


def _write(
    db: Session, plan: Plan, conference_id: int, actor: User, progress: Progress | None
) -> None:
    try:
        import_writes.insert_new(db, plan, actor, progress)
        import_writes.apply_updates(db, plan, actor, progress)
        import_writes.invite_all(db, plan, conference_id)
        # Bulk statements the ORM listener cannot see: one entry for the whole import.
        audit_service.record(db, action="import", object_type="site", conference_id=conference_id,
                             detail={"created": len(plan.new), "updated": len(plan.updates)})
        db.commit()
    except IntegrityError as exc:
        # Another writer added a code or removed a parent between the checks and the insert.
        db.rollback()
        raise tabular_errors.ImportConflict(
            "Danh sách điểm cầu vừa bị thay đổi trong lúc nhập; chưa nhập gì, vui lòng thử lại."
        ) from exc


# -------------------------------------------------------------- use case


def import_sites(
    db: Session,
    *,
    conference_id: int,
    filename: str,
    data: bytes,
    actor: User,
    progress: Progress | None = None,
    stage: Stage | None = None,
    max_bytes: int = reader.DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> ImportReport:
    """Import a site tree into the registry and invite it to a conference (central office
    only); all rows or none.

    `stage` is told "parse", "validate", "insert" as work moves on; `progress(done,
    total)` counts rows within the current stage.
    """
    accounts_service.require_admin(actor)
    if len(data) > max_bytes:
        raise tabular_errors.file_too_large(max_bytes)
    clock = time.perf_counter()
    if stage:
        stage("parse")
    table, cmap, warnings = read_file(
        data, filename, SITE_COLUMNS, max_rows=max_rows,
        header_only="Tệp chỉ có dòng tiêu đề, không có điểm cầu nào.",
    )
    parsed = time.perf_counter()
    if stage:
        stage("validate")
    rows, problems, fixed_phones = _check_rows(table, cmap, progress)
    if fixed_phones:
        warnings.append(fixed_phones_warning(fixed_phones))
    # The database is touched only from here: on SQLite the write lock is held briefly.
    service.get_conference(db, conference_id=conference_id, actor=actor)
    existing = _existing_sites(db)
    problems.extend(_check_tree(rows, existing, _has_central(db), cmap))
    ordered, too_deep = _order(rows, existing, cmap)
    problems.extend(too_deep)
    updates = [(r, existing[r.code]) for r in rows if r.code in existing]
    # Every new row reaches a root unless in error.
    if not problems and len(ordered) + len(updates) != len(rows):
        raise RuntimeError("site import: rows left out of the tree order")
    if problems:
        db.rollback()
        raise reject(problems, warnings, nothing_done="chưa nhập điểm cầu nào")
    validated = time.perf_counter()
    if stage:
        stage("insert")
    _write(db, Plan(new=ordered, updates=updates, existing=existing), conference_id, actor,
           progress)
    if updates:
        warnings.append(f"{format_number(len(updates))} điểm cầu đã có trong danh mục "
                        "(theo mã) được cập nhật và mời vào hội nghị.")
    return _report(rows, table, warnings, (clock, parsed, validated, time.perf_counter()))


def _report(
    rows: list[Row], table: reader.Table, warnings: list[str],
    times: tuple[float, float, float, float],
) -> ImportReport:
    clock, parsed, validated, done = times
    counts = Counter(r.data.kind for r in rows if r.data is not None)
    return ImportReport(
        created=len(rows), rows=len(table.rows), encoding=table.encoding, warnings=warnings,
        counts={kind.value: counts[kind] for kind in SiteKind if counts[kind]},
        seconds={
            "parse": round(parsed - clock, 4),
            "validate": round(validated - parsed, 4),
            "insert": round(done - validated, 4),
            "total": round(done - clock, 4),
        },
    )


def admin_account(db: Session, *, username: str | None = None) -> User:
    """The central-office account the command line acts as (the first one by default)."""
    query = select(User).where(User.role == Role.admin, User.status == AccountStatus.active)
    if username:
        query = query.where(User.username == accounts_service.normalize_username(username))
    user = db.exec(query.order_by(col(User.id))).first()
    if user is None:
        raise accounts_errors.AdminOnly(
            "Không tìm thấy tài khoản ban tổ chức đang hoạt động"
            + (f" “{username}”." if username else "; hãy chạy `diemcau create-admin` trước.")
        )
    return user
