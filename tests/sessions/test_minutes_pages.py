"""The minutes on the session page and on the printable page: who spoke in order, the
running speech, the approved questions, the totals; the view is counted in the audit log."""

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import User
from app.audit import spool
from app.audit.models import AuditEntry
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.support import login
from tests.sessions.floor_support import HOSTILE_NAME, HOSTILE_QUESTION, spoken_session


def test_the_session_page_shows_the_minutes(
    client: TestClient, db: Session, tree: Tree, admin: User, coordinator_a: User
) -> None:
    spoken = spoken_session(db, tree, admin, coordinator_a)
    login(client, "admin", ADMIN_PASSWORD)
    html = client.get(f"/sessions/{spoken.session_id}").text
    section = html[html.index('id="minutes"'):]
    assert "Biên bản phát biểu" in section
    assert section.index("Đảng ủy phường Bến Nghé") < section.index("Đảng ủy xã Cần Giờ")
    assert "03:25" in section and "đang phát biểu" in section
    assert "09/09/2025 08:00" in section
    assert "(gộp 2 câu)" in section and "đại biểu" in section
    assert "Câu hỏi bị ẩn" not in section
    assert f'/api/v1/sessions/{spoken.session_id}/minutes.xlsx' in section


def test_the_printable_minutes_have_totals_and_a_vietnamese_date(
    client: TestClient, db: Session, tree: Tree, admin: User, coordinator_a: User,
) -> None:
    spoken = spoken_session(db, tree, admin, coordinator_a)
    login(client, "admin", ADMIN_PASSWORD)
    r = client.get(f"/sessions/{spoken.session_id}/minutes")
    assert r.status_code == 200
    assert "BIÊN BẢN PHÁT BIỂU VÀ CÂU HỎI" in r.text
    assert "2 lượt phát biểu" in r.text and "2 câu hỏi" in r.text
    assert "03:25" in r.text and "tháng" in r.text and "năm" in r.text
    assert "&#34;" in r.text or "&quot;" in r.text  # the hostile name is escaped
    assert HOSTILE_NAME not in r.text and HOSTILE_QUESTION in r.text
    assert 'id="print"' in r.text and "/static/dashboard.js" in r.text
    spool.flush(client.app.state.engine)  # type: ignore[attr-defined]
    entry = db.exec(select(AuditEntry).where(AuditEntry.object_type == "floor_minutes")).one()
    assert entry.action == "view" and (entry.detail or {})["where"] == "print"


def test_a_coordinator_reads_their_subtree_with_its_scope_named(
    client: TestClient, db: Session, tree: Tree, admin: User, coordinator_a: User
) -> None:
    spoken = spoken_session(db, tree, admin, coordinator_a)
    login(client, "hcm", "hcm-password")
    r = client.get(f"/sessions/{spoken.session_id}/minutes")
    assert r.status_code == 200
    assert "Phạm vi: Trung tâm Hội nghị 272 và các điểm cầu trực thuộc" in r.text
    assert "Xin hỏi về lộ trình" not in r.text  # a phone's question: central office only
