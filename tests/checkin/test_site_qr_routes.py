"""The site screens' follow-along QR: the live conference's current link, for the room."""

from fastapi.testclient import TestClient
from sqlmodel import Session

from checkin import site_qr_routes
from sessions import follow_links
from tests.conftest import Tree
from tests.sessions.support import make_live


def _screen(client: TestClient, site_id: int, admin_headers: dict[str, str]) -> dict[str, str]:
    r = client.post(f"/api/v1/sites/{site_id}/screen-token", headers=admin_headers)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Screen {r.json()['token']}"}


def test_screen_gets_the_current_follow_link_and_its_qr(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    make_live(db, tree.cid)
    screen = _screen(client, tree.ward_a1, admin_headers)
    link = client.get(f"/api/v1/conferences/{tree.cid}/follow-link", headers=admin_headers)
    r = client.get("/api/v1/screen/follow-qr", headers=screen)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["conference_id"] == tree.cid and body["url"] == link.json()["url"]
    assert "<svg" in body["svg"] and body["recheck_in"] == site_qr_routes.FOLLOW_RECHECK_SECONDS
    # Rotated: the screen's next look gets the new link, never the revoked one.
    rotated = client.post(f"/api/v1/conferences/{tree.cid}/follow-link/rotate",
                          headers=admin_headers).json()["url"]
    again = client.get("/api/v1/screen/follow-qr", headers=screen).json()
    assert again["url"] == rotated != body["url"] and again["svg"] != body["svg"]
    assert client.get(rotated).status_code == 200


def test_screen_between_conferences_or_after_the_links_end_shows_none(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    screen = _screen(client, tree.ward_a1, admin_headers)
    # The tree's conference ended long ago: nothing is live at the site.
    body = client.get("/api/v1/screen/follow-qr", headers=screen).json()
    # The screen's site and the server's time come anyway (the floor's banner uses them).
    assert body.pop("now") and body == {
        "conference_id": None, "url": None, "svg": None, "site_id": tree.ward_a1,
        "recheck_in": site_qr_routes.FOLLOW_RECHECK_SECONDS}
    make_live(db, tree.cid)
    follow_links.forget(db)
    assert client.get("/api/v1/screen/follow-qr", headers=screen).json()["url"]


def test_screen_follow_qr_needs_a_screen_token(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    for headers in ({"Authorization": "Screen scr_nope"}, admin_headers, {}):
        r = client.get("/api/v1/screen/follow-qr", headers=headers)
        assert (r.status_code, r.json()["code"]) == (401, "screen_token_invalid")
