"""GET /api/v1/audit and /api/v1/audit.csv: filters, keyset pages, personal values
opened (and "[đã xoá]" once forgotten), formula-safe CSV, reads and exports recorded."""

import contextvars
import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.accounts.models import User
from app.audit import keys
from app.audit.context import Actor, set_actor
from app.audit.models import AuditEntry
from app.audit.service import record
from tests.conftest import Tree, token_for

API = "/api/v1/audit"


def _get(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    r = client.get(API, headers=headers, params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    entries: list[dict[str, Any]] = r.json()["entries"]
    return entries


def _log(engine: Engine, **where: Any) -> list[AuditEntry]:
    with Session(engine) as s:
        query = select(AuditEntry).filter_by(**where).order_by(AuditEntry.id)  # type: ignore[arg-type]
        return list(s.execute(query).scalars())


def _coordinator(client: TestClient, headers: dict[str, str], tree: Tree, name: str) -> int:
    """A coordinator account made over HTTP: its name and phone are personal values."""
    r = client.post(f"/api/v1/sites/{tree.ward_a1}/coordinators", headers=headers, json={
        "username": f"cb{abs(hash(name)) % 10_000}", "password": "mat-khau-du-dai-1",
        "full_name": name, "phone": "0912345678"})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_filters_by_who_role_what_where_and_when(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    made = client.post("/api/v1/conferences", headers=admin_headers, json={
        "title": "Hội nghị khác", "starts_on": "2026-12-20", "ends_on": "2026-12-20"})
    other = made.json()["id"]
    mine = _get(client, admin_headers, who="ADMIN", action="create")
    assert mine and {(e["actor_name"], e["role"], e["action"]) for e in mine} == {
        ("admin", "admin", "create")}
    assert {e["object_type"] for e in mine} == {"conference"}  # the tree was made by the system
    system = _get(client, admin_headers, role="system", object_type="site")
    assert {e["object_type"] for e in system} == {"site"} and len(system) >= 6
    in_tree = _get(client, admin_headers, conference_id=tree.cid)
    assert in_tree and {e["conference_id"] for e in in_tree} == {tree.cid}
    assert _get(client, admin_headers, conference_id=other, role="admin")[0]["object_id"] == (
        str(other))
    hub = _get(client, admin_headers, site_id=tree.hub_a)
    assert hub and {e["site_id"] for e in hub} == {tree.hub_a}
    assert _get(client, admin_headers, object_type="site", object_id=str(tree.hub_a))
    now = datetime.now(UTC)
    later = (now + timedelta(hours=1)).isoformat()
    assert _get(client, admin_headers, **{"from": later}) == []
    assert _get(client, admin_headers, to=(now - timedelta(days=1)).date().isoformat()) == []
    today = _get(client, admin_headers, **{"from": (now - timedelta(hours=1)).isoformat(),
                                          "to": later})
    assert {e["id"] for e in in_tree} < {e["id"] for e in today}


def test_pages_newest_first_by_id_until_the_last(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, engine: Engine
) -> None:
    seen: list[int] = []
    before: int | None = None
    while True:
        params: dict[str, Any] = {"limit": 4} | ({"before": before} if before else {})
        body = client.get(API, headers=admin_headers, params=params).json()
        seen += [e["id"] for e in body["entries"]]
        before = body["next_before"]
        if before is None:
            break
        assert before == seen[-1]
    # Each page that opened a name recorded a view: newer than the first page, never in it.
    everything = [e.id for e in _log(engine) if e.id is not None and e.id <= seen[0]]
    assert seen == sorted(everything, reverse=True)
    assert len(seen) > 8


def test_personal_values_are_opened_then_read_erased_once_forgotten(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, engine: Engine
) -> None:
    account = _coordinator(client, admin_headers, tree, "Nguyễn Văn An")
    shown = _get(client, admin_headers, object_type="user_account", object_id=str(account))
    assert shown[0]["after"]["full_name"] == "Nguyễn Văn An"
    assert shown[0]["after"]["phone"] == "0912345678"
    assert {"full_name", "phone"} <= set(shown[0]["opened"])
    with Session(engine) as w:
        record_forget = keys.forget(w.connection(), [keys.subject_of("user_account", account)])
        w.commit()
    assert record_forget == 1
    gone = _get(client, admin_headers, object_type="user_account", object_id=str(account))
    assert gone[0]["after"]["full_name"] == keys.ERASED == gone[0]["after"]["phone"]
    assert gone[0]["after"]["site_id"] == tree.ward_a1  # what is not personal stays
    assert gone[0]["after"]["password_hash"] == "***"


def test_a_read_that_opens_personal_values_is_recorded(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, engine: Engine
) -> None:
    _get(client, admin_headers, object_type="conference")
    assert _log(engine, action="view", object_type="audit_log") == []  # nothing personal
    _coordinator(client, admin_headers, tree, "Trần Thị Bình")
    _get(client, admin_headers, object_type="user_account", action="create")
    views = _log(engine, action="view", object_type="audit_log")
    assert len(views) == 1
    assert (views[0].actor_name, views[0].role) == ("admin", "admin")
    assert views[0].detail is not None
    # Two accounts' entries opened: the new coordinator's and the first admin's.
    assert views[0].detail["opened"] == 2 and views[0].detail["where"] == "api"
    assert views[0].detail["filters"] == {"object_type": "user_account", "action": "create"}


def _csv(client: TestClient, headers: dict[str, str], url: str = f"{API}.csv",
         **params: Any) -> list[list[str]]:
    r = client.get(url, headers=headers, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))


def _forged_entry(engine: Engine) -> None:
    # An address is whatever the proxy forwarded: an attacker's text.
    set_actor(Actor(role="anonymous", address="=1+2", username="@SUM(A1)"))
    with Session(engine) as w:
        record(w, action="-view", object_type="attendee", object_id="+1")
        w.commit()


def test_csv_export_is_formula_safe_opened_and_recorded(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, engine: Engine, admin: User
) -> None:
    _coordinator(client, admin_headers, tree, "=HYPERLINK(\"http://x\")")
    contextvars.copy_context().run(_forged_entry, engine)
    rows = _csv(client, admin_headers)
    assert rows[0][:3] == ["Mã mục", "Thời điểm (UTC)", "Tài khoản"]
    forged = next(r for r in rows[1:] if r[4] == "anonymous")
    assert forged[2] == "'@SUM(A1)" and forged[5] == "'=1+2"
    assert forged[6] == "'-view" and forged[8] == "'+1"
    person = next(r for r in rows[1:] if r[7] == "user_account" and r[8] != "1")
    assert '"full_name": "=HYPERLINK' in person[12]  # opened, inside a JSON cell
    exports = _log(engine, action="export", object_type="audit_log")
    assert len(exports) == 1 and exports[0].actor_name == "admin"
    assert exports[0].detail == {"where": "api", "filters": {}, "format": "csv"}
    only = _csv(client, admin_headers, object_type="attendee", action="-view")
    assert len(only) == 2 and only[1][8] == "'+1"


@pytest.mark.parametrize("params", [{"conference_id": "abc"}, {"site_id": "-1"},
                                    {"role": "boss"}, {"from": "hôm qua"},
                                    {"from": "0001-01-01"}, {"to": "2026-13-01T08:00"}])
def test_bad_filters_are_refused_with_a_code(
    client: TestClient, admin_headers: dict[str, str], params: dict[str, str]
) -> None:
    for url in (API, f"{API}.csv"):
        r = client.get(url, headers=admin_headers, params=params)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "audit_filter_invalid"


def test_only_the_central_office_reads_the_log(
    client: TestClient, coordinator_a: User, engine: Engine
) -> None:
    headers = token_for(client, "hcm", "hcm-password")
    for url in (API, f"{API}.csv"):
        r = client.get(url, headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "admin_only"
    assert _log(engine, object_type="audit_log") == []
