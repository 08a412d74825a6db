"""The minutes of a session as people read them: totals, the page, the CSV and XLSX files.

Who may read them: the central office, all of them; a coordinator of a site in the
conference (who may read the session page), the speeches and questions of their own
subtree only. Who spoke was on every room's screen while they spoke, but the record
that stays is personal data (names, positions, questions' texts): a coordinator needs
their own sites' part of it, not another province's, and an attendee's question sent
without a site is the central office's alone. Showing the minutes counts a view in the
audit log, a download records an export (committed before the file goes out).
"""

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlmodel import Session, col, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.audit import service as audit_service
from app.audit import spool
from app.db import utcnow
from app.tabular import export, sheet
from app.templating import local_datetime
from endpoints import service as endpoints_service
from endpoints.models import Site
from sessions import floor_view
from sessions.floor_models import QuestionPublic
from sessions.floor_view import Minutes, Speech

SPEAKING = "đang phát biểu"
#: Who sent a question without a site (an attendee's phone).
ATTENDEE = "đại biểu"
SPEECH_HEADERS = [
    "STT", "Điểm cầu", "Tỉnh/thành", "Người phát biểu", "Chức vụ", "Nội dung phát biểu",
    "Bắt đầu", "Kết thúc", "Thời lượng (phút:giây)",
]
QUESTION_HEADERS = ["STT", "Gửi từ", "Câu hỏi", "Số câu đã gộp", "Gửi lúc"]


def clock(seconds: int | None) -> str:
    """A duration as mm:ss (h:mm:ss from an hour on); "" for none."""
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def sender(question: QuestionPublic) -> str:
    """Who sent a question: their site, or "đại biểu" for an attendee's phone."""
    return question.site_name or ATTENDEE


@dataclass(frozen=True, slots=True)
class MinutesReport:
    """A session's minutes with what the page and the files print around them."""

    conference_id: int
    conference_title: str
    minutes: Minutes
    generated_at: datetime
    #: For a coordinator, the site whose subtree the minutes are limited to.
    scope_name: str | None = None

    @property
    def speeches(self) -> list[Speech]:
        return self.minutes.speeches

    @property
    def questions(self) -> list[QuestionPublic]:
        return self.minutes.questions

    @property
    def total_seconds(self) -> int:
        """Speaking time of the ended speeches (the current one is still running)."""
        return sum(s.seconds or 0 for s in self.speeches)

    @property
    def is_empty(self) -> bool:
        return not self.speeches and not self.questions


def _in_scope(db: Session, found: Minutes, actor: User) -> tuple[Minutes, str]:
    """A coordinator's part of the minutes: their subtree's speeches and questions."""
    ids = {s.site_id for s in found.speeches} | {
        q.site_id for q in found.questions if q.site_id is not None}
    mine = set(db.exec(select(Site.id).where(
        col(Site.id).in_(ids), *endpoints_service.scope_conds(db, actor))).all())
    assert actor.site_id is not None  # scope_conds refused an account without a site
    names = endpoints_service.names_in(db, conference_id=found.session.conference_id,
                                       site_ids=[actor.site_id])
    root = names.get(actor.site_id) or endpoints_service.load_site(db, actor.site_id).name
    return Minutes(
        session=found.session, speeches=[s for s in found.speeches if s.site_id in mine],
        questions=[q for q in found.questions if q.site_id in mine],
    ), root


def minutes_report(db: Session, *, session_id: int, actor: User) -> MinutesReport:
    """A session's minutes for a reader of the conference (404 session_not_found else),
    limited to a coordinator's subtree."""
    found = floor_view.minutes(db, session_id=session_id, actor=actor)
    conference = endpoints_service.get_conference(
        db, conference_id=found.session.conference_id, actor=actor
    )
    assert conference.id is not None
    scope_name = None
    if not accounts_service.is_admin(actor):
        found, scope_name = _in_scope(db, found, actor)
    return MinutesReport(conference_id=conference.id, conference_title=conference.title,
                         minutes=found, generated_at=utcnow(), scope_name=scope_name)


def note_view(db: Session, report: MinutesReport, *, where: str) -> None:
    """Count a view of the minutes' names and questions (nothing when they are empty)."""
    if not report.is_empty:
        spool.viewed(db, what="floor_minutes", object_id=report.minutes.session.id,
                     conference_id=report.conference_id, where=where)


def page_context(db: Session, *, session_id: int, actor: User) -> dict[str, object]:
    """What the session page's "Biên bản phát biểu" section needs (the view counted)."""
    report = minutes_report(db, session_id=session_id, actor=actor)
    note_view(db, report, where="session_page")
    return {"minutes_report": report, "clock": clock, "sender": sender}


def record_export(db: Session, report: MinutesReport, *, fmt: str) -> None:
    """Record a download of the minutes, committed before the file is sent."""
    audit_service.record(
        db, action="export", object_type="floor_minutes", object_id=report.minutes.session.id,
        conference_id=report.conference_id,
        detail={"format": fmt, "speeches": len(report.speeches),
                "questions": len(report.questions)},
    )
    db.commit()


def csv_rows(report: MinutesReport) -> Iterator[Sequence[export.CsvValue]]:
    """The speeches, a blank line, then the approved questions (each with its header)."""
    yield ["Phát biểu"]
    yield SPEECH_HEADERS
    for i, s in enumerate(report.speeches, start=1):
        yield [i, s.site_name, s.hub_name or "", s.speaker_name, s.speaker_position, s.topic,
               local_datetime(s.started_at), local_datetime(s.ended_at),
               SPEAKING if s.ended_at is None else clock(s.seconds)]
    yield ["", "Tổng cộng", f"{len(report.speeches)} lượt phát biểu", "", "", "", "", "",
           clock(report.total_seconds)]
    yield []
    yield ["Câu hỏi đã duyệt"]
    yield QUESTION_HEADERS
    for i, q in enumerate(report.questions, start=1):
        yield [i, sender(q), q.text, q.weight, local_datetime(q.asked_at)]
    yield ["", "Tổng cộng", f"{len(report.questions)} câu hỏi", "", ""]


def _speech_sheet(ws: WriteOnlyWorksheet, report: MinutesReport) -> None:
    sheet.header(ws, SPEECH_HEADERS, [6, 36, 24, 26, 24, 48, 18, 18, 14])
    for i, s in enumerate(report.speeches, start=1):
        ws.append(export.xlsx_row(ws, [
            i, s.site_name, s.hub_name or "", s.speaker_name, s.speaker_position, s.topic,
            sheet.cell(ws, sheet.naive_local(s.started_at), sheet.TIME),
            sheet.cell(ws, sheet.naive_local(s.ended_at), sheet.TIME),
            SPEAKING if s.ended_at is None else clock(s.seconds),
        ]))
    ws.append(export.xlsx_row(ws, [
        "", sheet.cell(ws, "Tổng cộng", bold=True),
        sheet.cell(ws, f"{len(report.speeches)} lượt phát biểu", bold=True),
        "", "", "", "", "", sheet.cell(ws, clock(report.total_seconds), bold=True),
    ]))


def _question_sheet(ws: WriteOnlyWorksheet, report: MinutesReport) -> None:
    sheet.header(ws, QUESTION_HEADERS, [6, 36, 80, 12, 18])
    for i, q in enumerate(report.questions, start=1):
        ws.append(export.xlsx_row(ws, [
            i, sender(q), q.text, sheet.cell(ws, q.weight, sheet.INT),
            sheet.cell(ws, sheet.naive_local(q.asked_at), sheet.TIME),
        ]))


def xlsx_bytes(report: MinutesReport) -> bytes:
    """The minutes as a workbook: a sheet of speeches and one of approved questions."""
    book = Workbook(write_only=True)
    _speech_sheet(book.create_sheet("Phát biểu"), report)
    _question_sheet(book.create_sheet("Câu hỏi"), report)
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as out:
        book.save(out)
        out.seek(0)
        return out.read()


def file_stem(report: MinutesReport) -> str:
    """The download's name: bien-ban-phat-bieu-<conference>-phien-<session>."""
    return f"bien-ban-phat-bieu-{report.conference_id}-phien-{report.minutes.session.id}"
