"""Attendance reports on SQLite and PostgreSQL: roll-ups at every level, CSV, XLSX, the
printable page, Vietnamese formats and the local time zone across midnight UTC."""

import csv
import io
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from app.accounts.models import User
from app.config import Settings
from checkin import headcounts as checkin_headcounts
from checkin import keys, reports, service
from checkin.models import Attendance
from endpoints import errors as endpoints_errors
from endpoints import service as endpoints_service
from endpoints import site_changes
from endpoints.models import Participation, Readiness, Site, SiteCreate, SiteKind, SiteUpdate
from sessions import service as sessions_service
from sessions.models import SessionCreate
from tests.checkin.support import Roster, code_for, make_roster
from tests.conftest import Tree, token_for


@pytest.fixture
def wdb(engine: Engine) -> Iterator[Session]:
    """A session that writes like the app's (BEGIN IMMEDIATE on SQLite)."""
    keys.forget(engine)
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def roster(wdb: Session, admin: User, tree: Tree) -> Roster:
    return make_roster(wdb, admin, tree)


CSV_URL = "/api/v1/conferences/{cid}/reports/attendance.csv"
XLSX_URL = "/api/v1/conferences/{cid}/reports/attendance.xlsx"


def _expect(db: Session, admin: User, site_id: int, expected: int) -> None:
    site_changes.update_site(
        db, site_id=site_id, data=SiteUpdate(expected_attendees=expected), actor=admin
    )


def _arrange(db: Session, admin: User, tree: Tree, roster: Roster, settings: Settings) -> None:
    """Expected 4 at ward A1 (2 checked in), 50 at ward A2 (headcount 40), 10 at ward B1
    (1 checked in, headcount 6: present is the higher), 20 at hub B (headcount 15)."""
    for site_id, expected in ((tree.ward_a1, 4), (tree.ward_a2, 50), (tree.ward_b1, 10),
                              (tree.hub_b, 20)):
        _expect(db, admin, site_id, expected)
    for person, site_id in ((roster.an, tree.ward_a1), (roster.binh, tree.ward_a1),
                            (roster.cuong, tree.ward_b1)):
        service.check_in(db, code=code_for(db, person, settings), site_id=site_id, actor=admin,
                         settings=settings)
    for site_id, total in ((tree.ward_a2, 40), (tree.ward_b1, 6), (tree.hub_b, 15)):
        checkin_headcounts.report_headcount(db, site_id=site_id, session_id=None,
                                 counts={"dai_bieu": total}, actor=admin)


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


# ------------------------------------------------------------------ roll-ups


def test_attendance_report_subtree_equals_sum_of_children_at_every_level(
    wdb: Session, admin: User, tree: Tree, roster: Roster, settings: Settings
) -> None:
    _arrange(wdb, admin, tree, roster, settings)
    report = reports.attendance_report(wdb, conference_id=tree.cid, actor=admin)
    by_id = {r.site_id: r for r in report.rows}
    for row in report.rows:
        children = [r for r in report.rows if r.parent_id == row.site_id]
        for figure in ("sites", "expected", "checked_in", "headcount", "present"):
            assert getattr(row.subtree, figure) == getattr(row.own, figure) + sum(
                getattr(c.subtree, figure) for c in children), (row.name, figure)
    hub_a, hub_b = by_id[tree.hub_a].subtree, by_id[tree.hub_b].subtree
    assert (hub_a.sites, hub_a.expected, hub_a.checked_in, hub_a.headcount, hub_a.present) == (
        3, 54, 2, 40, 42)
    assert (hub_b.sites, hub_b.expected, hub_b.checked_in, hub_b.headcount, hub_b.present) == (
        2, 30, 1, 21, 21)
    central = by_id[tree.central].subtree
    assert (central.sites, central.expected, central.present) == (6, 84, 63)
    t = report.totals
    assert (t.sites, t.expected, t.checked_in, t.headcount, t.present) == (6, 84, 3, 61, 63)
    assert t.rate == pytest.approx(63 / 84)


def test_attendance_report_groups_by_outermost_hub_with_subtotals(
    wdb: Session, admin: User, tree: Tree, roster: Roster, settings: Settings
) -> None:
    _arrange(wdb, admin, tree, roster, settings)
    report = reports.attendance_report(wdb, conference_id=tree.cid, actor=admin)
    names = [g.name for g in report.groups]
    # Hubs by Vietnamese name: "Điểm cầu …" before "Trung tâm …".
    assert names == ["Điểm cầu Hà Nội", "Trung tâm Hội nghị 272", reports.OTHER_GROUP]
    hanoi, hcm, other = report.groups
    assert [r.site_id for r in hcm.rows] == [tree.hub_a, tree.ward_a1, tree.ward_a2]
    assert [r.site_id for r in other.rows] == [tree.central]
    for group in report.groups:
        assert group.totals.present == sum(r.own.present for r in group.rows)
        assert group.totals.expected == sum(r.own.expected for r in group.rows)
    assert sum(g.totals.present for g in report.groups) == report.totals.present
    assert (hanoi.totals.checked_in, hanoi.totals.headcount, hanoi.totals.present) == (1, 21, 21)


def test_attendance_report_hub_under_hub_stays_in_outer_group(
    wdb: Session, admin: User, tree: Tree
) -> None:
    inner = endpoints_service.create_site(
        wdb, conference_id=tree.cid, actor=admin,
        data=SiteCreate(name="Cụm Thủ Đức", kind=SiteKind.hub, parent_id=tree.hub_a,
                        expected_attendees=7),
    )
    endpoints_service.create_site(
        wdb, conference_id=tree.cid, actor=admin,
        data=SiteCreate(name="Phường Linh Trung", kind=SiteKind.ward, parent_id=inner.id,
                        expected_attendees=5),
    )
    report = reports.attendance_report(wdb, conference_id=tree.cid, actor=admin)
    hcm = report.groups[1]  # after "Điểm cầu Hà Nội"
    assert len(report.groups) == 3
    # The inner hub comes first among its siblings (kind order), its ward under it.
    assert [r.name for r in hcm.rows][1:3] == ["Cụm Thủ Đức", "Phường Linh Trung"]
    assert hcm.totals.expected == 12 and hcm.totals.sites == 5


def test_attendance_report_coordinator_sees_own_subtree_only(
    wdb: Session, admin: User, tree: Tree, roster: Roster, settings: Settings,
    coordinator_a: User,
) -> None:
    _arrange(wdb, admin, tree, roster, settings)
    report = reports.attendance_report(wdb, conference_id=tree.cid, actor=coordinator_a)
    assert {r.site_id for r in report.rows} == {tree.hub_a, tree.ward_a1, tree.ward_a2}
    assert (report.totals.expected, report.totals.present) == (54, 42)
    with pytest.raises(endpoints_errors.SiteOutOfScope):
        reports.attendance_report(wdb, conference_id=tree.cid, actor=coordinator_a,
                                  under_id=tree.hub_b)


def test_attendance_report_under_site_narrows_to_subtree(
    wdb: Session, admin: User, tree: Tree, roster: Roster, settings: Settings
) -> None:
    _arrange(wdb, admin, tree, roster, settings)
    report = reports.attendance_report(wdb, conference_id=tree.cid, actor=admin,
                                       under_id=tree.hub_b)
    assert [r.site_id for r in report.rows] == [tree.hub_b, tree.ward_b1]
    assert report.under_name == "Điểm cầu Hà Nội"
    assert (report.totals.expected, report.totals.present) == (30, 21)


def test_attendance_report_not_participating_site_not_counted_as_site(
    wdb: Session, admin: User, tree: Tree
) -> None:
    site_changes.update_site(
        wdb, site_id=tree.ward_a2, actor=admin,
        data=SiteUpdate(readiness=Readiness.not_participating),
    )
    report = reports.attendance_report(wdb, conference_id=tree.cid, actor=admin)
    assert (report.totals.sites, report.totals.participating) == (6, 5)
    row = next(r for r in report.rows if r.site_id == tree.ward_a2)
    assert row.readiness_label == "không tham gia"


def test_attendance_report_per_session_counts_only_that_session(
    wdb: Session, admin: User, tree: Tree, roster: Roster, settings: Settings
) -> None:
    opening = sessions_service.create_session(
        wdb, conference_id=tree.cid, actor=admin,
        data=SessionCreate(title="Phiên khai mạc", starts_at=datetime(2025, 9, 9, 8, 0),
                           ends_at=datetime(2025, 9, 9, 9, 0)),
    )
    _arrange(wdb, admin, tree, roster, settings)  # conference-level: 3 checked in
    service.check_in(wdb, code=code_for(wdb, roster.an, settings), site_id=tree.ward_a1,
                     actor=admin, session_id=opening.id, settings=settings)
    report = reports.attendance_report(wdb, conference_id=tree.cid, actor=admin,
                                       session_id=opening.id)
    assert report.session_title == "Phiên khai mạc"
    assert (report.totals.checked_in, report.totals.headcount, report.totals.present) == (1, 0, 1)
    overall = reports.attendance_report(wdb, conference_id=tree.cid, actor=admin)
    by_title = {s.title: s.totals for s in overall.sessions}
    assert by_title["Cả hội nghị"].present == 63
    assert (by_title["Phiên khai mạc"].checked_in, by_title["Phiên khai mạc"].present) == (1, 1)


def test_summary_sentence_uses_vietnamese_thousands() -> None:
    report = reports.AttendanceReport(
        conference_id=1, conference_title="x", starts_on=date(2025, 9, 9),
        ends_on=date(2025, 9, 9), session_id=None, session_title=None, under_id=None,
        under_name=None, generated_at=datetime(2025, 9, 9, tzinfo=UTC),
        totals=reports.Counts(sites=3400, participating=3354, expected=160_000, present=150_000),
        rows=[], groups=[],
    )
    assert report.summary_sentence() == "3.354 điểm cầu, 150.000 đại biểu"
    assert reports.format_rate(report.totals.rate) == "93,8%"
    assert reports.format_rate(None) == ""


# ------------------------------------------------------------------- routes


def _late_checkin(wdb: Session, roster: Roster) -> None:
    """An's check-in was at 23:30 UTC on 09/09: 06:30 on 10/09 in Viet Nam."""
    wdb.execute(
        update(Attendance)
        .where(col(Attendance.attendee_id) == roster.an.id)
        .values(checked_in_at=datetime(2025, 9, 9, 23, 30, tzinfo=UTC))
    )
    wdb.execute(
        update(Attendance)
        .where(col(Attendance.attendee_id) == roster.binh.id)
        .values(checked_in_at=datetime(2025, 9, 10, 1, 5, tzinfo=UTC))
    )
    wdb.commit()


def test_csv_has_bom_vietnamese_headers_local_times_and_total(
    client: TestClient, admin_headers: dict[str, str], wdb: Session, admin: User, tree: Tree,
    roster: Roster, settings: Settings,
) -> None:
    _arrange(wdb, admin, tree, roster, settings)
    _late_checkin(wdb, roster)
    r = client.get(CSV_URL.format(cid=tree.cid), headers=admin_headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="bao-cao-diem-danh-' in r.headers["content-disposition"]
    rows = _csv(r.content)
    assert rows[0] == reports.SITE_HEADERS
    assert rows[0][:3] == ["Mã điểm cầu", "Tên điểm cầu", "Loại"]
    ward = next(row for row in rows if row[1] == "Đảng ủy phường Bến Nghé")
    assert ward[0] == "HCM-BN" and ward[2] == "Phường" and ward[3] == "Trung tâm Hội nghị 272"
    assert ward[4] == "chưa kết nối"
    assert ward[5:10] == ["4", "2", "", "2", "50,0"]
    assert ward[10:12] == ["10/09/2025 06:30", "10/09/2025 08:05"]
    total = rows[-1]
    assert total[1] == "Tổng cộng" and total[5:10] == ["84", "3", "61", "63", "75,0"]
    assert len(rows) == 1 + 6 + 1


def test_csv_quotes_names_with_commas_and_quotes(
    client: TestClient, admin_headers: dict[str, str], db: Session, admin: User, tree: Tree
) -> None:
    endpoints_service.create_site(
        db, conference_id=tree.cid, actor=admin,
        data=SiteCreate(name='Sở Y tế, "Khối" A', kind=SiteKind.department, parent_id=tree.hub_a),
    )
    r = client.get(CSV_URL.format(cid=tree.cid), headers=admin_headers)
    assert '"Sở Y tế, ""Khối"" A"' in r.content.decode("utf-8-sig")
    assert any(row[1] == 'Sở Y tế, "Khối" A' for row in _csv(r.content))


def test_csv_per_hub_level_lists_groups_and_total(
    client: TestClient, admin_headers: dict[str, str], wdb: Session, admin: User, tree: Tree,
    roster: Roster, settings: Settings,
) -> None:
    _arrange(wdb, admin, tree, roster, settings)
    r = client.get(CSV_URL.format(cid=tree.cid) + "?level=hub", headers=admin_headers)
    rows = _csv(r.content)
    assert rows[0] == reports.GROUP_HEADERS
    assert rows[1] == ["Điểm cầu Hà Nội", "2", "2", "30", "1", "21", "21", "70,0"]
    assert rows[2] == ["Trung tâm Hội nghị 272", "3", "3", "54", "2", "40", "42", "77,8"]
    assert rows[-1][0] == "Tổng cộng" and rows[-1][6] == "63"


def test_csv_coordinator_limited_to_subtree_and_refused_elsewhere(
    client: TestClient, wdb: Session, admin: User, tree: Tree, roster: Roster,
    settings: Settings, coordinator_a: User,
) -> None:
    _arrange(wdb, admin, tree, roster, settings)
    headers = token_for(client, "hcm", "hcm-password")
    rows = _csv(client.get(CSV_URL.format(cid=tree.cid), headers=headers).content)
    assert [row[1] for row in rows[1:-1]] == [
        "Trung tâm Hội nghị 272", "Đảng ủy phường Bến Nghé", "Đảng ủy xã Cần Giờ"]
    r = client.get(CSV_URL.format(cid=tree.cid) + f"?under_id={tree.hub_b}", headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "site_out_of_scope"


@pytest.mark.parametrize(
    "query, status",
    [("?session_id=999999", 404), ("?under_id=999999", 404), ("?session_id=abc", 422),
     ("?level=province", 422), ("?under_id=-1", 422)],
)
def test_report_routes_refuse_bad_input(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, query: str, status: int
) -> None:
    for url in (CSV_URL, XLSX_URL):
        if "level" in query and url == XLSX_URL:
            continue
        r = client.get(url.format(cid=tree.cid) + query, headers=admin_headers)
        assert r.status_code == status, (url, r.text)
        assert r.json()["code"]


def test_report_routes_need_login_and_known_conference(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    assert client.get(CSV_URL.format(cid=tree.cid)).status_code == 401
    assert client.get(XLSX_URL.format(cid=tree.cid)).status_code == 401
    r = client.get(CSV_URL.format(cid=999999), headers=admin_headers)
    assert r.status_code == 404 and r.json()["code"] == "conference_not_found"


def test_xlsx_sheets_formats_frozen_header_and_local_times(
    client: TestClient, admin_headers: dict[str, str], wdb: Session, admin: User, tree: Tree,
    roster: Roster, settings: Settings,
) -> None:
    _arrange(wdb, admin, tree, roster, settings)
    _late_checkin(wdb, roster)
    r = client.get(XLSX_URL.format(cid=tree.cid), headers=admin_headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["Điểm cầu", "Theo tỉnh, thành", "Theo phiên"]
    sites = book["Điểm cầu"]
    assert [c.value for c in sites[1]] == reports.SITE_HEADERS
    assert all(c.font.bold for c in sites[1])
    assert sites.freeze_panes == "A2"
    assert sites.column_dimensions["B"].width == 40
    ward = next(r for r in sites.iter_rows(min_row=2) if r[1].value == "Đảng ủy phường Bến Nghé")
    assert [c.value for c in ward[5:9]] == [4, 2, None, 2]
    assert ward[5].number_format == "#,##0"
    assert ward[9].value == pytest.approx(0.5) and ward[9].number_format == "0.0%"
    assert ward[10].value == datetime(2025, 9, 10, 6, 30)
    assert ward[10].number_format == "dd/mm/yyyy hh:mm"
    last = list(sites.iter_rows(values_only=True))[-1]
    assert last[1] == "Tổng cộng" and last[5:9] == (84, 3, 61, 63)
    groups = list(book["Theo tỉnh, thành"].iter_rows(values_only=True))
    assert groups[2][:8] == ("Trung tâm Hội nghị 272", 3, 3, 54, 2, 40, 42, pytest.approx(42 / 54))
    assert groups[-1][0] == "Tổng cộng" and groups[-1][6] == 63
    sessions = list(book["Theo phiên"].iter_rows(values_only=True))
    assert sessions[1][0] == "Cả hội nghị" and sessions[1][4] == 63


# -------------------------------------------------------------------- page


def test_report_page_vietnamese_dates_numbers_and_subtotals(
    client: TestClient, admin_headers: dict[str, str], wdb: Session, admin: User, tree: Tree,
    roster: Roster, settings: Settings,
) -> None:
    _arrange(wdb, admin, tree, roster, settings)
    checkin_headcounts.report_headcount(wdb, site_id=tree.ward_a2, session_id=None,
                             counts={"dai_bieu": 1930}, actor=admin)
    _late_checkin(wdb, roster)
    r = client.get(f"/conferences/{tree.cid}/report", headers=admin_headers)
    assert r.status_code == 200, r.text
    html = r.text
    assert "BÁO CÁO KẾT QUẢ THAM DỰ HỘI NGHỊ" in html
    assert "Ngày 09 tháng 9 năm 2025" in html
    assert "6 điểm cầu, 1.953 đại biểu" in html  # 2 + 1.930 + 6 + 15
    assert "10/09/2025 06:30" in html
    assert "Cộng Trung tâm Hội nghị 272" in html and "Cộng Điểm cầu Hà Nội" in html
    assert "1.932" in html  # hub A: 2 + 1.930
    assert 'aria-current="page">Báo cáo<' in html
    assert f"/api/v1/conferences/{tree.cid}/reports/attendance.xlsx" in html


def test_report_page_coordinator_and_junk_query(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    headers = token_for(client, "hcm", "hcm-password")
    r = client.get(f"/conferences/{tree.cid}/report?session_id=abc&under_id=x", headers=headers)
    assert r.status_code == 200
    assert "Đảng ủy xã Cần Giờ" in r.text and "Đảng ủy phường Hoàn Kiếm" not in r.text
    r = client.get(f"/conferences/{tree.cid}/report?under_id={tree.hub_b}", headers=headers)
    assert r.status_code == 403


def test_report_page_without_login_goes_to_login(client: TestClient, tree: Tree) -> None:
    r = client.get(f"/conferences/{tree.cid}/report", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


# -------------------------------------------------------------------- scale


def _bulk_tree(db: Session, conference_id: int, hubs: int, per_hub: int) -> int:
    """A central site, `hubs` hubs and `per_hub` communes each, inserted in bulk into the
    registry and invited to the conference."""
    db.commit()
    base = 1_000_000
    rows = [dict(id=base, name="Trung ương", name_key="trung uong", kind="central",
                 parent_id=None, path=f"/{base}/", depth=0, expected=0)]
    next_id = base + 1
    for h in range(hubs):
        hub_id = next_id
        next_id += 1
        rows.append(dict(id=hub_id, name=f"Tỉnh {h:02d}", name_key=f"tinh {h:02d}", kind="hub",
                         parent_id=base, path=f"/{base}/{hub_id}/", depth=1, expected=100))
        for c in range(per_hub):
            rows.append(dict(id=next_id, name=f"Xã {h}-{c}", name_key=f"xa {h}-{c}",
                             kind="commune", parent_id=hub_id,
                             path=f"/{base}/{hub_id}/{next_id}/", depth=2, expected=62))
            next_id += 1
    now = datetime.now(UTC)
    parts = [dict(conference_id=conference_id, site_id=row["id"], name=row["name"],
                  path=row["path"], expected_attendees=row.pop("expected"), readiness="ready",
                  approval="approved", invited_at=now, updated_at=now) for row in rows]
    for row in rows:
        row.update(status="active", approval="approved", created_at=now, updated_at=now)
    db.execute(insert(Site), rows)
    db.execute(insert(Participation), parts)
    db.commit()
    return len(rows)


def test_reports_of_31000_sites_stream_and_stay_exact(
    client: TestClient, admin_headers: dict[str, str], db: Session, tree: Tree,
    settings: Settings,
) -> None:
    if not settings.is_sqlite:
        pytest.skip("one backend is enough for the size check")
    count = _bulk_tree(db, tree.cid, hubs=34, per_hub=911)  # 1 + 34 + 30,974 = 31,009
    started = time.perf_counter()
    r = client.get(CSV_URL.format(cid=tree.cid), headers=admin_headers)
    rows = _csv(r.content)
    assert len(rows) == 1 + count + 6 + 1
    assert rows[-1][5] == str(34 * 100 + 34 * 911 * 62)
    r = client.get(XLSX_URL.format(cid=tree.cid), headers=admin_headers)
    book = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
    groups = list(book["Theo tỉnh, thành"].iter_rows(values_only=True))
    first = next(g for g in groups if g[0] == "Tỉnh 00")
    assert first[1:4] == (912, 912, 100 + 911 * 62)
    # header, the test tree's 2 hubs, 34 provinces, the central sites, the total
    assert len(groups) == 1 + 2 + 34 + 1 + 1
    page = client.get(f"/conferences/{tree.cid}/report", headers=admin_headers)
    assert page.status_code == 200 and 'id="too-many"' in page.text
    assert time.perf_counter() - started < 60
