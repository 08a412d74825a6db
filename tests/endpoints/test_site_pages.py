"""The site tree and site pages, and the scope guard over every page naming a site."""

import re
from datetime import date

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts import errors as accounts_errors
from app.accounts.models import User
from app.deps import get_admin_user
from endpoints import (
    conference_pages,
    errors,
    import_pages,
    invite_pages,
    login_pages,
    registration_pages,
    service,
    site_changes,
    site_pages,
)
from endpoints.models import ConferenceCreate, Readiness, Site, SiteCreate, SiteKind, SiteUpdate
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.support import (
    login,
    participation,
    post,
)


def test_search_without_diacritics_finds_site(client: TestClient, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = client.get(f"/conferences/{tree.cid}/sites", params={"q": "dang uy ben nghe"})
    assert r.status_code == 200
    assert "Đảng ủy phường Bến Nghé" in r.text
    assert "Đảng ủy phường Hoàn Kiếm" not in r.text
    assert "<strong>1</strong> điểm cầu" in r.text
    assert "thuộc Trung tâm Hội nghị 272" in r.text


def test_site_tree_is_indented_and_in_tree_order(client: TestClient, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    text = client.get(f"/conferences/{tree.cid}/sites").text
    # Children under their parent; sibling hubs by Vietnamese name (Đ before T).
    order = [text.index(n) for n in ("Hội trường Trung ương", "Điểm cầu Hà Nội",
                                     "Trung tâm Hội nghị 272", "Đảng ủy phường Bến Nghé")]
    assert order == sorted(order)
    assert 'class="site-name depth-2"' in text
    assert "chưa kết nối" in text and "đã duyệt" in text


def test_site_tree_pages_by_hundred(client: TestClient, db: Session, tree: Tree,
                                    admin: User) -> None:
    for n in range(105):
        service.create_site(db, conference_id=tree.cid, actor=admin, data=SiteCreate(
            name=f"Chi bộ {n:03d}", kind=SiteKind.other, parent_id=tree.ward_b1,
            expected_attendees=1200))
    login(client, "admin", ADMIN_PASSWORD)
    first = client.get(f"/conferences/{tree.cid}/sites")
    assert "<strong>111</strong> điểm cầu · trang 1/2" in first.text
    assert first.text.count('<a href="/sites/') == 100
    assert "1.200" in first.text
    second = client.get(f"/conferences/{tree.cid}/sites", params={"page": 2})
    assert second.text.count('<a href="/sites/') == 11
    names = set(re.findall(r"Chi bộ \d{3}", first.text + second.text))
    assert len(names) == 105
    assert "thuộc Đảng ủy phường Hoàn Kiếm" in second.text
    assert 'href="?" rel="prev"' in second.text and 'rel="next"' not in second.text


def test_site_tree_ignores_unknown_filter_values(client: TestClient, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = client.get(f"/conferences/{tree.cid}/sites", params={"kind": "castle", "readiness": "x"})
    assert r.status_code == 200
    assert "<strong>6</strong> điểm cầu" in r.text


def test_coordinator_tree_shows_only_own_subtree(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    r = client.get(f"/conferences/{tree.cid}/sites")
    assert r.status_code == 200
    assert "Đảng ủy phường Bến Nghé" in r.text
    assert "Hoàn Kiếm" not in r.text and "Điểm cầu Hà Nội" not in r.text
    assert "Duyệt đăng ký" not in r.text


def test_admin_adds_site_from_tree_form(client: TestClient, db: Session, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = post(client, f"/conferences/{tree.cid}/sites", {
        "name": "Đảng ủy phường Tân Định", "kind": "ward", "parent_id": str(tree.hub_a),
        "code": "HCM-TD", "room": "Phòng 1", "contact_name": "Phạm Thị Lan",
        "contact_phone": "0908 111 222", "expected_attendees": "60",
        "connection_link": "https://meet.example.vn/td"})
    assert r.status_code == 303, r.text
    db.rollback()
    site = db.exec(select(Site).where(Site.code == "HCM-TD")).one()
    assert site.id is not None
    expected = participation(db, tree.cid, site.id).expected_attendees
    assert (site.parent_id, expected, site.depth) == (tree.hub_a, 60, 2)
    assert r.headers["location"] == f"/sites/{site.id}?conference_id={tree.cid}&msg=site_created"


def test_add_site_under_typed_parent_id(client: TestClient, db: Session, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = post(client, f"/conferences/{tree.cid}/sites", {
        "name": "Chi bộ khu phố 1", "kind": "other", "parent_id": str(tree.hub_a),
        "parent_other": str(tree.ward_a1)})
    assert r.status_code == 303
    db.rollback()
    site = db.exec(select(Site).where(Site.name == "Chi bộ khu phố 1")).one()
    assert site.parent_id == tree.ward_a1


def test_add_site_with_duplicate_code_keeps_input(client: TestClient, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = post(client, f"/conferences/{tree.cid}/sites",
             {"name": "Phường trùng mã", "kind": "ward", "parent_id": str(tree.hub_a),
              "code": "HCM-BN"})
    assert r.status_code == 409
    assert "Mã điểm cầu đã có trong danh mục" in r.text
    assert 'value="Phường trùng mã"' in r.text


def test_add_site_with_bad_phone_names_the_field(client: TestClient, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = post(client, f"/conferences/{tree.cid}/sites",
             {"name": "Phường mới", "kind": "ward", "contact_phone": "gọi tôi"})
    assert r.status_code == 422
    assert "Số điện thoại liên hệ: Số điện thoại không hợp lệ" in r.text
    assert 'value="gọi tôi"' in r.text


def test_parent_choices_are_hubs_not_every_site(client: TestClient, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    text = client.get(f"/conferences/{tree.cid}/sites").text
    select_html = text[text.index('<select name="parent_id">'):]
    select_html = select_html[: select_html.index("</select>")]
    assert "Trung tâm Hội nghị 272" in select_html and "Hội trường Trung ương" in select_html
    assert "Bến Nghé" not in select_html


# ------------------------------------------------------------ site page


def test_coordinator_gets_403_on_other_hub_site_page(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    assert client.get(f"/sites/{tree.ward_a1}").status_code == 200
    for outside in (tree.hub_b, tree.ward_b1, tree.central):
        r = client.get(f"/sites/{outside}")
        assert r.status_code == 403
        assert "site_out_of_scope" in r.text


def test_coordinator_edit_post_outside_subtree_is_refused(
    client: TestClient, db: Session, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    r = post(client, f"/sites/{tree.ward_b1}", {"name": "Bị sửa", "room": "Phòng lạ"})
    assert r.status_code == 403
    db.rollback()
    site = db.get(Site, tree.ward_b1)
    assert site is not None and site.name == "Đảng ủy phường Hoàn Kiếm" and site.room is None


def test_coordinator_updates_readiness_of_own_ward(
    client: TestClient, db: Session, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    page = client.get(f"/sites/{tree.ward_a1}").text
    assert "Xoá điểm cầu" not in page and "Tạo tài khoản" not in page
    r = post(client, f"/sites/{tree.ward_a1}", {
        "name": "Đảng ủy phường Bến Nghé", "kind": "ward", "code": "HCM-BN",
        "readiness": "incident", "readiness_note": "Mất tiếng", "expected_attendees": "1500"})
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "Đã lưu thay đổi." in page and "sự cố — Mất tiếng" in page and "1.500" in page
    db.rollback()
    site = db.get(Site, tree.ward_a1)
    assert site is not None
    part = participation(db, tree.cid, tree.ward_a1)
    assert (part.readiness, part.expected_attendees, site.parent_id) == (
        Readiness.incident, 1500, tree.hub_a
    )


def test_site_page_shows_the_chosen_conference_or_the_registry_alone(
    client: TestClient, db: Session, admin: User, tree: Tree
) -> None:
    later = service.create_conference(db, data=ConferenceCreate(
        title="Hội nghị tổng kết", starts_on=date(2099, 3, 1), ends_on=date(2099, 3, 1)
    ), actor=admin)
    assert later.id is not None
    for site_id in (tree.central, tree.hub_a, tree.ward_a1):
        service.invite_site(db, conference_id=later.id,
                            site=service.get_site(db, site_id=site_id, actor=admin))
    db.commit()
    site_changes.update_site(db, site_id=tree.ward_a1, conference_id=tree.cid, actor=admin,
                             data=SiteUpdate(readiness=Readiness.incident))
    login(client, "admin", ADMIN_PASSWORD)
    # Without ?conference_id= the page is about the site's current (upcoming) conference.
    page = client.get(f"/sites/{tree.ward_a1}").text
    assert "Hội nghị tổng kết" in page and "r-incident" not in page
    page = client.get(f"/sites/{tree.ward_a1}?conference_id={tree.cid}").text
    assert "Hội nghị tập huấn AI" in page and "r-incident" in page
    # The page links the other conference the site takes part in.
    assert f'href="/sites/{tree.ward_a1}?conference_id={later.id}"' in page
    assert f'action="/sites/{tree.ward_a1}?conference_id={tree.cid}"' in page
    # Check-in, badges and headcount open for that conference, not the current one.
    for desk in ("checkin", "badges", "headcount"):
        assert f'href="/sites/{tree.ward_a1}/{desk}?conference_id={tree.cid}"' in page
    r = client.get(f"/sites/{tree.ward_b1}?conference_id={later.id}")
    assert r.status_code == 404 and "site_not_in_conference" in r.text
    # A registry site no conference invited: its own fields, no readiness to edit.
    lone = service.create_registry_site(db, actor=admin, data=SiteCreate(
        name="Đảng ủy xã Mới", kind=SiteKind.commune, parent_id=tree.hub_b))
    page = client.get(f"/sites/{lone.id}").text
    assert "Đảng ủy xã Mới" in page and 'name="readiness"' not in page
    r = post(client, f"/sites/{lone.id}", {"name": "Đảng ủy xã Mới Lập", "kind": "commune"})
    assert r.status_code == 303, r.text
    db.rollback()
    assert db.exec(select(Site.name).where(Site.id == lone.id)).one() == "Đảng ủy xã Mới Lập"


def test_site_edit_with_invalid_link_keeps_input(client: TestClient, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = post(client, f"/sites/{tree.ward_a1}",
             {"name": "Tên mới gõ dở", "connection_link": "javascript:alert(1)"})
    assert r.status_code == 422
    assert "Đường dẫn kết nối" in r.text
    assert 'value="Tên mới gõ dở"' in r.text


def test_admin_moves_site_to_other_hub(client: TestClient, db: Session, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = post(client, f"/sites/{tree.ward_a2}",
             {"name": "Đảng ủy xã Cần Giờ", "parent_id": str(tree.hub_b)})
    assert r.status_code == 303
    db.rollback()
    site = db.get(Site, tree.ward_a2)
    assert site is not None and site.parent_id == tree.hub_b


def test_admin_move_into_own_subtree_shows_error(client: TestClient, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = post(client, f"/sites/{tree.hub_a}",
             {"name": "Trung tâm Hội nghị 272", "parent_other": str(tree.ward_a1)})
    assert r.status_code == 422
    assert "cấp dưới của chính nó" in r.text


def test_delete_site_with_children_is_refused_on_page(client: TestClient, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = post(client, f"/sites/{tree.hub_a}/delete")
    assert r.status_code == 409
    assert "còn điểm cầu cấp dưới" in r.text


def test_delete_leaf_site_returns_to_tree(client: TestClient, db: Session, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = post(client, f"/sites/{tree.ward_a2}/delete")
    assert r.status_code == 303
    assert client.get(r.headers["location"]).text.count("Cần Giờ") == 0
    db.rollback()
    assert db.get(Site, tree.ward_a2) is None


def test_admin_creates_coordinator_who_can_log_in(client: TestClient, tree: Tree) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = post(client, f"/sites/{tree.hub_b}/coordinators", {
        "full_name": "Nguyễn Thị Hà", "phone": "0987 654 321", "username": "hanoi",
        "password": "hanoi-password"})
    assert r.status_code == 303
    assert "Nguyễn Thị Hà" in client.get(f"/sites/{tree.hub_b}").text
    client.cookies.clear()
    assert login(client, "hanoi", "hanoi-password") == f"/conferences/{tree.cid}/sites"


def test_create_coordinator_with_taken_username_keeps_input(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = post(client, f"/sites/{tree.hub_b}/coordinators", {
        "full_name": "Nguyễn Thị Hà", "username": "HCM", "password": "hanoi-password"})
    assert r.status_code == 409
    assert "Tên đăng nhập đã được dùng" in r.text
    assert 'value="Nguyễn Thị Hà"' in r.text
    assert "hanoi-password" not in r.text




# ------------------------------------------------------- scope guard

# Page routes naming a site, with the form a coordinator of hub A sends about a site
# outside their subtree. Admin-only routes are refused as a whole and need no case.
PAGE_CASES: dict[tuple[str, str], dict[str, str] | None] = {
    ("GET", "/sites/{site_id}"): None,
    ("POST", "/sites/{site_id}"): {"name": "Bị sửa"},
    ("GET", "/conferences/{conference_id}/sites"): None,
    ("POST", "/conferences/{conference_id}/sites"): {"name": "Xã lạ", "kind": "commune"},
}


def _page_url(path: str, tree: Tree, site: int) -> str:
    url = path.replace("{site_id}", str(site)).replace("{conference_id}", str(tree.cid))
    return url + (f"?under={site}" if url.endswith("/sites") else "")


def _site_pages() -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """Page routes whose path names a site, and those among them that are admin-only."""
    every, admin_only = set(), set()
    modules = (login_pages, conference_pages, site_pages, invite_pages, registration_pages,
               import_pages)
    for route in (r for m in modules for r in m.router.routes):
        if isinstance(route, APIRoute) and "site" in route.path:
            keys = {(method, route.path) for method in route.methods or ()}
            every |= keys
            if any(d.call is get_admin_user for d in route.dependant.dependencies):
                admin_only |= keys
    return every, admin_only


def test_every_site_page_is_scope_tested() -> None:
    every, admin_only = _site_pages()
    assert set(PAGE_CASES) <= every, "the guard sees the routes it guards"
    assert {("POST", "/sites/{site_id}/delete"), ("POST", "/sites/{site_id}/approve")} <= admin_only
    assert every - admin_only <= set(PAGE_CASES), sorted(every - admin_only - set(PAGE_CASES))


def test_coordinator_is_refused_on_every_site_page_outside_subtree(
    client: TestClient, db: Session, tree: Tree, coordinator_a: User
) -> None:
    every, _ = _site_pages()
    login(client, "hcm", "hcm-password")
    for method, path in sorted(every):
        form = PAGE_CASES.get((method, path)) or {}
        for outside in (tree.hub_b, tree.ward_b1, tree.central):
            url = _page_url(path, tree, outside)
            if method == "GET":
                r = client.get(url)
            else:
                r = post(client, url, {**form, "parent_id": str(outside)})
            assert r.status_code == 403, (method, url, r.text[:200])
            assert (errors.SiteOutOfScope.detail in r.text
                    or accounts_errors.AdminOnly.detail in r.text)
    db.rollback()
    names = set(db.exec(select(Site.name)).all())
    assert "Bị sửa" not in names and "Xã lạ" not in names
    assert len(names) == 6
