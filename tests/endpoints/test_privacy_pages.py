"""The privacy notice's pages: the public notice (no login), the central office's form,
and the link on every page an attendee or a registering coordinator sees."""

from fastapi.testclient import TestClient

from app.db import local_today
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.support import login, post

LINK = 'href="/privacy/{}" data-privacy-link'


def test_anyone_reads_the_notice_page_escaped_with_its_version_and_date(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    client.put(f"/api/v1/conferences/{tree.cid}/privacy", headers=admin_headers,
               json={"text": "Đoạn <script>alert(1)</script> một.\n\nĐoạn hai."})
    r = client.get(f"/privacy/{tree.cid}")
    assert r.status_code == 200
    assert "Thông báo xử lý dữ liệu cá nhân" in r.text and "Hội nghị tập huấn AI" in r.text
    assert 'data-version="2"' in r.text and "Phiên bản 2 · áp dụng từ" in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text and "<script>alert" not in r.text
    assert "<p>Đoạn hai.</p>" in r.text
    assert "08/12/2025" in r.text  # identities kept until 90 days after the last day


def test_an_unknown_conference_notice_is_a_404_page(client: TestClient) -> None:
    r = client.get("/privacy/987654")
    assert r.status_code == 404 and "conference_not_found" in r.text


def test_the_central_office_edits_the_notice_on_its_page(
    client: TestClient, tree: Tree
) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    url = f"/conferences/{tree.cid}/privacy"
    assert f'href="{url}"' in client.get("/conferences").text
    page = client.get(url)
    assert page.status_code == 200 and 'aria-current="page">Dữ liệu cá nhân' in page.text
    assert "Phiên bản 1" in page.text and "Luật Bảo vệ dữ liệu cá nhân" in page.text
    r = post(client, url, {"text": "Thông báo của Sở.\n\nĐoạn hai.", "retention_days": "60"})
    assert (r.status_code, r.headers["location"]) == (303, f"{url}?msg=privacy_saved")
    saved = client.get(r.headers["location"])
    assert "Đã lưu thông báo" in saved.text and "Phiên bản 2" in saved.text
    assert 'value="60"' in saved.text and "Dùng lại văn bản mặc định" in saved.text
    notice = client.get(f"/api/v1/privacy/{tree.cid}").json()
    assert (notice["text"], notice["retention_days"]) == ("Thông báo của Sở.\n\nĐoạn hai.", 60)
    r = post(client, url, {"text": "ignored", "retention_days": "60", "reset": "1"})
    assert r.status_code == 303
    notice = client.get(f"/api/v1/privacy/{tree.cid}").json()
    assert (notice["version"], notice["is_default"]) == (3, True)


def test_a_bad_form_shows_its_error_and_keeps_what_was_typed(
    client: TestClient, tree: Tree
) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    url = f"/conferences/{tree.cid}/privacy"
    r = post(client, url, {"text": "Bản nháp của tôi", "retention_days": "0"})
    assert r.status_code == 422
    assert 'data-code="retention_out_of_range"' in r.text and "Bản nháp của tôi" in r.text
    r = post(client, url, {"text": "Bản nháp", "retention_days": "mười"})
    assert r.status_code == 422 and 'data-code="retention_out_of_range"' in r.text
    r = post(client, url, {"text": "x" * 20_001, "retention_days": "90"})
    assert r.status_code == 422 and 'data-code="notice_too_long"' in r.text
    assert client.get(f"/api/v1/privacy/{tree.cid}").json()["version"] == 1


def test_a_coordinator_gets_no_form(client: TestClient, tree: Tree, coordinator_a: object) -> None:
    login(client, "hcm", "hcm-password")
    assert client.get(f"/conferences/{tree.cid}/privacy").status_code == 403
    r = post(client, f"/conferences/{tree.cid}/privacy", {"text": "x", "retention_days": "9"})
    assert r.status_code == 403
    assert f'href="/conferences/{tree.cid}/privacy"' not in client.get(
        f"/conferences/{tree.cid}/sites").text


def _today_world(client: TestClient, headers: dict[str, str]) -> dict[str, object]:
    """A conference of today with a site, an attendee, a follow link, a self check-in
    QR and an invite."""
    today = local_today().isoformat()
    cid = client.post("/api/v1/conferences", headers=headers, json={
        "title": "Hội nghị hôm nay", "starts_on": today, "ends_on": today}).json()["id"]
    site = client.post(f"/api/v1/conferences/{cid}/sites", headers=headers, json={
        "name": "Phường Bến Thành", "kind": "ward"}).json()["id"]
    attendee = client.post(f"/api/v1/conferences/{cid}/attendees", headers=headers,
                           json=[{"full_name": "Nguyễn Văn An", "site_id": site}]).json()[0]
    screen = client.post(f"/api/v1/sites/{site}/screen-token", json={},
                         headers=headers).json()["token"]
    qr = client.get(f"/api/v1/sites/{site}/self-checkin-qr",
                    headers={"Authorization": f"Screen {screen}"}).json()
    follow = client.get(f"/api/v1/conferences/{cid}/follow-link", headers=headers).json()
    invite = client.post(f"/api/v1/conferences/{cid}/invites", json={},
                         headers=headers).json()
    return {"cid": cid, "site": site, "attendee": attendee["id"], "self": f"/c/{qr['token']}",
            "follow": f"/follow/{follow['token']}", "invite": invite["url"]}


def test_the_notice_is_linked_from_every_page_attendees_and_coordinators_see(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    w = _today_world(client, admin_headers)
    link = LINK.format(w["cid"])
    for name in ("self", "follow", "invite"):  # anonymous pages
        r = client.get(str(w["invite"] if name == "invite" else w[name]))
        assert r.status_code == 200, (name, r.text)
        assert link in r.text, name
    login(client, "admin", ADMIN_PASSWORD)
    for url in (f"/attendees/{w['attendee']}/pass",
                f"/sites/{w['site']}/badges?conference_id={w['cid']}"):
        r = client.get(url)
        assert r.status_code == 200 and link in r.text, url
    # Each of those leads to the notice itself.
    assert client.get(f"/privacy/{w['cid']}").status_code == 200
