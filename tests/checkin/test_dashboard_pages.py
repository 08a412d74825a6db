"""The dashboard page: who sees which scope, its configuration for the script, the tabs."""

import json
import re

from fastapi.testclient import TestClient

from app.accounts.models import User
from tests.conftest import Tree, token_for


def _config(html: str) -> dict[str, object]:
    match = re.search(
        r'<script type="application/json" id="dashboard-config">(.*?)</script>', html, re.S
    )
    assert match is not None
    config: dict[str, object] = json.loads(match.group(1))
    return config


def test_dashboard_page_admin_sees_whole_conference(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    r = client.get(f"/conferences/{tree.cid}/dashboard", headers=admin_headers)
    assert r.status_code == 200, r.text
    assert 'aria-current="page">Bảng điều khiển<' in r.text
    assert "Phạm vi: toàn bộ hội nghị" in r.text
    assert 'src="/static/dashboard.js"' in r.text
    for words in ("Chỉ điểm cầu chưa sẵn sàng", "Chỉ điểm cầu ngoại tuyến", "Dưới 50% dự kiến",
                  "Tìm điểm cầu (gõ không dấu)", "Chưa sẵn sàng 15 phút trước giờ họp",
                  "Sự cố gần đây"):
        assert words in r.text
    config = _config(r.text)
    assert config["conference_id"] == tree.cid and config["root_id"] is None
    assert config["page_size"] == 100
    assert config["readiness"] == {
        "not_connected": "chưa kết nối", "tested": "đã kiểm tra", "ready": "sẵn sàng",
        "incident": "sự cố", "not_participating": "không tham gia"}


def test_dashboard_page_coordinator_limited_to_subtree(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    headers = token_for(client, "hcm", "hcm-password")
    r = client.get(f"/conferences/{tree.cid}/dashboard", headers=headers)
    assert r.status_code == 200
    assert "Phạm vi: <strong>Trung tâm Hội nghị 272</strong>" in r.text
    assert "Toàn bộ hội nghị</a>" not in r.text
    assert _config(r.text)["root_id"] == tree.hub_a
    r = client.get(f"/conferences/{tree.cid}/dashboard?under_id={tree.hub_b}", headers=headers)
    assert r.status_code == 403
    assert "Phạm vi" not in r.text


def test_dashboard_page_admin_narrowed_to_hub(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    r = client.get(f"/conferences/{tree.cid}/dashboard?under_id={tree.hub_b}",
                   headers=admin_headers)
    assert r.status_code == 200
    config = _config(r.text)
    assert (config["under_id"], config["root_id"]) == (tree.hub_b, tree.hub_b)
    assert "Phạm vi: <strong>Điểm cầu Hà Nội</strong>" in r.text
    assert "Toàn bộ hội nghị</a>" in r.text


def test_dashboard_page_junk_query_is_ignored_and_unknown_refused(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    r = client.get(f"/conferences/{tree.cid}/dashboard?under_id=abc&session_id=-3",
                   headers=admin_headers)
    assert r.status_code == 200 and _config(r.text)["under_id"] is None
    assert client.get("/conferences/999999/dashboard", headers=admin_headers).status_code == 404
    r = client.get(f"/conferences/{tree.cid}/dashboard?session_id=999999", headers=admin_headers)
    assert r.status_code == 404


def test_dashboard_page_without_login_goes_to_login(client: TestClient, tree: Tree) -> None:
    r = client.get(f"/conferences/{tree.cid}/dashboard", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_conference_tabs_link_dashboard_and_report(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    r = client.get(f"/conferences/{tree.cid}/sites", headers=admin_headers)
    assert f'href="/conferences/{tree.cid}/dashboard"' in r.text
    assert f'href="/conferences/{tree.cid}/report"' in r.text

