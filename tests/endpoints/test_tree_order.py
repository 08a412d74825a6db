"""List order of the site tree: children under their parent, siblings by kind (wards,
communes, special zones, departments, organisations), then by Vietnamese name; in the
site lists, the dashboard, the reports and the pickers; kept true by every change."""

import csv
import io

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.accounts.models import User
from endpoints import (
    participations,
    registry,
    service,
    site_changes,
    site_lists,
    tree_order,
    units,
)
from endpoints.models import Participation, Site, SiteCreate, SiteKind, SiteUpdate
from tests.conftest import Tree
from tests.endpoints.import_support import csv_bytes, run

# Created in the wrong order on purpose: organisations first, wards last.
HCM_CHILDREN = [
    ("Ủy ban Mặt trận Tổ quốc Việt Nam Thành phố", SiteKind.organization),
    ("Sở Y tế", SiteKind.department),
    ("Đặc khu Côn Đảo", SiteKind.special_zone),
    ("Xã Cần Giờ", SiteKind.commune),
    ("Xã Bình Chánh", SiteKind.commune),
    ("Phường Sài Gòn", SiteKind.ward),
    ("Phường Đa Kao", SiteKind.ward),
    ("Phường Dĩ An", SiteKind.ward),
    ("Phường Bến Thành", SiteKind.ward),
]
LISTED = ["Phường Bến Thành", "Phường Dĩ An", "Phường Đa Kao", "Phường Sài Gòn",
          "Xã Bình Chánh", "Xã Cần Giờ", "Đặc khu Côn Đảo", "Sở Y tế",
          "Ủy ban Mặt trận Tổ quốc Việt Nam Thành phố"]


def _hcm(db: Session, admin: User, tree: Tree) -> None:
    for name, kind in HCM_CHILDREN:
        service.create_site(db, conference_id=tree.cid, actor=admin,
                            data=SiteCreate(name=name, kind=kind, parent_id=tree.hub_a))


def _consistent(db: Session) -> None:
    """Every stored sort path is the one computed afresh from the tree."""
    db.expire_all()
    sites = db.exec(select(Site)).all()
    fresh = tree_order.sort_paths((s.id or 0, s.parent_id, s.kind, s.name) for s in sites)
    assert {s.id: s.sort_path for s in sites} == fresh
    for part in db.exec(select(Participation)).all():
        assert part.sort_path == fresh[part.site_id], part


def test_names_sort_in_vietnamese_order() -> None:
    names = ["Phường Đa Kao", "Phường Dĩ An", "Phường Di Linh", "Phường Anh Dũng",
             "Phường An Khánh", "Phường Bà Láng", "Phường Ba Láng", "Phường 10", "Phường 2"]
    assert sorted(names, key=tree_order.name_key) == [
        "Phường 10", "Phường 2",  # digits before letters
        "Phường An Khánh", "Phường Anh Dũng",  # word by word
        "Phường Ba Láng", "Phường Bà Láng",  # the tone after the base letter
        "Phường Di Linh", "Phường Dĩ An", "Phường Đa Kao",  # Đ after D
    ]
    assert set(tree_order.name_key("Đảng ủy phường Bến Nghé")) <= set("0123456789abcdef")


def test_siblings_by_kind_then_name_in_every_list(
    db: Session, admin: User, tree: Tree, client: TestClient, admin_headers: dict[str, str]
) -> None:
    _hcm(db, admin, tree)
    c = f"/api/v1/conferences/{tree.cid}"
    sites = client.get(f"{c}/sites", headers=admin_headers, params={"limit": 500}).json()
    names = [s["name"] for s in sites]
    # The tree stays a tree: Hà Nội's hub (Đ before T) with its ward, then HCM's.
    assert names[:4] == ["Hội trường Trung ương", "Điểm cầu Hà Nội",
                         "Đảng ủy phường Hoàn Kiếm", "Trung tâm Hội nghị 272"]
    assert [n for n in names if n in LISTED] == LISTED
    under = client.get(f"{c}/sites", headers=admin_headers,
                       params={"under_id": tree.hub_a, "limit": 500}).json()
    assert [s["name"] for s in under if s["name"] in LISTED] == LISTED
    reg = client.get("/api/v1/registry/sites", headers=admin_headers,
                     params={"under_id": tree.hub_a, "limit": 500}).json()
    assert [s["name"] for s in reg if s["name"] in LISTED] == LISTED
    rows = client.get(f"{c}/dashboard/sites", headers=admin_headers,
                      params={"limit": 500}).json()["rows"]
    assert [r["name"] for r in rows if r["name"] in LISTED] == LISTED
    report = client.get(f"{c}/reports/attendance.csv", headers=admin_headers,
                        params={"level": "site"})
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert [n for row in lines for n in row if n in LISTED] == LISTED
    hubs = [s.name for s in participations.hub_choices(db)]
    assert hubs == ["Hội trường Trung ương", "Điểm cầu Hà Nội", "Trung tâm Hội nghị 272"]


def test_rename_kind_change_and_move_rewrite_the_subtree(
    db: Session, admin: User, tree: Tree
) -> None:
    _hcm(db, admin, tree)
    _consistent(db)
    # A decree renames the hub: its subtree's paths follow (past conferences too).
    registry.rename_site(db, site_id=tree.hub_a, name="Thành phố Hồ Chí Minh", actor=admin)
    _consistent(db)
    zone = db.exec(select(Site).where(col(Site.name) == "Đặc khu Côn Đảo")).one()
    site_changes.update_site(db, site_id=zone.id or 0, actor=admin,
                             data=SiteUpdate(kind=SiteKind.ward, name="Phường Côn Đảo"))
    _consistent(db)
    site_changes.update_site(db, site_id=tree.ward_a2, actor=admin,
                             data=SiteUpdate(parent_id=zone.id))
    _consistent(db)
    page = site_lists.list_sites(db, conference_id=tree.cid, actor=admin, limit=500)
    names = [v.site.name for v in page.items]
    assert names.index("Phường Côn Đảo") + 1 == names.index("Đảng ủy xã Cần Giờ")
    assert names.index("Phường Bến Thành") < names.index("Phường Côn Đảo")


def test_imports_and_official_units_write_sort_paths(
    db: Session, admin: User, tree: Tree
) -> None:
    run(db, tree, admin, csv_bytes([
        ["Q1-BT", "Đảng ủy phường Bến Thành", "phường", "Q1"],
        ["Q1", "Cụm điểm cầu Quận 1", "other", "HCM"],
        ["HCM-BN", "Đảng ủy phường Bến Nghé mới", "phường", "HCM"],  # a rename
    ]))
    _consistent(db)
    units.load_units(db, actor=admin, province_code=22)
    _consistent(db)
