"""The attendee's rights reach the floor: the questions sent with their personal code are
in their export (JSON and CSV) and go with their erasure (SQLite and PostgreSQL)."""

from sqlmodel import Session

from app.accounts.models import User
from checkin import rights
from sessions import floor_privacy, floor_questions
from sessions.floor_models import FloorQuestion
from tests.checkin.support import Roster
from tests.conftest import Tree
from tests.sessions.floor_support import on_stage
from tests.sessions.support import Recorder


def _sent(wdb: Session, tree: Tree, admin: User, roster: Roster) -> tuple[int, int]:
    sid = on_stage(wdb, tree, admin)
    mine = floor_questions.ask_on_stage(wdb, conference_id=tree.cid, publish=Recorder(),
                                        attendee_id=roster.an.id, text="Câu hỏi của An")
    theirs = floor_questions.ask_on_stage(wdb, conference_id=tree.cid, publish=Recorder(),
                                          attendee_id=roster.binh.id, text="Câu hỏi của Bình")
    assert mine.id is not None and theirs.id is not None and sid
    return mine.id, theirs.id


def test_the_export_lists_the_questions_sent_with_the_personal_code(
    wdb: Session, tree: Tree, admin: User, roster: Roster
) -> None:
    _sent(wdb, tree, admin, roster)
    data = rights.export_data(wdb, attendee_id=roster.an.id or 0, actor=admin, fmt="json")
    assert [(q.text, q.status_label, q.session_title) for q in data.questions] == [
        ("Câu hỏi của An", "chờ duyệt", "Phiên khai mạc")]
    rows = [list(r) for r in rights.csv_rows(data)]
    assert ["Câu hỏi", "Phiên khai mạc", "Câu hỏi của An", "chờ duyệt"] in [r[:4] for r in rows]
    assert "Câu hỏi của Bình" not in str(rows)


def test_erasure_replaces_the_questions_text_and_clears_the_link(
    wdb: Session, tree: Tree, admin: User, roster: Roster
) -> None:
    mine, theirs = _sent(wdb, tree, admin, roster)
    rights.erase(wdb, attendee_id=roster.an.id or 0, actor=admin)
    wdb.expire_all()
    erased, kept = wdb.get(FloorQuestion, mine), wdb.get(FloorQuestion, theirs)
    assert erased is not None and kept is not None
    assert (erased.text, erased.attendee_id) == (floor_privacy.ERASED_QUESTION, None)
    assert (kept.text, kept.attendee_id) == ("Câu hỏi của Bình", roster.binh.id)
    data = rights.personal_data(wdb, attendee=roster.an, whole_phone=True)
    assert data.questions == []
