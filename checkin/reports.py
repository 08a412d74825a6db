"""Attendance reports: per site, per hub (rolled up through the tree), per session and for
the whole conference; CSV and XLSX files and the data of the printable page.

The counts come from `checkin.attendance` (one grouped query per table, the same counts
the dashboard and /attendance show), so a report of 31,000 sites is a handful of
queries; the files are written row by row (the CSV is streamed, the XLSX uses
openpyxl's write-only mode) so memory stays bounded.
"""

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.accounts.models import User
from app.db import utcnow
from app.tabular import export, sheet
from app.templating import local_datetime
from app.text import format_number
from checkin import attendance
from checkin.board import SiteState
from checkin.models import CONFERENCE_LEVEL, Attendance, Headcount
from endpoints import service as endpoints_service
from endpoints.models import READINESS_LABELS, SITE_KIND_LABELS, Readiness, SiteKind
from sessions import service as sessions_service

OTHER_GROUP = "Các điểm cầu khác"


@dataclass
class Counts:
    """Figures of a site, or summed over a subtree, a group or the whole report."""

    sites: int = 0
    participating: int = 0
    expected: int = 0
    checked_in: int = 0
    headcount: int = 0
    present: int = 0

    @property
    def rate(self) -> float | None:
        """Present over expected (None when nothing is expected)."""
        return self.present / self.expected if self.expected else None

    def add(self, other: "Counts") -> None:
        """Add another set of figures to this one."""
        self.sites += other.sites
        self.participating += other.participating
        self.expected += other.expected
        self.checked_in += other.checked_in
        self.headcount += other.headcount
        self.present += other.present


@dataclass
class SiteRow:
    """One site of the report, with its own figures and those of its whole subtree."""

    site_id: int
    parent_id: int | None
    name: str
    code: str | None
    kind: str
    readiness: str
    depth: int
    own: Counts
    subtree: Counts
    first_checkin_at: datetime | None = None
    last_checkin_at: datetime | None = None
    headcount_at: datetime | None = None
    group: str = OTHER_GROUP

    @property
    def kind_label(self) -> str:
        """The Vietnamese name of the site's kind."""
        try:
            return SITE_KIND_LABELS[SiteKind(self.kind)]
        except ValueError:
            return self.kind

    @property
    def readiness_label(self) -> str:
        """The Vietnamese readiness word."""
        try:
            return READINESS_LABELS[Readiness(self.readiness)]
        except ValueError:
            return self.readiness


@dataclass
class GroupReport:
    """A hub (province/city) and every site of its subtree, with the hub's subtotal."""

    site_id: int | None
    name: str
    rows: list[SiteRow]
    totals: Counts


@dataclass
class SessionTotals:
    """The figures of the report's scope for one session (None: the conference-level check-in)."""

    session_id: int | None
    title: str
    starts_at: datetime | None
    totals: Counts


@dataclass
class AttendanceReport:
    """Everything the files and the printable page show."""

    conference_id: int
    conference_title: str
    starts_on: date
    ends_on: date
    session_id: int | None
    session_title: str | None
    under_id: int | None
    under_name: str | None
    generated_at: datetime
    totals: Counts
    rows: list[SiteRow]
    groups: list[GroupReport]
    sessions: list[SessionTotals] = field(default_factory=list)

    def summary_sentence(self) -> str:
        """ "3.354 điểm cầu, 150.000 đại biểu", as reports sent upward say it."""
        return f"{format_number(self.totals.participating)} điểm cầu, " \
            f"{format_number(self.totals.present)} đại biểu"


def format_rate(rate: float | None) -> str:
    """ "93,8%", or "" when nothing was expected."""
    return "" if rate is None else f"{format_number(rate * 100, 1)}%"


def _site_counts(s: SiteState) -> Counts:
    return Counts(
        sites=1,
        participating=int(s.participating),
        expected=s.counted_expected,
        checked_in=s.checked_in,
        headcount=s.headcount or 0,
        present=s.present,
    )


def _times(
    db: Session, conference_id: int, session_key: int
) -> tuple[dict[int, tuple[datetime, datetime]], dict[int, datetime]]:
    """First and last check-in per site, and when the current headcount was reported."""
    checkins = {
        r[0]: (r[1], r[2])
        for r in db.execute(
            sa_select(
                col(Attendance.site_id),
                func.min(col(Attendance.checked_in_at)),
                func.max(col(Attendance.checked_in_at)),
            )
            .where(
                col(Attendance.conference_id) == conference_id,
                col(Attendance.session_key) == session_key,
            )
            .group_by(col(Attendance.site_id))
        ).all()
    }
    reported = {
        r[0]: r[1]
        for r in db.execute(
            sa_select(col(Headcount.site_id), col(Headcount.reported_at)).where(
                col(Headcount.conference_id) == conference_id,
                col(Headcount.session_key) == session_key,
                col(Headcount.superseded).is_(False),
            )
        ).all()
    }
    return checkins, reported


def _roll_up(rows: list[SiteRow]) -> None:
    """Sum each site's figures into every ancestor in the report (rows are in path order)."""
    by_id = {r.site_id: r for r in rows}
    for row in reversed(rows):  # children come after their parent in path order
        parent = by_id.get(row.parent_id) if row.parent_id is not None else None
        if parent is not None:
            parent.subtree.add(row.subtree)


def _groups(rows: list[SiteRow]) -> list[GroupReport]:
    """One group per outermost hub; sites outside every hub go to a last group."""
    heads: dict[int, GroupReport] = {}
    head_of: dict[int, int] = {}  # site id -> id of the outermost hub above (or at) it
    other = GroupReport(site_id=None, name=OTHER_GROUP, rows=[], totals=Counts())
    for row in rows:  # path order: a parent is placed before its children
        head_id = head_of.get(row.parent_id) if row.parent_id is not None else None
        if head_id is None and row.kind == SiteKind.hub:
            heads[row.site_id] = GroupReport(row.site_id, row.name, [], row.subtree)
            head_id = row.site_id
        if head_id is None:
            other.rows.append(row)
            other.totals.add(row.own)
            continue
        head_of[row.site_id] = head_id
        row.group = heads[head_id].name
        heads[head_id].rows.append(row)
    groups = list(heads.values())
    if other.rows:
        groups.append(other)
    return groups


def _session_totals(
    db: Session, conference_id: int, actor: User, in_scope: dict[int, str]
) -> list[SessionTotals]:
    """Totals of the scope for the conference-level check-in and for every session."""
    sessions = sessions_service.list_sessions(db, conference_id=conference_id, actor=actor)
    counts = attendance.session_counts(db, conference_id=conference_id, site_ids=in_scope)
    choices: list[tuple[int, str, datetime | None]] = [(CONFERENCE_LEVEL, "Cả hội nghị", None)]
    choices += [(s.id or 0, s.title, s.starts_at) for s in sessions]
    out: list[SessionTotals] = []
    for key, title, starts_at in choices:
        checked_in, headcount, present = counts.get(key, (0, 0, 0))
        out.append(SessionTotals(
            session_id=None if key == CONFERENCE_LEVEL else key, title=title,
            starts_at=starts_at,
            totals=Counts(checked_in=checked_in, headcount=headcount, present=present),
        ))
    return out


def attendance_report(
    db: Session,
    *,
    conference_id: int,
    actor: User,
    session_id: int | None = None,
    under_id: int | None = None,
    with_sessions: bool = True,
) -> AttendanceReport:
    """The attendance report of a conference (a session of it), within the actor's scope.

    `under_id` narrows it to a site and its subtree; a coordinator sees only theirs.
    """
    conference = endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    scoped = attendance.scoped_sites(
        db, conference_id=conference_id, actor=actor, session_id=session_id, site_id=under_id
    )
    checkins, reported = _times(db, conference_id, scoped.session_key)
    session_title: str | None = None
    if session_id is not None:
        session_title = sessions_service.get_session(db, session_id=session_id, actor=actor).title
    # scoped_sites checked `under_id` takes part; its row carries the name the conference knew.
    under_name = next((s.name for s in scoped.sites if s.site_id == under_id), None)
    db.rollback()
    rows: list[SiteRow] = []
    for s in scoped.sites:
        own = _site_counts(s)
        first, last = checkins.get(s.site_id, (None, None))
        rows.append(SiteRow(
            site_id=s.site_id, parent_id=s.parent_id, name=s.name, code=s.code, kind=s.kind,
            readiness=s.readiness, depth=s.depth, own=own,
            subtree=Counts(**vars(own)),
            first_checkin_at=first, last_checkin_at=last, headcount_at=reported.get(s.site_id),
        ))
    _roll_up(rows)
    totals = Counts()
    for row in rows:
        totals.add(row.own)
    sessions: list[SessionTotals] = []
    if with_sessions:
        scope = {r.site_id: r.name for r in rows}
        sessions = _session_totals(db, conference_id, actor, scope)
    assert conference.id is not None
    return AttendanceReport(
        conference_id=conference.id,
        conference_title=conference.title,
        starts_on=conference.starts_on,
        ends_on=conference.ends_on,
        session_id=session_id,
        session_title=session_title,
        under_id=under_id,
        under_name=under_name,
        generated_at=utcnow(),
        totals=totals,
        rows=rows,
        groups=_groups(rows),
        sessions=sessions,
    )


# ------------------------------------------------------------------ files

SITE_HEADERS = [
    "Mã điểm cầu", "Tên điểm cầu", "Loại", "Cấp tỉnh/thành", "Tình trạng",
    "Dự kiến", "Đã điểm danh", "Báo cáo số lượng", "Có mặt", "Tỷ lệ (%)",
    "Điểm danh đầu tiên", "Điểm danh cuối cùng", "Giờ báo cáo số lượng",
]
GROUP_HEADERS = [
    "Cấp tỉnh/thành", "Số điểm cầu", "Điểm cầu tham gia", "Dự kiến", "Đã điểm danh",
    "Báo cáo số lượng", "Có mặt", "Tỷ lệ (%)",
]
SESSION_HEADERS = ["Phiên", "Bắt đầu", "Đã điểm danh", "Báo cáo số lượng", "Có mặt"]
TOTAL_LABEL = "Tổng cộng"


def _local(value: datetime | None) -> str:
    return local_datetime(value)


def _csv_rate(rate: float | None) -> str:
    # Written with a comma, as Vietnamese Excel expects ("93,8").
    return "" if rate is None else format_number(rate * 100, 1)


def site_csv_rows(report: AttendanceReport) -> Iterator[Sequence[export.CsvValue]]:
    """The rows of the per-site CSV (header first, a total row last)."""
    yield SITE_HEADERS
    for r in report.rows:
        c = r.own
        yield [
            r.code or "", r.name, r.kind_label, "" if r.group == OTHER_GROUP else r.group,
            r.readiness_label, c.expected, c.checked_in,
            None if r.headcount_at is None else c.headcount, c.present,
            _csv_rate(c.rate), _local(r.first_checkin_at), _local(r.last_checkin_at),
            _local(r.headcount_at),
        ]
    t = report.totals
    yield ["", TOTAL_LABEL, "", "", "", t.expected, t.checked_in, t.headcount,
           t.present, _csv_rate(t.rate), "", "", ""]


def group_csv_rows(report: AttendanceReport) -> Iterator[Sequence[export.CsvValue]]:
    """The rows of the per-hub CSV (header first, a total row last)."""
    yield GROUP_HEADERS
    for g in [*report.groups, GroupReport(None, TOTAL_LABEL, [], report.totals)]:
        t = g.totals
        yield [g.name, t.sites, t.participating, t.expected, t.checked_in,
               t.headcount, t.present, _csv_rate(t.rate)]


def csv_chunks(rows: Iterable[Sequence[export.CsvValue]], *, batch: int = 500) -> Iterator[bytes]:
    """UTF-8 CSV with a BOM, every text field neutralised against formulas (export.csv_chunks)."""
    return export.csv_chunks(rows, batch=batch)


# The sheet helpers are app.tabular.sheet's (the floor's minutes use them too).
_BOLD, _INT, _RATE, _TIME = sheet.BOLD, sheet.INT, sheet.RATE, sheet.TIME
_header, _cell, _naive_local = sheet.header, sheet.cell, sheet.naive_local


def _counts_cells(ws: WriteOnlyWorksheet, c: Counts, bold: bool, *, with_sites: bool) -> list[Any]:
    cells = []
    if with_sites:
        cells += [_cell(ws, c.sites, _INT, bold), _cell(ws, c.participating, _INT, bold)]
    cells += [
        _cell(ws, c.expected, _INT, bold), _cell(ws, c.checked_in, _INT, bold),
        _cell(ws, c.headcount, _INT, bold), _cell(ws, c.present, _INT, bold),
        _cell(ws, c.rate, _RATE, bold),
    ]
    return cells


def _site_sheet(ws: WriteOnlyWorksheet, report: AttendanceReport) -> None:
    _header(ws, SITE_HEADERS, [14, 40, 22, 30, 14, 10, 12, 14, 10, 10, 18, 18, 18])
    for r in report.rows:
        c = r.own
        ws.append(export.xlsx_row(ws, [
            r.code or "", r.name, r.kind_label, "" if r.group == OTHER_GROUP else r.group,
            r.readiness_label,
            _cell(ws, c.expected, _INT), _cell(ws, c.checked_in, _INT),
            _cell(ws, c.headcount if r.headcount_at else None, _INT),
            _cell(ws, c.present, _INT), _cell(ws, c.rate, _RATE),
            _cell(ws, _naive_local(r.first_checkin_at), _TIME),
            _cell(ws, _naive_local(r.last_checkin_at), _TIME),
            _cell(ws, _naive_local(r.headcount_at), _TIME),
        ]))
    ws.append(export.xlsx_row(ws, ["", _cell(ws, TOTAL_LABEL, bold=True), "", "", "",
                                   *_counts_cells(ws, report.totals, True, with_sites=False)]))


def _group_sheet(ws: WriteOnlyWorksheet, report: AttendanceReport) -> None:
    _header(ws, GROUP_HEADERS, [40, 12, 14, 12, 14, 16, 12, 10])
    for g in report.groups:
        cells = _counts_cells(ws, g.totals, False, with_sites=True)
        ws.append(export.xlsx_row(ws, [g.name, *cells]))
    ws.append([_cell(ws, TOTAL_LABEL, bold=True),
               *_counts_cells(ws, report.totals, True, with_sites=True)])


def _session_sheet(ws: WriteOnlyWorksheet, report: AttendanceReport) -> None:
    _header(ws, SESSION_HEADERS, [40, 18, 14, 16, 12])
    for s in report.sessions:
        t = s.totals
        ws.append(export.xlsx_row(ws, [
            s.title, _cell(ws, _naive_local(s.starts_at), _TIME),
            _cell(ws, t.checked_in, _INT), _cell(ws, t.headcount, _INT), _cell(ws, t.present, _INT),
        ]))


def xlsx_bytes(report: AttendanceReport) -> bytes:
    """The report as an .xlsx workbook: per site, per hub and per session sheets."""
    book = Workbook(write_only=True)
    _site_sheet(book.create_sheet("Điểm cầu"), report)
    _group_sheet(book.create_sheet("Theo tỉnh, thành"), report)
    if report.sessions:
        _session_sheet(book.create_sheet("Theo phiên"), report)
    # write-only workbooks stream to a file; a spooled temp file keeps small reports in memory
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as out:
        book.save(out)
        out.seek(0)
        return out.read()


def file_stem(report: AttendanceReport) -> str:
    """The download's name: bao-cao-diem-danh-<conference>[-phien-<session>][-<site name>].

    The site name is kept as typed (Vietnamese letters and all); `app.disposition` makes
    the header safe and gives browsers an ASCII fallback.
    """
    stem = f"bao-cao-diem-danh-{report.conference_id}"
    if report.session_id is not None:
        stem += f"-phien-{report.session_id}"
    if report.under_name:
        stem += "-" + report.under_name[:60]
    return stem
