"""Destructive buttons ask first (app/static/confirm.js): dismissing the question leaves
everything as it was, accepting it does the action. One walk over every such button."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from app.db import local_today
from tests.browser import LiveServer
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser
TODAY = local_today().isoformat()


@dataclass(frozen=True)
class World:
    http: httpx.Client
    conference_id: int
    leaf_id: int
    session_id: int
    item_id: int
    screen_site_id: int
    invite_id: int
    registered_id: int


def _seed(base: str) -> World:
    http = httpx.Client(base_url=base, timeout=30)
    r = http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    cid = http.post("/api/v1/conferences", json={
        "title": "Hội nghị tập huấn AI", "starts_on": TODAY, "ends_on": TODAY}).json()["id"]
    hub = http.post(f"/api/v1/conferences/{cid}/sites",
                    json={"name": "Điểm cầu Thành phố", "kind": "hub"}).json()["id"]
    leaf = http.post(f"/api/v1/conferences/{cid}/sites",
                     json={"name": "Xã Cần Giờ", "kind": "commune", "parent_id": hub}).json()["id"]
    http.post(f"/api/v1/sites/{hub}/screen-token").raise_for_status()
    sid = http.post(f"/api/v1/conferences/{cid}/sessions", json={
        "title": "Phiên khai mạc", "starts_at": f"{TODAY}T08:00:00+07:00",
        "ends_at": f"{TODAY}T11:00:00+07:00"}).json()["id"]
    item = http.post(f"/api/v1/sessions/{sid}/agenda", json={"title": "Khai mạc"}).json()["id"]
    invite = http.post(f"/api/v1/conferences/{cid}/invites", json={"parent_site_id": hub}).json()
    second = http.post(f"/api/v1/conferences/{cid}/invites", json={"parent_site_id": hub}).json()
    registered = httpx.post(f"{base}/api/v1/invites/{second['token']}/register", json={
        "site_name": "Phường Sài Gòn", "kind": "ward", "full_name": "Trần Văn Bình",
        "phone": "0912345678", "username": "saigon", "password": "sg-password-1",
        "accept_notice": True, "notice_version": 1})
    registered.raise_for_status()
    return World(http=http, conference_id=cid, leaf_id=leaf, session_id=sid, item_id=item,
                 screen_site_id=hub, invite_id=invite["id"],
                 registered_id=registered.json()["site"]["id"])


def _asks_first(page: Page, url: str, button: str, question: str,
                done: Callable[[], bool]) -> None:
    """Click `button` on `url` twice: dismissing the question changes nothing, accepting it
    does the action."""
    asked: list[str] = []

    def answer(accept: bool) -> Callable[[Dialog], None]:
        def handle(dialog: Dialog) -> None:
            asked.append(dialog.message)
            if accept:
                dialog.accept()
            else:
                dialog.dismiss()
        return handle

    page.goto(url)
    page.once("dialog", answer(accept=False))
    page.get_by_role("button", name=button, exact=True).first.click()
    page.wait_for_timeout(300)  # time for a (wrong) submission to land
    assert asked and question in asked[0], (button, asked)
    assert not done(), f"{button}: acted although the question was dismissed"
    expect(page.get_by_role("button", name=button, exact=True).first).to_be_visible()
    page.once("dialog", answer(accept=True))
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).first.click()
    assert len(asked) == 2
    assert done(), f"{button}: accepting the question did not act"


@pytest.fixture
def world(live_server: LiveServer) -> Iterator[World]:
    seeded = _seed(live_server.url)
    try:
        yield seeded
    finally:
        seeded.http.close()


def test_destructive_buttons_ask_first(live_server: LiveServer, world: World, page: Page) -> None:
    w, base = world, live_server.url
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()
    http = w.http

    def agenda_gone() -> bool:
        return not http.get(f"/api/v1/sessions/{w.session_id}/agenda").json()

    def screen_revoked() -> bool:
        return all(s["revoked"] for s in http.get(f"/api/v1/sites/{w.screen_site_id}/screens")
                   .json())

    def invite_revoked() -> bool:
        found = http.get(f"/api/v1/conferences/{w.conference_id}/invites").json()
        return next(i for i in found if i["id"] == w.invite_id)["revoked"] is True

    def rejected() -> bool:
        approval: str = http.get(f"/api/v1/sites/{w.registered_id}").json()["approval"]
        return approval == "rejected"

    def site_gone() -> bool:
        return http.get(f"/api/v1/sites/{w.leaf_id}").status_code == 404

    _asks_first(page, f"{base}/sessions/{w.session_id}", "Xoá", "Xoá mục «Khai mạc»",
                agenda_gone)
    _asks_first(page, f"{base}/sites/{w.screen_site_id}/screens", "Thu hồi", "Thu hồi «",
                screen_revoked)
    _asks_first(page, f"{base}/conferences/{w.conference_id}/invites", "Thu hồi",
                "Thu hồi lời mời", invite_revoked)
    _asks_first(page, f"{base}/conferences/{w.conference_id}/registrations", "Từ chối",
                "Từ chối đăng ký của «Phường Sài Gòn»", rejected)
    _asks_first(page, f"{base}/sites/{w.leaf_id}", "Xoá điểm cầu này",
                "Xoá điểm cầu «Xã Cần Giờ»", site_gone)
