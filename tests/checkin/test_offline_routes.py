"""JSON API of offline sync: the answers per item, the whole-request refusals (lost
login, revoked coordinator, out of scope, too many items), a replayed queue."""

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts import admin as accounts_admin
from app.accounts.models import User
from checkin import offline_sync
from checkin.models import Attendance
from checkin.offline_models import MAX_SYNC_ITEMS, OfflineSync
from tests.checkin.support import add_two_attendees
from tests.conftest import Tree, token_for

NOW = datetime(2025, 9, 9, 4, 0, tzinfo=UTC)  # 11:00 on the test conference's day


@pytest.fixture(autouse=True)
def _conference_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's clock on the test conference's day (its passes and sessions are 2025)."""
    monkeypatch.setattr(offline_sync, "utcnow", lambda: NOW)


def _queue(codes: list[str], tag: str = "q") -> list[dict[str, Any]]:
    return [{"kind": "scan", "nonce": f"{tag}-{i}", "at": f"2025-09-09T09:{10 + i:02d}:00+07:00",
             "code": code} for i, code in enumerate(codes)]


def test_a_queue_syncs_once_with_each_items_answer(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    people = add_two_attendees(client, admin_headers, tree)
    an, cuong = str(people[0]["short_code"]), str(people[1]["short_code"])
    body = {"device": "Bàn 1", "items": [
        *_queue([an, "not-a-pass"]),
        {"kind": "headcount", "nonce": "h-1", "at": "2025-09-09T09:20:00+07:00",
         "counts": {"dai_bieu": 12}}]}
    url = f"/api/v1/sites/{tree.ward_a1}/sync"
    r = client.post(url, json=body, headers=admin_headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["accepted"], out["already"], out["refused"]) == (2, 0, 1)
    scan, bad, headcount = out["results"]
    assert scan["outcome"] == "accepted" and scan["attendee"]["full_name"] == "Nguyễn Văn An"
    assert datetime.fromisoformat(scan["at"]) == datetime(2025, 9, 9, 2, 10, tzinfo=UTC)
    assert (bad["outcome"], bad["code"]) == ("refused", "pass_malformed") and bad["detail"]
    assert (headcount["kind"], headcount["status"]) == ("headcount", "applied")
    again = client.post(url, json=body, headers=admin_headers).json()
    assert [r["outcome"] for r in again["results"]] == ["accepted", "refused", "accepted"]
    # Cường belongs to ward B1 but was scanned at A1 (policy "flag"): counted there once.
    late = client.post(url, json={"items": _queue([cuong], "later")}, headers=admin_headers)
    assert late.json()["accepted"] == 1
    db.rollback()
    rows = db.exec(select(Attendance)).all()
    assert len(rows) == 2 and all(r.synced_at is not None for r in rows)
    syncs = db.exec(select(OfflineSync)).all()
    assert [(s.checkins, s.headcounts, s.refused) for s in syncs] == [
        (1, 1, 1), (0, 1, 1), (1, 0, 0)]


def test_a_device_that_lost_its_login_is_refused_and_keeps_its_queue(
    client: TestClient, tree: Tree
) -> None:
    r = client.post(f"/api/v1/sites/{tree.ward_a1}/sync", json={"items": _queue(["X"])})
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"


def test_a_disabled_or_out_of_scope_coordinator_cannot_sync(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session,
    coordinator_a: User, admin: User
) -> None:
    people = add_two_attendees(client, admin_headers, tree)
    hcm = token_for(client, "hcm", "hcm-password")
    queue = {"items": _queue([str(people[1]["short_code"])])}
    r = client.post(f"/api/v1/sites/{tree.ward_b1}/sync", json=queue, headers=hcm)
    assert r.status_code == 403 and r.json()["code"] == "site_out_of_scope"
    assert coordinator_a.id is not None
    accounts_admin.disable_account(db, user_id=coordinator_a.id, actor=admin,
                                   publish=lambda c, m: None)
    r = client.post(f"/api/v1/sites/{tree.ward_a1}/sync", json=queue, headers=hcm)
    assert r.status_code == 401
    db.rollback()
    assert db.exec(select(Attendance)).all() == []


def test_a_screen_revoked_or_not_cannot_send_a_queue(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    people = add_two_attendees(client, admin_headers, tree)
    screen = client.post(f"/api/v1/sites/{tree.ward_a1}/screen-token",
                         headers=admin_headers).json()
    queue = {"items": _queue([str(people[0]["short_code"])])}
    url = f"/api/v1/sites/{tree.ward_a1}/sync"
    as_screen = {"Authorization": f"Screen {screen['token']}"}
    assert client.post(url, json=queue, headers=as_screen).status_code == 401
    client.delete(f"/api/v1/screens/{screen['screen_id']}", headers=admin_headers)
    r = client.post(url, json=queue, headers=as_screen)
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
    db.rollback()
    assert db.exec(select(Attendance)).all() == []


@pytest.mark.parametrize("body", [
    {"items": []},
    {"items": [{"kind": "scan", "nonce": "n", "at": "2025-09-09T09:10:00+07:00",
                "code": "X"}] * (MAX_SYNC_ITEMS + 1)},
    {"items": [{"kind": "scan", "nonce": "n", "at": "2025-09-09T09:10:00", "code": "X"}]},
    {"items": [{"kind": "teleport", "nonce": "n", "at": "2025-09-09T09:10:00+07:00"}]},
])
def test_a_malformed_queue_is_refused_whole(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, body: dict[str, Any]
) -> None:
    r = client.post(f"/api/v1/sites/{tree.ward_a1}/sync", json=body, headers=admin_headers)
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
