"""Real Chromium on a phone: Ho Chi Minh City's tree lists its wards first, then communes,
the special zone, departments and organisations, each by Vietnamese name."""

import httpx
import pytest
from playwright.sync_api import Browser

from tests.browser import PHONE, LiveServer
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser

# Added organisations first, as the hub's registry grew: the old list kept that order.
CHILDREN = [
    ("Ủy ban Mặt trận Tổ quốc Việt Nam Thành phố", "organization"),
    ("Sở Nội vụ", "department"),
    ("Đặc khu Côn Đảo", "special_zone"),
    ("Xã Cần Giờ", "commune"),
    ("Phường Sài Gòn", "ward"),
    ("Phường Đa Kao", "ward"),
    ("Phường Bến Thành", "ward"),
]
LISTED = ["Thành phố Hồ Chí Minh", "Phường Bến Thành", "Phường Đa Kao", "Phường Sài Gòn",
          "Xã Cần Giờ", "Đặc khu Côn Đảo", "Sở Nội vụ",
          "Ủy ban Mặt trận Tổ quốc Việt Nam Thành phố"]


def test_hcm_tree_lists_wards_before_organisations(
    live_server: LiveServer, browser: Browser
) -> None:
    base = live_server.url
    http = httpx.Client(base_url=base, timeout=30)
    r = http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    cid = http.post("/api/v1/conferences", json={
        "title": "Hội nghị sơ kết", "starts_on": "2026-12-09", "ends_on": "2026-12-09",
    }).json()["id"]

    def add(name: str, kind: str, parent: int | None) -> int:
        r = http.post(f"/api/v1/conferences/{cid}/sites",
                      json={"name": name, "kind": kind, "parent_id": parent})
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    hcm = add("Thành phố Hồ Chí Minh", "hub", None)
    for name, kind in CHILDREN:
        add(name, kind, hcm)
    http.close()
    context = browser.new_context(viewport=PHONE, locale="vi-VN", is_mobile=True)
    try:
        phone = context.new_page()
        phone.goto(f"{base}/login")
        phone.fill("input[name=username]", "admin")
        phone.fill("input[name=password]", ADMIN_PASSWORD)
        phone.click("button[type=submit]")
        phone.wait_for_url(f"{base}/conferences")
        phone.goto(f"{base}/conferences/{cid}/sites")
        names = phone.locator("tbody td.site-name a").all_inner_texts()
        assert [n.strip() for n in names] == LISTED
    finally:
        context.close()
