"""The minutes as read and written: order, durations, totals, formula-safe files, the
audit of views and downloads (SQLite and PostgreSQL)."""

import csv
import io

import openpyxl
from sqlmodel import Session, select

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.tabular import export
from sessions import minutes
from tests.conftest import Tree
from tests.sessions.floor_support import HOSTILE_NAME, HOSTILE_QUESTION, spoken_session


def test_clock_writes_minutes_and_seconds() -> None:
    assert [minutes.clock(s) for s in (None, 0, 205, 3599, 3725)] == [
        "", "00:00", "03:25", "59:59", "1:02:05"]


def test_the_minutes_list_speeches_in_order_and_approved_questions_with_weights(
    db: Session, tree: Tree, admin: User, coordinator_a: User
) -> None:
    spoken = spoken_session(db, tree, admin, coordinator_a)
    report = minutes.minutes_report(db, session_id=spoken.session_id, actor=admin)
    assert [s.site_id for s in report.speeches] == [tree.ward_a1, tree.ward_a2]
    assert report.speeches[0].seconds == 205 and report.speeches[1].ended_at is None
    assert report.speeches[0].hub_name == "Trung tâm Hội nghị 272"
    assert report.total_seconds == 205
    assert [q.id for q in report.questions] == [spoken.approved_id, spoken.anonymous_id]
    assert [q.weight for q in report.questions] == [2, 1]
    assert [minutes.sender(q) for q in report.questions] == ["Đảng ủy phường Bến Nghé",
                                                            "đại biểu"]
    mine = minutes.minutes_report(db, session_id=spoken.session_id, actor=coordinator_a)
    assert len(mine.speeches) == 2 and [q.id for q in mine.questions] == [spoken.approved_id]
    assert mine.scope_name == "Trung tâm Hội nghị 272" and report.scope_name is None


def test_csv_rows_are_vietnamese_local_and_formula_safe(
    db: Session, tree: Tree, admin: User, coordinator_a: User
) -> None:
    spoken = spoken_session(db, tree, admin, coordinator_a)
    report = minutes.minutes_report(db, session_id=spoken.session_id, actor=admin)
    body = export.csv_bytes(minutes.csv_rows(report)).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body, newline="")))
    assert rows[1] == minutes.SPEECH_HEADERS
    assert rows[2][3] == "'" + HOSTILE_NAME
    assert rows[2][6:] == ["09/09/2025 08:00", "09/09/2025 08:03", "03:25"]
    assert rows[3][8] == "đang phát biểu" and rows[3][7] == ""
    assert rows[4][2] == "2 lượt phát biểu" and rows[4][8] == "03:25"
    questions = rows[rows.index(minutes.QUESTION_HEADERS) + 1:]
    assert questions[0][2] == "'" + HOSTILE_QUESTION and questions[0][3] == "2"
    assert questions[1][1] == "đại biểu"
    assert questions[-1][2] == "2 câu hỏi"


def test_xlsx_keeps_formulas_as_text_and_times_local(
    db: Session, tree: Tree, admin: User, coordinator_a: User
) -> None:
    spoken = spoken_session(db, tree, admin, coordinator_a)
    report = minutes.minutes_report(db, session_id=spoken.session_id, actor=admin)
    book = openpyxl.load_workbook(io.BytesIO(minutes.xlsx_bytes(report)))
    speeches = list(book["Phát biểu"].iter_rows(values_only=True))
    assert speeches[1][3] == "'" + HOSTILE_NAME
    assert speeches[1][6].strftime("%d/%m/%Y %H:%M") == "09/09/2025 08:00"
    assert speeches[1][8] == "03:25" and speeches[2][8] == "đang phát biểu"
    questions = list(book["Câu hỏi"].iter_rows(values_only=True))
    assert questions[1][2] == "'" + HOSTILE_QUESTION and questions[1][3] == 2
    assert all(c.data_type != "f" for row in book["Câu hỏi"].iter_rows() for c in row)


def test_a_download_is_recorded_as_an_export_without_the_names(
    db: Session, tree: Tree, admin: User, coordinator_a: User
) -> None:
    spoken = spoken_session(db, tree, admin, coordinator_a)
    report = minutes.minutes_report(db, session_id=spoken.session_id, actor=admin)
    minutes.record_export(db, report, fmt="csv")
    entry = db.exec(select(AuditEntry).where(AuditEntry.object_type == "floor_minutes")).one()
    assert entry.action == "export" and entry.object_id == str(spoken.session_id)
    assert entry.detail == {"format": "csv", "speeches": 2, "questions": 2}
    assert entry.conference_id == tree.cid
