"""The effectiveness report's API: JSON at each level with sort, filter and paging, CSV and
XLSX formula-safe with Vietnamese headers, a coordinator's subtree, bad input as a clear
4xx, every download on the audit log (SQLite and PostgreSQL)."""

import csv
import io

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit.models import AuditEntry
from endpoints.models import Participation, Site
from sessions.form_models import TrainingForm
from tests.checkin.effect_world import make_effect_world
from tests.checkin.support import make_roster
from tests.conftest import Tree, token_for

URL = "/api/v1/conferences/{cid}/effectiveness"
FORMULAS = ("=", "+", "-", "@", "\t", "\r")


def _world(db: Session, admin: User, tree: Tree) -> object:
    return make_effect_world(db, admin, tree, make_roster(db, admin, tree))


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_json_levels_totals_sort_and_paging(
    client: TestClient, admin_headers: dict[str, str], db: Session, admin: User, tree: Tree
) -> None:
    _world(db, admin, tree)
    r = client.get(URL.format(cid=tree.cid), headers=admin_headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["pre"]["title"] == "Kiểm tra đầu vào" and body["total"] == 6
    t = body["totals"]
    assert (t["present"], t["pre_mean"], t["post_mean"], t["gain"], t["pairs"],
            t["paired_change"], t["satisfaction"]) == (43, 58.8, 85.0, 0.636, 2, 16.7, 4.2)
    assert t["participation"][str(body["post"]["id"])] == 18.6
    assert [w["position"] for w in body["wrong_pre"]] == [3, 2, 1]
    provinces = client.get(URL.format(cid=tree.cid) + "?level=province&sort=post&desc=true",
                           headers=admin_headers).json()
    assert [r["name"] for r in provinces["rows"]] == [
        "Trung tâm Hội nghị 272", "Điểm cầu Hà Nội", "Các điểm cầu khác"]
    page = client.get(URL.format(cid=tree.cid) + "?sort=pre&limit=2&offset=1",
                      headers=admin_headers).json()
    assert [r["site_id"] for r in page["rows"]] == [tree.ward_b1, tree.ward_a1]
    assert page["total"] == 6
    found = client.get(URL.format(cid=tree.cid) + "?q=can%20gio", headers=admin_headers).json()
    assert [r["site_id"] for r in found["rows"]] == [tree.ward_a2]


def test_a_coordinator_gets_their_subtree_and_is_refused_another(
    client: TestClient, db: Session, admin: User, tree: Tree, coordinator_a: User
) -> None:
    _world(db, admin, tree)
    headers = token_for(client, "hcm", "hcm-password")
    body = client.get(URL.format(cid=tree.cid) + "?level=site", headers=headers).json()
    assert {r["site_id"] for r in body["rows"]} == {tree.hub_a, tree.ward_a1, tree.ward_a2}
    assert body["totals"]["present"] == 30
    text = client.get(URL.format(cid=tree.cid) + ".csv", headers=headers).text
    assert "Hoàn Kiếm" not in text and "Hà Nội" not in text
    r = client.get(URL.format(cid=tree.cid) + f"?under_id={tree.ward_b1}", headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "site_out_of_scope"


def test_bad_input_is_a_clear_4xx(
    client: TestClient, admin_headers: dict[str, str], db: Session, admin: User, tree: Tree
) -> None:
    _world(db, admin, tree)
    url = URL.format(cid=tree.cid)
    r = client.get(url + "?pre_id=999999", headers=admin_headers)
    assert r.status_code == 404 and r.json()["code"] == "effect_pair_not_found"
    assert "bài kiểm tra" in r.json()["detail"]
    for bad in ("level=city", "sort=evil", "filter=x", "limit=0", "pre_id=-1", "under_id=abc"):
        r = client.get(f"{url}?{bad}", headers=admin_headers)
        assert r.status_code == 422, (bad, r.text)
    r = client.get(URL.format(cid=999_999), headers=admin_headers)
    assert r.status_code == 404 and r.json()["code"] == "conference_not_found"


def test_csv_levels_vietnamese_headers_and_totals(
    client: TestClient, admin_headers: dict[str, str], db: Session, admin: User, tree: Tree
) -> None:
    _world(db, admin, tree)
    rows = _csv(client.get(URL.format(cid=tree.cid) + ".csv", headers=admin_headers).content)
    head = rows[0]
    assert head[:5] == ["Mã điểm cầu", "Tên điểm cầu", "Loại", "Cấp tỉnh/thành", "Có mặt"]
    assert "Kiểm tra đầu ra: tỷ lệ trả lời (%)" in head and "Chỉ số tiến bộ g" in head
    total = rows[-1]
    assert total[1] == "Tổng cộng"
    assert total[head.index("Điểm đầu vào TB")] == "58,8"
    assert total[head.index("Chỉ số tiến bộ g")] == "0,636"
    assert total[head.index("Có mặt")] == "43"
    r = client.get(URL.format(cid=tree.cid) + ".csv?level=province", headers=admin_headers)
    assert "-province" in r.headers["content-disposition"]
    provinces = _csv(r.content)
    assert [row[1] for row in provinces[1:]] == [
        "Điểm cầu Hà Nội", "Trung tâm Hội nghị 272", "Các điểm cầu khác", "Tổng cộng"]


def test_exports_are_formula_safe_and_audited(
    client: TestClient, admin_headers: dict[str, str], db: Session, admin: User, tree: Tree
) -> None:
    _world(db, admin, tree)
    db.execute(update(Site).where(col(Site.id) == tree.ward_a1).values(name="=HYPERLINK(1)"))
    db.execute(update(Participation).where(col(Participation.site_id) == tree.ward_a1)
               .values(name="=HYPERLINK(1)"))
    db.execute(update(TrainingForm).where(col(TrainingForm.kind) == "survey")
               .values(title="@SUM(A1)"))
    db.commit()
    r = client.get(URL.format(cid=tree.cid) + ".csv", headers=admin_headers)
    assert r.status_code == 200, r.text
    cells = [c for row in _csv(r.content) for c in row]
    assert not [c for c in cells if c[:1] in FORMULAS]
    assert "'=HYPERLINK(1)" in cells and "'@SUM(A1): số trả lời" in cells
    x = client.get(URL.format(cid=tree.cid) + ".xlsx", headers=admin_headers)
    assert x.status_code == 200, x.text
    book = openpyxl.load_workbook(io.BytesIO(x.content))
    assert book.sheetnames == ["Điểm cầu", "Cụm điểm cầu", "Tỉnh, thành", "Câu sai nhiều"]
    texts = set()
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.add(cell.value)
    assert "'=HYPERLINK(1)" in texts and "'@SUM(A1): số trả lời" in texts
    present = book["Điểm cầu"]["E2"]
    assert present.data_type == "n"
    db.expire_all()
    entries = db.exec(select(AuditEntry).where(
        AuditEntry.object_type == "effectiveness_report").order_by(col(AuditEntry.id))).all()
    assert [(e.action, (e.detail or {})["format"]) for e in entries] == [
        ("export", "csv"), ("export", "xlsx")]
    assert all(e.actor_name == "admin" and e.conference_id == tree.cid for e in entries)
