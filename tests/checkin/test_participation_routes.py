"""DELETE /api/v1/conferences/{id}/sites/{site_id}: 204, or a clear 4xx and nothing changed."""

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import User
from endpoints.models import Participation
from tests.checkin.support import add_two_attendees, count_rows
from tests.conftest import Tree, token_for

URL = "/api/v1/conferences/{cid}/sites/{site_id}"


def test_remove_site_route_removes_then_refuses(
    client: TestClient, admin_headers: dict[str, str], db: Session, tree: Tree
) -> None:
    r = client.delete(URL.format(cid=tree.cid, site_id=tree.ward_a2), headers=admin_headers)
    assert r.status_code == 204, r.text
    assert count_rows(db, Participation) == 5
    r = client.delete(URL.format(cid=tree.cid, site_id=tree.ward_a2), headers=admin_headers)
    assert r.status_code == 404 and r.json()["code"] == "site_not_in_conference"
    r = client.delete(URL.format(cid=tree.cid, site_id=99_999), headers=admin_headers)
    assert r.status_code == 404 and r.json()["code"] == "site_not_found"
    r = client.delete(URL.format(cid=999, site_id=tree.ward_a1), headers=admin_headers)
    assert r.status_code == 404 and r.json()["code"] == "conference_not_found"


def test_remove_site_route_with_attendees_409(
    client: TestClient, admin_headers: dict[str, str], db: Session, tree: Tree
) -> None:
    add_two_attendees(client, admin_headers, tree)
    r = client.delete(URL.format(cid=tree.cid, site_id=tree.hub_b), headers=admin_headers)
    assert r.status_code == 409 and r.json()["code"] == "site_has_attendance"
    assert count_rows(db, Participation) == 6


def test_remove_site_route_coordinator_403(
    client: TestClient, db: Session, tree: Tree, coordinator_a: User
) -> None:
    headers = token_for(client, "hcm", "hcm-password")
    r = client.delete(URL.format(cid=tree.cid, site_id=tree.ward_a2), headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "admin_only"
    assert count_rows(db, Participation) == 6
