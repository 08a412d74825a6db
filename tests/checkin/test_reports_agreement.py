"""The demo after a scripted morning: the dashboard (read back and live), the /attendance
summary, the report page, the CSV and the XLSX all give the same totals, for the live
session and for the whole conference (every session counted, each person once)."""

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.db import create_db_engine
from app.demo import TITLE, load_demo
from app.main import create_app
from endpoints.models import Conference, Participation, Readiness, Site, SiteKind
from tests.conftest import ADMIN_PASSWORD, make_settings, token_for

FIGURES = ("sites", "expected", "checked_in", "headcount", "present")


@pytest.fixture
def demo(database_url: str) -> Iterator[tuple[TestClient, int]]:
    """The demo conference behind a running app whose dashboards flush every 50 ms."""
    settings = make_settings(database_url, dashboard_interval_seconds=0.05)
    engine = create_db_engine(database_url, pool_size=2)
    with Session(engine) as db:
        load_demo(db, admin_username="admin", admin_password=ADMIN_PASSWORD,
                  data_dir=settings.data_dir)
        cid = db.exec(select(Conference.id).where(Conference.title == TITLE)).one()
    engine.dispose()
    assert cid is not None
    with TestClient(create_app(settings)) as client:
        client.headers.update(token_for(client, "admin", ADMIN_PASSWORD))
        yield client, cid


def _communes(client: TestClient, cid: int) -> list[dict[str, Any]]:
    r = client.get(f"/api/v1/conferences/{cid}/attendance")
    return [s for s in r.json()["sites"]
            if s["kind"] in (SiteKind.commune, SiteKind.ward) and s["expected"] > 0]


def _morning(client: TestClient, cid: int, sid: int) -> int:
    """Check-ins into the live session and at the door, headcounts (one corrected), one
    site declaring không tham gia; returns that site."""
    a, b, c, quitter = (int(s["site_id"]) for s in _communes(client, cid)[:4])
    people = client.post(f"/api/v1/conferences/{cid}/attendees", json=[
        {"full_name": f"Đại biểu {n}", "site_id": site}
        for n, site in enumerate((a, a, a, a, a, b, b, b))]).json()

    def scan(person: int, site: int, session: int | None, status: int = 201) -> None:
        body = {"code": people[person]["code"], "site_id": site, "session_id": session}
        r = client.post("/api/v1/checkins", json=body)
        assert r.status_code == status, r.text

    for person in range(4):
        scan(person, a, sid)
    scan(4, a, None)
    scan(0, a, None, status=200)  # in the session already: at the conference already
    scan(5, a, sid)  # B's attendee in A's room
    scan(6, b, None)
    scan(6, b, sid)
    for site, session, counts in ((a, sid, {"dai_bieu": 8}),
                                  (b, None, {"dai_bieu": 6, "khach_moi": 4}),
                                  (c, sid, {"dai_bieu": 3}), (c, sid, {"dai_bieu": 5})):
        r = client.post(f"/api/v1/sites/{site}/headcounts",
                        json={"session_id": session, "counts": counts, "conference_id": cid})
        assert r.status_code == 201, r.text
    r = client.patch(f"/api/v1/sites/{quitter}?conference_id={cid}",
                     json={"readiness": "not_participating"})
    assert r.status_code == 200, r.text
    return quitter


def _query(session_id: int | None) -> str:
    return "" if session_id is None else f"session_id={session_id}"


def _dashboard(client: TestClient, cid: int, session_id: int | None) -> dict[str, int]:
    body = client.get(f"/api/v1/conferences/{cid}/dashboard?{_query(session_id)}").json()
    return {k: body["totals"][k] for k in FIGURES}


def _live(client: TestClient, cid: int, session_id: int | None) -> dict[str, int]:
    token = client.headers["Authorization"].split(" ", 1)[1]
    url = f"/ws/dashboard?conference_id={cid}&token={token}&{_query(session_id)}"
    with client.websocket_connect(url) as ws:
        snapshot = json.loads(ws.receive_text())
    return {k: snapshot["totals"][k] for k in FIGURES}


def _summary(client: TestClient, cid: int, session_id: int | None) -> dict[str, int]:
    body = client.get(f"/api/v1/conferences/{cid}/attendance?{_query(session_id)}").json()
    sites = sum(1 for s in body["sites"] if s["readiness"] != Readiness.not_participating)
    return {"sites": sites, **{k: body[k] for k in FIGURES[1:]}}


def _number(text: str | int | None) -> int:
    return int(str(text or 0).replace(".", ""))


def _page(client: TestClient, cid: int, session_id: int | None) -> dict[str, int]:
    html = client.get(f"/conferences/{cid}/report?session_id={session_id or 0}").text
    total = re.search(r'<tr class="total">(.*?)</tr>', html, re.S)
    assert total is not None
    cells = re.findall(r'<td class="num">([\d.]*)</td>', total.group(1))
    return dict(zip(("all_sites", *FIGURES), map(_number, cells), strict=False))


def _files(client: TestClient, cid: int, session_id: int | None) -> list[dict[str, int]]:
    base = f"/api/v1/conferences/{cid}/reports/attendance"
    site_csv = list(csv.reader(io.StringIO(
        client.get(f"{base}.csv?level=site&{_query(session_id)}").text.lstrip("\ufeff"))))
    hub_csv = list(csv.reader(io.StringIO(
        client.get(f"{base}.csv?level=hub&{_query(session_id)}").text.lstrip("\ufeff"))))
    book = load_workbook(io.BytesIO(client.get(f"{base}.xlsx?{_query(session_id)}").content),
                         read_only=True)
    site_sheet = list(book["Điểm cầu"].iter_rows(values_only=True))
    hub_sheet = list(book["Theo tỉnh, thành"].iter_rows(values_only=True))
    participating = sum(1 for row in site_csv[1:-1] if row[4] != "không tham gia")
    out = []
    for total, first, sites in ((site_csv[-1], 5, participating),
                                (site_sheet[-1], 5, participating),
                                (hub_csv[-1], 3, _number(hub_csv[-1][2])),
                                (hub_sheet[-1], 3, _number(hub_sheet[-1][2]))):
        values = [_number(v) for v in total[first:first + 4]]
        out.append({"sites": sites, **dict(zip(FIGURES[1:], values, strict=True))})
    return out


def _by_session(client: TestClient, cid: int) -> dict[str, list[int]]:
    """The report's per-session sheet: checked in, headcount, present by title."""
    book = load_workbook(io.BytesIO(
        client.get(f"/api/v1/conferences/{cid}/reports/attendance.xlsx").content), read_only=True)
    rows = list(book["Theo phiên"].iter_rows(values_only=True))[1:]
    return {str(r[0]): [_number(v) for v in r[2:5]] for r in rows}


def _expected_of_participants(database_url: str, cid: int) -> int:
    engine = create_db_engine(database_url, pool_size=1)
    with Session(engine) as db:
        total = db.exec(select(func.sum(Participation.expected_attendees)).where(
            Participation.conference_id == cid,
            col(Participation.readiness) != Readiness.not_participating)).one()
        assert db.exec(select(func.count()).select_from(Site)).one() > 30
    engine.dispose()
    return int(total or 0)


def test_dashboard_summary_report_and_files_agree_after_a_morning(
    demo: tuple[TestClient, int], database_url: str
) -> None:
    client, cid = demo
    sessions = client.get(f"/api/v1/conferences/{cid}/sessions").json()
    live = next(s for s in sessions if s["status"] == "live")
    for session_id in (live["id"], None):  # the dashboards follow from the first message
        _live(client, cid, session_id)
    _morning(client, cid, live["id"])
    time.sleep(0.3)  # a few flushes of the live boards
    expected = _expected_of_participants(database_url, cid)
    figures = {}
    for session_id, checked_in in ((live["id"], 6), (None, 7)):
        dashboard = _dashboard(client, cid, session_id)
        assert dashboard["checked_in"] == checked_in
        assert dashboard["expected"] == expected
        page = _page(client, cid, session_id)
        assert page.pop("all_sites") > dashboard["sites"]  # the site không tham gia is listed
        sources = {"live": _live(client, cid, session_id),
                   "summary": _summary(client, cid, session_id), "page": page}
        sources.update({f"file{n}": f for n, f in enumerate(_files(client, cid, session_id))})
        for name, got in sources.items():
            assert got == dashboard, (session_id, name)
        figures[session_id] = dashboard
    # The per-session sheet says the same as each view.
    sheet = _by_session(client, cid)
    for title, session_id in ((live["title"], live["id"]), ("Cả hội nghị", None)):
        f = figures[session_id]
        assert sheet[title] == [f["checked_in"], f["headcount"], f["present"]]
