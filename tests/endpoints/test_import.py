"""Site-tree import (CSV/XLSX): service, API, page and CLI, on SQLite and PostgreSQL."""

import unicodedata

import pytest
from sqlmodel import Session, col, func, select

from app.accounts import errors as accounts_errors
from app.accounts.models import User
from app.tabular import errors, reader
from bench.import_sites import national_tree, to_csv
from endpoints import imports
from endpoints.models import Site, SiteChange, SiteHistory, SiteKind, SiteStatus
from tests.conftest import Tree
from tests.endpoints.import_support import (
    HEADER,
    codes_by_line,
    count,
    cp1258,
    csv_bytes,
    new_conference,
    registry_count,
    rejected,
    run,
    site,
    xlsx_bytes,
)

# ------------------------------------------------------------------ service


def test_import_csv_builds_tree_with_children_before_parents(
    db: Session, admin: User, tree: Tree
) -> None:
    data = csv_bytes([
        ["Q1-BT", "Đảng ủy phường Bến Thành", "phường", "Q1"],
        ["Q1", "Cụm điểm cầu Quận 1", "other", "HCM"],
        ["DN", "Điểm cầu Đà Nẵng", "tỉnh", "TW"],
        ["DN-HC", "Đảng ủy phường Hải Châu", "ward", "DN"],
    ])
    before = count(db, tree.cid)
    report = run(db, tree, admin, data)
    assert report.created == 4 and report.rows == 4 and report.encoding == "utf-8"
    assert list(report.counts.items()) == [("hub", 1), ("ward", 2), ("other", 1)]
    assert count(db, tree.cid) == before + 4
    hcm = site(db, tree.cid, "HCM")
    q1, bt = site(db, tree.cid, "Q1"), site(db, tree.cid, "Q1-BT")
    assert q1.parent_id == hcm.id and q1.path == f"{hcm.path}{q1.id}/" and q1.depth == 2
    assert bt.parent_id == q1.id and bt.path == f"{q1.path}{bt.id}/" and bt.depth == 3
    assert bt.name_key == "dang uy phuong ben thanh" and bt.kind == SiteKind.ward
    dn = site(db, tree.cid, "DN")
    assert dn.path == f"/{tree.central}/{dn.id}/" and dn.depth == 1
    # The conference's copy of each path (its tree order) matches the registry's.
    assert all(v.part is not None and v.part.path == v.site.path for v in (q1, bt, dn))


def test_import_xlsx_reads_numbers_and_vietnamese_headers(
    db: Session, admin: User, tree: Tree
) -> None:
    data = xlsx_bytes([
        ["Mã", "Tên điểm cầu", "Loại", "Mã cấp trên", "SĐT", "Số đại biểu dự kiến", "Ghi chú"],
        ["HN-BD", "Đảng ủy phường Ba Đình", "Phường", "HN", 912345678, 120, "x"],
        [None, None, None, None, None, None, None],
        ["HN-SS", "Đảng ủy xã Sóc Sơn", "Xã", "HN", "0243 555 666", 75.0, None],
    ])
    report = run(db, tree, admin, data, filename="cay.xlsx")
    assert report.created == 2 and report.encoding == "xlsx"
    assert any("Ghi chú" in w for w in report.warnings), report.warnings
    bd = site(db, tree.cid, "HN-BD")
    assert bd.contact_phone == "0912345678" and bd.expected_attendees == 120
    assert bd.parent_id == tree.hub_b and bd.depth == 2
    assert site(db, tree.cid, "HN-SS").kind == SiteKind.commune


def test_import_stores_nfd_names_as_nfc(db: Session, admin: User, tree: Tree) -> None:
    name = unicodedata.normalize("NFD", "Đảng ủy phường Nguyễn Thái Bình")
    run(db, tree, admin, csv_bytes([["HCM-NTB", name, "ward", "HCM"]]))
    stored = site(db, tree.cid, "HCM-NTB")
    assert stored.name == unicodedata.normalize("NFC", name) != name
    assert stored.name_key == "dang uy phuong nguyen thai binh"


def test_import_converts_windows_1258_with_warning(db: Session, admin: User, tree: Tree) -> None:
    text = "mã;tên;loại;mã cấp trên\r\nHCM-SG;Đảng ủy phường Sài Gòn;phường;HCM\r\n"
    data = cp1258(text)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    report = run(db, tree, admin, data)
    assert report.encoding == "windows-1258"
    assert reader.CONVERTED_WARNING in report.warnings
    assert site(db, tree.cid, "HCM-SG").name == "Đảng ủy phường Sài Gòn"


@pytest.mark.parametrize(
    "legacy",
    [
        "§¶ng ñy ph\u00adêng BÕn NghÐ",  # TCVN3 bytes of "Đảng ủy phường Bến Nghé"
        "Ñaûng uûy phöôøng Beán Ngheù",  # the same in VNI
    ],
)
def test_import_refuses_tcvn3_and_vni_files(
    db: Session, admin: User, tree: Tree, legacy: str
) -> None:
    data = b"code,name,kind,parent_code\r\nHCM-X," + legacy.encode("latin-1") + b",ward,HCM\r\n"
    before = count(db, tree.cid)
    with pytest.raises(errors.EncodingUnsupported) as caught:
        run(db, tree, admin, data)
    assert caught.value.code == "encoding_unsupported"
    assert "CSV UTF-8" in caught.value.detail
    assert count(db, tree.cid) == before


def test_import_reports_duplicates_and_unknown_parents_per_line(
    db: Session, admin: User, tree: Tree
) -> None:
    found = rejected(db, tree, admin, csv_bytes([
        ["NEW-1", "Xã Một", "xã", "HCM"],       # line 2: fine
        ["NEW-1", "Xã Một bis", "xã", "HCM"],   # line 3: duplicate in the file
        ["HCM-BN", "Phường Bến Nghé", "ward", "HN"],  # line 4: in the registry, elsewhere
        ["NEW-2", "Xã Hai", "xã", "NOPE"],      # line 5: unknown parent
        ["NEW-3", "Xã Ba", "xã", "hcm"],        # line 6: wrong case → unknown, with a hint
    ]))
    assert codes_by_line(found) == {
        (3, "duplicate_code"), (4, "parent_differs"), (5, "unknown_parent"),
        (6, "unknown_parent"),
    }
    by_line = {e["line"]: e for e in found}
    assert by_line[3]["message"] == "Mã “NEW-1” trùng với dòng 2"
    assert by_line[3]["column"] == "code" and by_line[3]["header"] == "code"
    assert "“HCM”" in str(by_line[6]["message"])


def test_import_reports_cycles_and_a_second_central(db: Session, admin: User, tree: Tree) -> None:
    found = rejected(db, tree, admin, csv_bytes([
        ["A", "Cụm A", "other", "B"],
        ["B", "Cụm B", "other", "A"],
        ["C", "Cụm C", "other", "C"],
        ["TW2", "Hội trường thứ hai", "trung tâm", ""],
        ["D", "Cụm D", "other", "A"],  # under a loop, but itself fine
    ]))
    assert codes_by_line(found) == {
        (2, "cycle"), (3, "cycle"), (4, "cycle"), (5, "multiple_central"),
    }


def test_import_reports_two_centrals_in_one_file(db: Session, admin: User) -> None:
    conference_id = new_conference(db, admin, "Hội nghị mới")
    with pytest.raises(errors.ImportRejected) as caught:
        imports.import_sites(
            db, conference_id=conference_id, filename="a.csv", actor=admin,
            data=csv_bytes([["T1", "Trung tâm 1", "central", ""],
                            ["T2", "Trung tâm 2", "central", ""]]),
        )
    found = caught.value.extra["errors"]
    assert [(e["line"], e["code"]) for e in found] == [(3, "multiple_central")]


def test_import_reports_long_names_control_chars_and_bad_fields_per_line(
    db: Session, admin: User, tree: Tree
) -> None:
    header = ["code", "name", "kind", "parent_code", "contact_phone", "expected_attendees",
              "connection_link"]
    found = rejected(db, tree, admin, csv_bytes([
        ["L1", "X" * 10_000, "xã", "HCM", "", "", ""],
        ["L2", "Xã\x07Chuông", "xã", "HCM", "", "", ""],
        ["L3", "Xã\u200bẨn", "xã", "HCM", "", "", ""],
        ["mã có dấu", "Xã Bốn", "xã", "HCM", "", "", ""],
        ["L5", "Xã Năm", "làng", "HCM", "", "", ""],
        ["L6", "Xã Sáu", "xã", "HCM", "gọi tôi", "nhiều", "ftp://x"],
        ["L7", "", "", "HCM", "", "-3", ""],
        ["L8", "Xã Tám", "xã", "HCM", "", "1.200", "https://hop.example.vn/l8"],
    ], header=header))
    assert codes_by_line(found) == {
        (2, "too_long"), (3, "control_chars"), (4, "control_chars"), (5, "invalid_code"),
        (6, "invalid_kind"), (7, "invalid_phone"), (7, "invalid_number"), (7, "invalid_link"),
        (8, "required"), (8, "out_of_range"),
    }
    long = next(e for e in found if e["line"] == 2)
    assert long["message"] == "Tên dài quá 200 ký tự"
    assert len(str(long["value"])) <= 81, "a 10,000-character value is not echoed whole"
    bell = next(e for e in found if e["line"] == 3)
    assert bell["value"] == "Xã[U+0007]Chuông"


def test_import_reports_shifted_rows_and_legacy_font_cells(
    db: Session, admin: User, tree: Tree
) -> None:
    data = b"code,name,kind,parent_code\r\nS1,S\xe1\xbb\x9f, ban, ng\xc3\xa0nh,department,TW\r\n"
    found = rejected(db, tree, admin, data)
    assert (2, "too_many_cells") in codes_by_line(found)
    legacy = xlsx_bytes([HEADER, ["X1", "§¶ng ñy x· Cña §¹i", "xã", "HCM"]])
    assert codes_by_line(rejected(db, tree, admin, legacy, "a.xlsx")) == {(2, "legacy_encoding")}


def test_import_refuses_too_many_rows(db: Session, admin: User, tree: Tree) -> None:
    rows = [[f"C{i}", f"Xã {i}", "xã", "HCM"] for i in range(200_000)]
    with pytest.raises(errors.TooManyRows) as caught:
        run(db, tree, admin, csv_bytes(rows))
    assert caught.value.status_code == 413 and "40.000" in caught.value.detail
    assert count(db, tree.cid) == 6


def test_import_refuses_missing_columns_and_empty_files(
    db: Session, admin: User, tree: Tree
) -> None:
    with pytest.raises(errors.MissingColumns) as caught:
        run(db, tree, admin, csv_bytes([["A", "B"]], header=["tên", "mã cấp trên"]))
    assert caught.value.extra["missing"] == ["code", "kind"]
    with pytest.raises(errors.EmptyImport):
        run(db, tree, admin, csv_bytes([]))
    with pytest.raises(errors.EmptyImport):
        run(db, tree, admin, b"\xef\xbb\xbf\r\n\r\n")


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("anh.png", b"\x89PNG\r\n\x1a\nxxxx"),
        ("cay.csv", b"%PDF-1.7 ..."),
        ("cay.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100),
        ("cay.xlsx", b"PK\x03\x04 not really a zip"),
        ("cay.docx", b"hello"),
    ],
)
def test_import_refuses_other_file_types(
    db: Session, admin: User, tree: Tree, filename: str, data: bytes
) -> None:
    with pytest.raises(errors.UnsupportedFile) as caught:
        run(db, tree, admin, data, filename)
    assert caught.value.status_code == 415 and caught.value.code == "unsupported_file"


def test_import_by_coordinator_is_refused(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    with pytest.raises(accounts_errors.AdminOnly):
        imports.import_sites(db, conference_id=tree.cid, filename="a.csv", actor=coordinator_a,
                             data=csv_bytes([["X", "Xã X", "xã", "HCM"]]))


def test_import_national_tree_within_ten_seconds_with_progress(
    db: Session, admin: User
) -> None:
    conference_id = new_conference(db, admin, "Toàn quốc")
    stages: list[str] = []
    ticks: list[tuple[int, int]] = []
    report = imports.import_sites(
        db, conference_id=conference_id, filename="toan-quoc.csv", data=to_csv(national_tree()),
        actor=admin, stage=stages.append, progress=lambda d, t: ticks.append((d, t)),
    )
    assert report.created == 3356
    assert report.counts == {"central": 1, "hub": 34, "commune": 2621, "ward": 687,
                              "special_zone": 13}
    assert report.seconds["total"] < 10
    assert stages == ["parse", "validate", "insert"]
    assert ticks[-1] == (3356, 3356) and len(ticks) > 4
    assert count(db, conference_id) == 3356
    db.rollback()
    deepest = db.exec(select(func.max(Site.depth)))
    assert deepest.one() == 2
    orphans = db.exec(
        select(func.count()).select_from(Site).where(col(Site.parent_id).is_(None))
    ).one()
    assert orphans == 1
    assert registry_count(db) == 3356


def test_import_racing_writer_conflict_writes_nothing(
    db: Session, admin: User, tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if another writer added "HCM-BN" between the checks and the insert.
    monkeypatch.setattr(imports, "_existing_sites", lambda db: {})
    data = csv_bytes([["NEW-9", "Xã Chín", "xã", ""], ["HCM-BN", "Phường Bến Nghé", "ward", ""]])
    before = count(db, tree.cid)
    with pytest.raises(errors.ImportConflict) as caught:
        run(db, tree, admin, data)
    assert caught.value.status_code == 409
    assert count(db, tree.cid) == before


# ------------------------------------------------------------ the registry


def test_import_of_known_codes_updates_the_registry_and_invites_the_sites(
    db: Session, admin: User, tree: Tree
) -> None:
    later = new_conference(db, admin, "Hội nghị lần hai")
    header = ["code", "name", "kind", "parent_code", "expected_attendees"]
    data = csv_bytes([
        ["HCM-BN", "Đảng ủy phường Sài Gòn", "phường", "HCM", "80"],  # renamed by decree
        ["HCM-CG", "Đảng ủy xã Cần Giờ", "xã", "", "45"],  # no parent named: stays put
        ["HCM-TD", "Đảng ủy phường Tân Định", "phường", "HCM", "30"],  # new
    ], header=header)
    registry_before = registry_count(db)
    report = imports.import_sites(db, conference_id=later, filename="a.csv", data=data,
                                  actor=admin)
    assert report.created == 3 and any("2 điểm cầu đã có" in w for w in report.warnings)
    assert registry_count(db) == registry_before + 1
    # The imported sites and the sites above them take part; hub B does not.
    assert count(db, later) == 5
    renamed = site(db, later, "HCM-BN")
    assert (renamed.id, renamed.name, renamed.expected_attendees) == (
        tree.ward_a1, "Đảng ủy phường Sài Gòn", 80
    )
    assert site(db, later, "HCM-CG").parent_id == tree.hub_a
    assert site(db, later, "HCM").expected_attendees == 0
    # The first conference is over: it keeps the name it knew.
    assert site(db, tree.cid, "HCM-BN").name == "Đảng ủy phường Bến Nghé"
    history = db.exec(select(SiteHistory).where(SiteHistory.site_id == tree.ward_a1,
                                                SiteHistory.change == SiteChange.renamed)).all()
    assert [(h.old_name, h.new_name) for h in history] == [
        ("Đảng ủy phường Bến Nghé", "Đảng ủy phường Sài Gòn")
    ]
    # Importing again changes the expected attendees of sites already invited.
    again = csv_bytes([["HCM-TD", "Đảng ủy phường Tân Định", "phường", "HCM", "35"]],
                      header=header)
    imports.import_sites(db, conference_id=later, filename="a.csv", data=again, actor=admin)
    assert site(db, later, "HCM-TD").expected_attendees == 35
    assert count(db, later) == 5


def test_import_refuses_retired_sites_and_sites_below_them(
    db: Session, admin: User, tree: Tree
) -> None:
    ward = db.get(Site, tree.ward_b1)
    assert ward is not None
    ward.status = SiteStatus.retired
    db.add(ward)
    db.commit()
    found = rejected(db, tree, admin, csv_bytes([
        ["HN-HK", "Đảng ủy phường Hoàn Kiếm", "phường", "HN"],
        ["HN-HK-1", "Chi bộ 1", "other", "HN-HK"],
    ]))
    assert codes_by_line(found) == {(2, "site_inactive"), (3, "site_inactive")}
