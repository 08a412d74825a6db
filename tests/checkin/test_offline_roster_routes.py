"""The offline desk's roster download (GET /api/v1/sites/{id}/offline-roster): the site and
the sites below it, only the fields a desk needs, in the caller's scope, never cached."""

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.audit.models import AuditEntry
from tests.conftest import Tree, token_for

FIELDS = {"id", "full_name", "unit", "site_id", "short_code", "pass_version", "revoked",
          "checked_in_at"}


def _people(client: TestClient, headers: dict[str, str], tree: Tree) -> list[dict[str, object]]:
    r = client.post(f"/api/v1/conferences/{tree.cid}/attendees", headers=headers, json=[
        {"full_name": "Nguyễn Văn An", "site_id": tree.ward_a1, "unit": "Sở Y tế",
         "position": "Giám đốc", "phone": "0901234567"},
        {"full_name": "Đặng Thị Bình", "site_id": tree.ward_a2},
        {"full_name": "Lê Văn Cường", "site_id": tree.ward_b1},
    ])
    assert r.status_code == 201, r.text
    body: list[dict[str, object]] = r.json()
    return body


def _roster(client: TestClient, headers: dict[str, str], site: int, **params: object
            ) -> dict[str, object]:
    r = client.get(f"/api/v1/sites/{site}/offline-roster", headers=headers, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "private, no-store"
    body: dict[str, object] = r.json()
    return body


def test_roster_of_a_hub_holds_its_subtree_and_nothing_personal_beyond_the_list(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    people = _people(client, admin_headers, tree)
    body = _roster(client, admin_headers, tree.hub_a)
    attendees = body["attendees"]
    assert isinstance(attendees, list)
    # In Vietnamese order (by the whole name, family name first); hub B's ward is not there.
    assert [a["full_name"] for a in attendees] == ["Đặng Thị Bình", "Nguyễn Văn An"]
    assert all(set(a) == FIELDS for a in attendees)
    assert "0901234567" not in str(body) and "Giám đốc" not in str(body)
    an = attendees[1]
    assert (an["id"], an["unit"], an["site_id"], an["short_code"], an["pass_version"]) == (
        people[0]["id"], "Sở Y tế", tree.ward_a1, people[0]["short_code"], 1)
    assert an["revoked"] is False and an["checked_in_at"] is None
    assert body["conference_id"] == tree.cid and body["site_id"] == tree.hub_a
    assert body["ends_on"] == "2025-09-09"
    # The end of the last day in Vietnam (UTC+7): the desk deletes the roster after it.
    assert body["delete_after"] == "2025-09-09T17:00:00Z"
    assert body["truncated"] is False
    assert body["sites"] == {str(tree.hub_a): "Trung tâm Hội nghị 272",
                             str(tree.ward_a1): "Đảng ủy phường Bến Nghé",
                             str(tree.ward_a2): "Đảng ủy xã Cần Giờ"}


def test_roster_says_who_is_checked_in_for_the_session_asked(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    people = _people(client, admin_headers, tree)
    r = client.post("/api/v1/checkins", headers=admin_headers,
                    json={"code": people[0]["code"], "site_id": tree.ward_a1})
    assert r.status_code == 201, r.text
    attendees = _roster(client, admin_headers, tree.ward_a1)["attendees"]
    assert isinstance(attendees, list) and len(attendees) == 1
    assert attendees[0]["checked_in_at"] == r.json()["checked_in_at"].replace("+00:00", "Z")


def test_roster_leaves_out_deleted_attendees_and_shows_a_reissued_pass_version(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    people = _people(client, admin_headers, tree)
    assert client.delete(f"/api/v1/attendees/{people[1]['id']}",
                         headers=admin_headers).status_code == 204
    again = client.post(f"/api/v1/attendees/{people[0]['id']}/reissue", headers=admin_headers)
    assert again.status_code == 200
    attendees = _roster(client, admin_headers, tree.hub_a)["attendees"]
    assert isinstance(attendees, list)
    assert [(a["full_name"], a["pass_version"], a["short_code"]) for a in attendees] == [
        ("Nguyễn Văn An", 2, again.json()["short_code"])]


def test_roster_is_scoped_like_the_site(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, coordinator_a: object
) -> None:
    _people(client, admin_headers, tree)
    hub_a = token_for(client, "hcm", "hcm-password")
    mine = _roster(client, hub_a, tree.ward_a1)["attendees"]
    assert isinstance(mine, list) and [a["full_name"] for a in mine] == ["Nguyễn Văn An"]
    other = client.get(f"/api/v1/sites/{tree.ward_b1}/offline-roster", headers=hub_a)
    assert other.status_code == 403 and other.json()["code"] == "site_out_of_scope"
    assert "Cường" not in other.text
    anon = client.get(f"/api/v1/sites/{tree.ward_a1}/offline-roster")
    assert anon.status_code == 401 and anon.json()["code"] == "not_authenticated"
    junk = client.get(f"/api/v1/sites/{tree.ward_a1}/offline-roster?session_id=abc",
                      headers=hub_a)
    assert junk.status_code == 422


def test_roster_download_is_recorded_as_an_export(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    _people(client, admin_headers, tree)
    _roster(client, admin_headers, tree.hub_a)
    db.rollback()
    entries = db.exec(select(AuditEntry).where(AuditEntry.object_type == "offline_roster")).all()
    assert [(e.action, e.site_id, e.conference_id, e.detail) for e in entries] == [
        ("export", tree.hub_a, tree.cid, {"what": "offline_roster", "rows": 2})]
