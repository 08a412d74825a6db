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
    assert r.status_code == 303
    shown = r.headers["location"]
    r = client.get(shown)
    code = re.search(r'data-testid="pairing-code">([A-Z0-9-]+)<', r.text)
    assert code is not None
    assert "http://testserver/screen/pair" in r.text and "<svg" in r.text
    r = client.post("/api/v1/screens/pair", json={"code": code.group(1)})
    assert r.status_code == 201
    page = client.get(f"/sites/{tree.ward_a1}/screens")
    assert "Màn hình 1" in page.text and "chờ ghép nối" not in page.text
    # The code page after pairing says so, and no longer shows the used code.
    again = client.get(shown)
    assert "Đã ghép nối «Màn hình 1»" in again.text and code.group(1) not in again.text


def test_reloading_the_code_page_shows_the_same_code_and_makes_no_screen(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    shown = post(client, f"/sites/{tree.ward_a1}/screens/pairing").headers["location"]
    codes = {re.findall(r'data-testid="pairing-code">([A-Z0-9-]+)<', client.get(shown).text)[0]
             for _ in range(3)}
    assert len(codes) == 1
    assert len(client.get(f"/api/v1/sites/{tree.ward_a1}/screens").json()) == 1


def test_code_page_of_another_site_or_screen_is_refused(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    shown = post(client, f"/sites/{tree.ward_a1}/screens/pairing").headers["location"]
    screen_id = shown.split("pairing=")[1].split("#")[0]
    assert client.get(f"/sites/{tree.ward_a2}/screens?pairing={screen_id}").status_code == 404
    assert client.get(f"/sites/{tree.ward_a1}/screens?pairing=999999").status_code == 404
    assert client.get(f"/sites/{tree.ward_a1}/screens?pairing=abc").status_code == 422


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
