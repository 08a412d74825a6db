"""Screen management pages of a site, on SQLite and PostgreSQL."""

import re

from fastapi.testclient import TestClient

from app.accounts.models import User
from tests.conftest import Tree
from tests.endpoints.support import login, post


def test_coordinator_makes_pairing_code_that_a_screen_can_use(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    r = post(client, f"/sites/{tree.ward_a1}/screens/pairing")
    assert r.status_code == 200
    code = re.search(r'data-testid="pairing-code">([A-Z0-9-]+)<', r.text)
    assert code is not None
    r = client.post("/api/v1/screens/pair", json={"code": code.group(1)})
    assert r.status_code == 201
    page = client.get(f"/sites/{tree.ward_a1}/screens")
    assert "Màn hình 1" in page.text and "chờ ghép nối" not in page.text


def test_screen_link_is_shown_once_and_revocable(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    r = post(client, f"/sites/{tree.ward_a2}/screens/link")
    link = re.search(r'value="(http://testserver/screen#token=scr_[^"]+)"', r.text)
    assert link is not None
    token = link.group(1).split("token=")[1]
    assert token not in client.get(f"/sites/{tree.ward_a2}/screens").text
    listed = client.get(f"/api/v1/sites/{tree.ward_a2}/screens")  # the login cookie works
    sid = listed.json()[0]["id"]
    r = post(client, f"/screens/{sid}/revoke")
    assert r.status_code == 303
    with client.websocket_connect(f"/ws/screen?token={token}") as ws:
        message = ws.receive()
    assert message["type"] == "websocket.close" and message["code"] == 4401


def test_screens_page_of_other_subtree_is_forbidden(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    assert client.get(f"/sites/{tree.ward_b1}/screens").status_code == 403
    assert post(client, f"/sites/{tree.ward_b1}/screens/pairing").status_code == 403


def test_pairing_post_without_csrf_is_refused(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    r = client.post(f"/sites/{tree.ward_a1}/screens/pairing", data={})
    assert r.status_code == 403 and "csrf_failed" in r.text
