"""The effectiveness report's pages: the report with its level tabs, filters and sort, the
printable report with its charts and most-wrong questions; views counted in the audit log;
junk in the query string is never a 500; linked from the conference's pages."""

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import User
from app.audit import spool
from app.audit.models import AuditEntry
from tests.checkin.effect_world import make_effect_world
from tests.checkin.support import make_roster
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.support import login


def _world(db: Session, admin: User, tree: Tree) -> None:
    make_effect_world(db, admin, tree, make_roster(db, admin, tree))


def test_the_report_page_has_levels_filters_and_the_figures(
    client: TestClient, db: Session, admin: User, tree: Tree
) -> None:
    _world(db, admin, tree)
    login(client, "admin", ADMIN_PASSWORD)
    html = client.get(f"/conferences/{tree.cid}/effectiveness").text
    assert "Hiệu quả đào tạo" in html and 'id="levels"' in html
    rows = html[html.index('id="rows"'):]
    assert "Đảng ủy phường Bến Nghé" in rows and "58,8" in rows and "85,0" in rows
    assert "0,64" in rows  # g of the whole conference
    assert f"/api/v1/conferences/{tree.cid}/effectiveness.csv?level=site" in html
    assert 'id="wrong-pre"' in html
    provinces = client.get(f"/conferences/{tree.cid}/effectiveness?level=province&sort=post"
                           "&desc=1").text
    table = provinces[provinces.index('id="rows"'):]
    assert table.index("Trung tâm Hội nghị 272") < table.index("Điểm cầu Hà Nội")
    only = client.get(f"/conferences/{tree.cid}/effectiveness?q=hoan+kiem").text
    body = only[only.index('<tbody>'):only.index('</tbody>')]
    assert "Hoàn Kiếm" in body and "Bến Nghé" not in body


def test_junk_in_the_query_is_never_a_500(
    client: TestClient, db: Session, admin: User, tree: Tree
) -> None:
    _world(db, admin, tree)
    login(client, "admin", ADMIN_PASSWORD)
    for query in ("level=x&sort=y&filter=z&desc=maybe", "pre_id=abc&under_id=-4", "q=%00"):
        r = client.get(f"/conferences/{tree.cid}/effectiveness?{query}")
        assert r.status_code == 200, (query, r.status_code)
    r = client.get(f"/conferences/{tree.cid}/effectiveness/print?pre_id=999999")
    assert r.status_code == 404 and "effect_pair_not_found" in r.text


def test_the_printable_report_has_charts_and_counts_the_view(
    client: TestClient, db: Session, admin: User, tree: Tree
) -> None:
    _world(db, admin, tree)
    login(client, "admin", ADMIN_PASSWORD)
    r = client.get(f"/conferences/{tree.cid}/effectiveness/print")
    assert r.status_code == 200
    html = r.text
    assert "BÁO CÁO HIỆU QUẢ ĐÀO TẠO" in html and "tháng" in html
    assert html.count("<svg") == 2 and "Mức hài lòng theo tỉnh, thành" in html
    assert 'id="provinces"' in html and 'id="wrong-post"' in html
    assert "C. Phương án C" in html  # the wrong option chosen most of Q3
    assert 'id="print"' in html and "/static/dashboard.js" in html
    spool.flush(client.app.state.engine)  # type: ignore[attr-defined]
    entries = db.exec(select(AuditEntry).where(
        AuditEntry.object_type == "effectiveness_report")).all()
    assert [(e.action, (e.detail or {})["where"]) for e in entries] == [("view", "print")]


def test_a_coordinator_prints_their_subtree_only(
    client: TestClient, db: Session, admin: User, tree: Tree, coordinator_a: User
) -> None:
    _world(db, admin, tree)
    login(client, "hcm", "hcm-password")
    html = client.get(f"/conferences/{tree.cid}/effectiveness/print").text
    assert "Trung tâm Hội nghị 272" in html
    assert "Hoàn Kiếm" not in html and "Điểm cầu Hà Nội" not in html


def test_linked_from_the_conference_and_the_attendance_report(
    client: TestClient, db: Session, admin: User, tree: Tree
) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    for page in ("sites", "report"):
        html = client.get(f"/conferences/{tree.cid}/{page}").text
        assert f'href="/conferences/{tree.cid}/effectiveness' in html
    empty = client.get(f"/conferences/{tree.cid}/effectiveness").text
    assert 'id="no-pair"' in empty
