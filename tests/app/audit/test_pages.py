"""The central office's audit page (/audit) and its CSV download (/audit.csv)."""

import csv
import io
import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.accounts.models import User
from app.audit.models import AuditEntry
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.support import login


def _views(engine: Engine, action: str = "view") -> list[AuditEntry]:
    with Session(engine) as s:
        query = select(AuditEntry).where(AuditEntry.object_type == "audit_log",  # type: ignore[arg-type]
                                         AuditEntry.action == action)  # type: ignore[arg-type]
        return list(s.execute(query).scalars())


def _rows(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-entry="(\d+)"', html)]


def test_the_page_filters_pages_and_opens_personal_values(
    client: TestClient, tree: Tree, coordinator_a: User, engine: Engine
) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    page = client.get("/audit", params={"object_type": "site", "limit": 3})
    assert page.status_code == 200, page.text
    assert "Nhật ký kiểm toán" in page.text and 'href="/audit"' in page.text  # nav link
    first = _rows(page.text)
    assert len(first) == 3 and first == sorted(first, reverse=True)
    assert 'value="site"' in page.text  # the form keeps the filter
    older = re.search(r'href="\?([^"]*before=(\d+)[^"]*)"', page.text)
    assert older is not None and "object_type=site" in older.group(1)
    assert int(older.group(2)) == first[-1]
    second = _rows(client.get(f"/audit?{older.group(1).replace('&amp;', '&')}").text)
    assert second and max(second) < min(first)
    assert _views(engine) == []  # sites hold nothing personal
    people = client.get("/audit", params={"object_type": "user_account", "who": ""})
    assert "Lê Thị Hồng" in people.text and "0901234567" in people.text
    assert "Điểm cầu #" in people.text
    views = _views(engine)
    assert len(views) == 1 and views[0].detail is not None
    assert views[0].detail["where"] == "page"


def test_the_page_download_is_csv_and_recorded(
    client: TestClient, tree: Tree, engine: Engine
) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = client.get("/audit.csv", params={"role": "system", "object_type": "site"})
    assert r.status_code == 200
    assert r.content.startswith(b"\xef\xbb\xbf") and "nhat-ky-kiem-toan" in r.headers[
        "content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {(row[4], row[7]) for row in rows[1:]} == {("system", "site")}
    assert sum(row[6] == "create" for row in rows) == 6  # the tree's six sites
    exports = _views(engine, "export")
    assert len(exports) == 1 and exports[0].detail == {
        "where": "page", "filters": {"role": "system", "object_type": "site"}, "format": "csv"}


def test_a_bad_filter_shows_the_error_page(client: TestClient, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = client.get("/audit", params={"conference_id": "mười"})
    assert r.status_code == 422 and "audit_filter_invalid" in r.text
    assert "“hội nghị” phải là một số" in r.text


def test_coordinators_get_no_page_and_no_link(client: TestClient, coordinator_a: User) -> None:
    login(client, "hcm", "hcm-password")
    assert 'href="/audit"' not in client.get("/conferences").text
    for url in ("/audit", "/audit.csv"):
        r = client.get(url)
        assert r.status_code == 403 and "admin_only" in r.text
