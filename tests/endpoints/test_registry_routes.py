"""The registry's JSON API: sites outside conferences, history, merge/retire/restore, units."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.accounts.models import User
from app.config import Settings
from endpoints.models import Site, SiteHistory, SiteStatus
from tests.conftest import Tree
from tests.endpoints.registry_support import bearer, registry_client, screen, site

API = "/api/v1"


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    yield from registry_client(settings)


def _sites(db: Session) -> int:
    db.rollback()
    return int(db.exec(select(func.count()).select_from(Site)).one())


def _history(db: Session) -> int:
    db.rollback()
    return int(db.exec(select(func.count()).select_from(SiteHistory)).one())


def test_the_registry_list_is_scoped_and_counted(
    api: TestClient, admin: User, tree: Tree, coordinator_a: User
) -> None:
    r = api.get(f"{API}/registry/sites", headers=bearer(admin), params={"q": "phuong"})
    assert r.status_code == 200, r.text
    assert r.headers["X-Total-Count"] == "2"
    # Hubs by Vietnamese name: "Điểm cầu Hà Nội" before "Trung tâm Hội nghị 272".
    assert [s["code"] for s in r.json()] == ["HN-HK", "HCM-BN"]
    mine = api.get(f"{API}/registry/sites", headers=bearer(coordinator_a)).json()
    assert {s["id"] for s in mine} == {tree.hub_a, tree.ward_a1, tree.ward_a2}
    assert api.get(f"{API}/registry/sites", params={"status": "gone"},
                   headers=bearer(admin)).json()["code"] == "validation_error"


def test_a_registry_site_is_created_read_and_refused_out_of_scope(
    api: TestClient, admin: User, tree: Tree, coordinator_a: User
) -> None:
    body = {"name": "Sở Nội vụ", "kind": "department", "parent_id": tree.hub_b, "code": "HN-SNV"}
    r = api.post(f"{API}/registry/sites", json=body, headers=bearer(admin))
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["status"], created["depth"]) == ("active", 2)
    again = api.post(f"{API}/registry/sites", json=body, headers=bearer(admin))
    assert (again.status_code, again.json()["code"]) == (409, "duplicate_site_code")
    one = api.get(f"{API}/registry/sites/{created['id']}", headers=bearer(admin))
    assert one.json()["path"].endswith(f"/{created['id']}/")
    hidden = api.get(f"{API}/registry/sites/{created['id']}", headers=bearer(coordinator_a))
    assert (hidden.status_code, hidden.json()["code"]) == (403, "site_out_of_scope")
    missing = api.get(f"{API}/registry/sites/999999", headers=bearer(admin))
    assert (missing.status_code, missing.json()["code"]) == (404, "site_not_found")


def test_merge_then_history_then_restore(api: TestClient, admin: User, tree: Tree) -> None:
    r = api.post(f"{API}/sites/{tree.ward_a1}/merge", headers=bearer(admin),
                 json={"into_id": tree.ward_a2, "note": "NQ 1685", "effective_on": "2025-07-01"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["merged_into_id"]) == ("merged", tree.ward_a2)
    history = api.get(f"{API}/sites/{tree.ward_a1}/history", headers=bearer(admin)).json()
    assert [(h["change"], h["note"], h["effective_on"]) for h in history] == [
        ("created", None, None), ("merged", "NQ 1685", "2025-07-01")]
    restored = api.post(f"{API}/sites/{tree.ward_a1}/restore", headers=bearer(admin))
    assert restored.json()["status"] == "active"
    twice = api.post(f"{API}/sites/{tree.ward_a1}/restore", headers=bearer(admin))
    assert (twice.status_code, twice.json()["code"]) == (409, "site_active")


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"into_id": "self"}, 422, "merge_into_subtree"),
    ({"into_id": "child"}, 422, "merge_into_subtree"),
    ({"into_id": 999999}, 404, "site_not_found"),
    ({"into_id": "child", "extra": 1}, 422, "validation_error"),
    ({}, 422, "validation_error"),
])
def test_a_bad_merge_is_refused_and_nothing_changes(
    api: TestClient, db: Session, admin: User, tree: Tree, body: dict[str, object], status: int,
    code: str,
) -> None:
    ids = {"self": tree.hub_a, "child": tree.ward_a1}
    if "into_id" in body:
        body = {**body, "into_id": ids.get(str(body["into_id"]), body["into_id"])}
    history = _history(db)
    r = api.post(f"{API}/sites/{tree.hub_a}/merge", json=body, headers=bearer(admin))
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert site(db, tree.hub_a).status == SiteStatus.active
    assert site(db, tree.ward_a1).parent_id == tree.hub_a
    assert _history(db) == history


def test_a_coordinator_cannot_merge_or_retire(
    api: TestClient, db: Session, tree: Tree, coordinator_a: User
) -> None:
    merge = api.post(f"{API}/sites/{tree.ward_a1}/merge", json={"into_id": tree.ward_a2},
                     headers=bearer(coordinator_a))
    retire = api.post(f"{API}/sites/{tree.ward_a1}/retire", headers=bearer(coordinator_a))
    assert merge.status_code == retire.status_code == 403
    assert site(db, tree.ward_a1).status == SiteStatus.active


def test_retire_refuses_a_live_screen_and_children_then_retires(
    api: TestClient, db: Session, admin: User, tree: Tree
) -> None:
    screen(db, tree.ward_b1, seen_seconds_ago=3)
    live = api.post(f"{API}/sites/{tree.ward_b1}/retire", headers=bearer(admin))
    assert (live.status_code, live.json()["code"]) == (409, "site_has_live_screen")
    parent = api.post(f"{API}/sites/{tree.hub_a}/retire", headers=bearer(admin))
    assert (parent.status_code, parent.json()["code"]) == (409, "site_has_children")
    assert site(db, tree.ward_b1).status == site(db, tree.hub_a).status == SiteStatus.active
    ok = api.post(f"{API}/sites/{tree.ward_a1}/retire", headers=bearer(admin),
                  json={"note": "Giải thể theo NQ"})
    assert ok.status_code == 200 and ok.json()["status"] == "retired"


def test_rename_by_decree_is_kept_in_history(api: TestClient, admin: User, tree: Tree) -> None:
    r = api.post(f"{API}/sites/{tree.hub_b}/rename", headers=bearer(admin),
                 json={"name": "Điểm cầu Thủ đô", "note": "QĐ 12"})
    assert r.json()["name"] == "Điểm cầu Thủ đô"
    history = api.get(f"{API}/sites/{tree.hub_b}/history", headers=bearer(admin)).json()
    assert (history[-1]["old_name"], history[-1]["new_name"]) == ("Điểm cầu Hà Nội",
                                                                 "Điểm cầu Thủ đô")
    blank = api.post(f"{API}/sites/{tree.hub_b}/rename", headers=bearer(admin), json={"name": ""})
    assert blank.status_code == 422


def test_units_load_through_the_api(api: TestClient, db: Session, admin: User) -> None:
    r = api.post(f"{API}/registry/units", json={"province_code": 1}, headers=bearer(admin))
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["kinds"]["hub"]) == (127, 1)
    again = api.post(f"{API}/registry/units", json={"province_code": 1}, headers=bearer(admin))
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 127)
    before = _sites(db)
    for body, code in (({"province_code": 99}, "unknown_province"),
                       ({"province_code": "x"}, "validation_error"),
                       ({"province": 1}, "validation_error")):
        bad = api.post(f"{API}/registry/units", json=body, headers=bearer(admin))
        assert (bad.status_code, bad.json()["code"]) == (422, code)
    assert _sites(db) == before


def test_cookie_writes_need_the_csrf_header(api: TestClient, admin: User, tree: Tree) -> None:
    token = bearer(admin)["Authorization"].split()[1]
    api.cookies.set("diemcau_session", token)
    r = api.post(f"{API}/sites/{tree.ward_a1}/retire")
    assert (r.status_code, r.json()["code"]) == (403, "csrf_failed")
