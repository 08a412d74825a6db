"""The minutes' downloads: CSV and XLSX for the central office and a coordinator (their
subtree only), a stranger refused, every download audited (SQLite and PostgreSQL)."""

import csv
import io

import openpyxl
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import User
from app.audit.models import AuditEntry
from endpoints import coordinators
from tests.conftest import Tree, token_for
from tests.sessions.floor_support import HOSTILE_NAME, spoken_session


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_the_central_office_downloads_the_whole_minutes(
    client: TestClient, db: Session, tree: Tree, admin: User, coordinator_a: User,
    admin_headers: dict[str, str],
) -> None:
    spoken = spoken_session(db, tree, admin, coordinator_a)
    r = client.get(f"/api/v1/sessions/{spoken.session_id}/minutes.csv", headers=admin_headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert f"bien-ban-phat-bieu-{tree.cid}-phien-{spoken.session_id}.csv" in \
        r.headers["content-disposition"]
    rows = _csv(r.content)
    assert rows[2][3] == "'" + HOSTILE_NAME and rows[3][8] == "đang phát biểu"
    assert rows[-2][:2] == ["2", "đại biểu"]
    x = client.get(f"/api/v1/sessions/{spoken.session_id}/minutes.xlsx", headers=admin_headers)
    assert x.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(x.content))
    assert book.sheetnames == ["Phát biểu", "Câu hỏi"]
    db.expire_all()
    entries = db.exec(select(AuditEntry).where(AuditEntry.object_type == "floor_minutes")
                      .order_by(AuditEntry.id)).all()  # type: ignore[arg-type]
    assert [(e.action, (e.detail or {})["format"]) for e in entries] == [
        ("export", "csv"), ("export", "xlsx")]
    assert all(e.actor_name == "admin" for e in entries)
    assert "HYPERLINK" not in str([e.detail for e in entries])


def test_a_coordinator_gets_their_subtree_and_a_stranger_nothing(
    client: TestClient, db: Session, tree: Tree, admin: User, coordinator_a: User,
) -> None:
    spoken = spoken_session(db, tree, admin, coordinator_a)
    coordinators.create_coordinator(db, site_id=tree.ward_b1, username="hk",
                                    password="hk-password-1", full_name="Phạm Văn Hà",
                                    phone="0912345678", actor=admin)
    url = f"/api/v1/sessions/{spoken.session_id}/minutes.csv"
    mine = _csv(client.get(url, headers=token_for(client, "hcm", "hcm-password")).content)
    assert [r[1] for r in mine[2:4]] == ["Đảng ủy phường Bến Nghé", "Đảng ủy xã Cần Giờ"]
    # A question from a phone without a site: the central office's alone.
    assert "đại biểu" not in [r[1] for r in mine if len(r) > 1]
    theirs = client.get(url, headers=token_for(client, "hk", "hk-password-1"))
    assert theirs.status_code == 200
    rows = _csv(theirs.content)
    assert rows[2][2] == "0 lượt phát biểu" and rows[-1][2] == "0 câu hỏi"
    assert "Bến Nghé" not in theirs.content.decode("utf-8-sig")
    gone = client.get("/api/v1/sessions/999999/minutes.xlsx",
                      headers=token_for(client, "hcm", "hcm-password"))
    assert gone.status_code == 404 and gone.json()["code"] == "session_not_found"
