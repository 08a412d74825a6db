"""Site-tree import (CSV/XLSX): service, API, page and CLI, on SQLite and PostgreSQL."""

import csv
import io
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from app.accounts import errors as accounts_errors
from app.accounts import service as accounts_service
from app.accounts.models import User
from app.cli import cli
from app.config import get_settings
from app.db import create_db_engine
from app.main import create_app
from app.tabular import errors, reader
from app.tabular.report import ImportReport
from bench.import_sites import national_tree, to_csv
from endpoints import import_columns, imports, service
from endpoints.models import ConferenceCreate, Site, SiteKind
from tests.browser import LiveServer
from tests.conftest import ADMIN_PASSWORD, Tree, make_settings, token_for

HEADER = ["code", "name", "kind", "parent_code"]
TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"
CSRF_COOKIE = "diemcau_csrf"


# ------------------------------------------------------------------ helpers


def csv_bytes(rows: Sequence[Sequence[object]], *, header: Sequence[str] = HEADER,
              delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Điểm cầu"
    for row in rows:
        sheet.append(list(row))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def cp1258(value: str) -> bytes:
    """What Excel on a Vietnamese Windows writes: base letters plus combining tone marks."""
    out = []
    for ch in value:
        try:
            out.append(ch.encode("cp1258"))
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS))
            tones = "".join(c for c in parts if c in TONE_MARKS)
            out.append((base + tones).encode("cp1258"))
    return b"".join(out)


def count(db: Session, conference_id: int) -> int:
    db.rollback()  # a fresh snapshot: the app may have written in another session
    return int(
        db.exec(
            select(func.count()).select_from(Site).where(Site.conference_id == conference_id)
        ).one()
    )


def site(db: Session, conference_id: int, code: str) -> Site:
    found = db.exec(
        select(Site).where(Site.conference_id == conference_id, Site.code == code)
    ).first()
    assert found is not None, code
    return found


def run(db: Session, tree: Tree, admin: User, data: bytes, filename: str = "sites.csv",
        **kw: object) -> ImportReport:
    return imports.import_sites(
        db, conference_id=tree.cid, filename=filename, data=data, actor=admin, **kw  # type: ignore[arg-type]
    )


def rejected(db: Session, tree: Tree, admin: User, data: bytes,
             filename: str = "sites.csv") -> list[dict[str, object]]:
    before = count(db, tree.cid)
    with pytest.raises(errors.ImportRejected) as caught:
        run(db, tree, admin, data, filename)
    assert count(db, tree.cid) == before, "nothing is written when a line is bad"
    found: list[dict[str, object]] = caught.value.extra["errors"]
    assert caught.value.extra["error_count"] >= len(found) > 0
    return found


def new_conference(db: Session, admin: User, title: str) -> int:
    day = date(2025, 9, 9)
    conf = service.create_conference(
        db, data=ConferenceCreate(title=title, starts_on=day, ends_on=day), actor=admin
    )
    assert conf.id is not None
    return conf.id


def codes_by_line(found: list[dict[str, object]]) -> set[tuple[object, object]]:
    return {(e["line"], e["code"]) for e in found}


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
        ["HCM-BN", "Phường Bến Nghé", "ward", "HCM"],  # line 4: exists in the conference
        ["NEW-2", "Xã Hai", "xã", "NOPE"],      # line 5: unknown parent
        ["NEW-3", "Xã Ba", "xã", "hcm"],        # line 6: wrong case → unknown, with a hint
    ]))
    assert codes_by_line(found) == {
        (3, "duplicate_code"), (4, "code_exists"), (5, "unknown_parent"), (6, "unknown_parent"),
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
    deepest = db.exec(select(func.max(Site.depth)).where(Site.conference_id == conference_id))
    assert deepest.one() == 2
    orphans = db.exec(
        select(func.count()).select_from(Site).where(
            Site.conference_id == conference_id, col(Site.parent_id).is_(None)
        )
    ).one()
    assert orphans == 1


def test_import_racing_writer_conflict_writes_nothing(
    db: Session, admin: User, tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if another writer added "HCM-BN" between the checks and the insert.
    monkeypatch.setattr(imports, "_existing_sites", lambda db, conference_id: {})
    data = csv_bytes([["NEW-9", "Xã Chín", "xã", ""], ["HCM-BN", "Phường Bến Nghé", "ward", ""]])
    before = count(db, tree.cid)
    with pytest.raises(errors.ImportConflict) as caught:
        run(db, tree, admin, data)
    assert caught.value.status_code == 409
    assert count(db, tree.cid) == before


# ---------------------------------------------------------------------- API


def url(tree: Tree) -> str:
    return f"/api/v1/conferences/{tree.cid}/sites/import"


def test_api_import_multipart_creates_sites(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    data = csv_bytes([["HCM-TD", "Đảng ủy phường Tân Định", "ward", "HCM"]])
    r = client.post(url(tree), headers=admin_headers, files={"file": ("cay.csv", data, "text/csv")})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["created"] == 1 and body["encoding"] == "utf-8" and body["by_kind"] == {"ward": 1}
    assert set(body["seconds"]) == {"parse", "validate", "insert", "total"}
    assert site(db, tree.cid, "HCM-TD").parent_id == tree.hub_a


def test_api_import_raw_csv_body(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    data = csv_bytes([["HN-CG", "Đảng ủy phường Cầu Giấy", "ward", "HN"]], delimiter="\t")
    r = client.post(url(tree), headers={**admin_headers, "Content-Type": "text/csv"}, content=data)
    assert r.status_code == 201, r.text
    assert site(db, tree.cid, "HN-CG").parent_id == tree.hub_b


def test_api_import_invalid_lines_422_with_errors(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    data = csv_bytes([["HCM", "Trùng mã", "hub", "TW"], ["Z1", "Xã Z", "xã", "KHONG-CO"]])
    before = count(db, tree.cid)
    r = client.post(url(tree), headers=admin_headers, files={"file": ("a.csv", data, "text/csv")})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "import_invalid" and body["error_count"] == 2
    assert body["detail"] == "Tệp có 2 lỗi ở 2 dòng; chưa nhập điểm cầu nào."
    assert [(e["line"], e["column"], e["code"]) for e in body["errors"]] == [
        (2, "code", "code_exists"), (3, "parent_code", "unknown_parent"),
    ]
    assert count(db, tree.cid) == before


def test_api_import_50_mb_file_refused_413(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, tmp_path: Path, db: Session
) -> None:
    big = tmp_path / "big.csv"
    line = b"C000000,\"" + "Xã Ấp Bắc ".encode() * 8 + b"\",xa,HCM\r\n"
    with big.open("wb") as fh:
        fh.write(b"code,name,kind,parent_code\r\n")
        for _ in range(50 * 1024 * 1024 // (len(line) * 1000) + 1):
            fh.write(line * 1000)
    assert big.stat().st_size >= 50 * 1024 * 1024
    before = count(db, tree.cid)
    with big.open("rb") as fh:
        r = client.post(url(tree), headers=admin_headers,
                        files={"file": ("big.csv", fh, "text/csv")})
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "file_too_large" and "20 MB" in r.json()["detail"]
    assert count(db, tree.cid) == before


@pytest.fixture
def small_client(database_url: str) -> Iterator[TestClient]:
    """An app that accepts uploads of at most 4 KiB."""
    with TestClient(create_app(make_settings(database_url, max_import_bytes=4096))) as c:
        yield c


def test_api_import_streamed_body_over_limit_refused(
    small_client: TestClient, tree: Tree
) -> None:
    headers = token_for(small_client, "admin", ADMIN_PASSWORD)

    def chunks() -> Iterator[bytes]:
        yield b"code,name,kind,parent_code\r\n"
        for i in range(1000):
            yield f"S{i},Xã {i},xã,HCM\r\n".encode()

    r = small_client.post(url(tree), headers={**headers, "Content-Type": "text/csv"},
                          content=chunks())
    assert r.status_code == 413 and r.json()["code"] == "file_too_large"
    boundary = "diemcau-test"

    def multipart() -> Iterator[bytes]:
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
               f"filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\n").encode()
        for i in range(10_000):
            yield f"S{i},Xã {i},xã,HCM\r\n".encode()
        yield f"\r\n--{boundary}--\r\n".encode()

    r = small_client.post(
        url(tree), content=multipart(),
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413 and r.json()["code"] == "file_too_large"


def test_api_import_200_000_rows_refused_413(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    data = csv_bytes([[f"C{i}", f"Xã {i}", "xã", "HCM"] for i in range(200_000)])
    r = client.post(url(tree), headers=admin_headers, files={"file": ("a.csv", data, "text/csv")})
    assert r.status_code == 413 and r.json()["code"] == "too_many_rows"


def test_api_import_by_coordinator_403(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    headers = token_for(client, "hcm", "hcm-password")
    data = csv_bytes([["HCM-X", "Xã X", "xã", "HCM"]])
    r = client.post(url(tree), headers=headers, files={"file": ("a.csv", data, "text/csv")})
    assert r.status_code == 403 and r.json()["code"] == "admin_only"


@pytest.mark.parametrize(
    ("filename", "data", "code"),
    [
        ("anh.png", b"\x89PNG\r\n\x1a\n", "unsupported_file"),
        ("ghi-chu.docx", b"PK\x03\x04", "unsupported_file"),
        ("cu.csv", "§¶ng ñy".encode("latin-1"), "encoding_unsupported"),
    ],
)
def test_api_import_unsupported_files_415(
    client: TestClient, admin_headers: dict[str, str], tree: Tree,
    filename: str, data: bytes, code: str,
) -> None:
    r = client.post(url(tree), headers=admin_headers,
                    files={"file": (filename, data, "application/octet-stream")})
    assert r.status_code == 415 and r.json()["code"] == code


def test_api_import_without_file_or_with_json_refused(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    r = client.post(url(tree), headers=admin_headers, data={"other": "x"})
    assert r.status_code == 415 and r.json()["code"] == "unsupported_file"
    r = client.post(url(tree), headers=admin_headers, json={"rows": []})
    assert r.status_code == 415
    r = client.post("/api/v1/conferences/99999/sites/import", headers=admin_headers,
                    files={"file": ("a.csv", csv_bytes([["A", "Xã A", "xã", ""]]), "text/csv")})
    assert r.status_code == 404 and r.json()["code"] == "conference_not_found"


# -------------------------------------------------------------------- pages


def page_login(client: TestClient) -> str:
    client.get("/login")
    token = str(client.cookies[CSRF_COOKIE])
    r = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                     "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return token


def test_import_page_shows_form_and_template_imports_cleanly(
    client: TestClient, tree: Tree, db: Session, admin: User
) -> None:
    page_login(client)
    r = client.get(f"/conferences/{tree.cid}/sites/import")
    assert r.status_code == 200
    assert 'enctype="multipart/form-data"' in r.text and "/static/import.js" in r.text
    sample = client.get(f"/conferences/{tree.cid}/sites/import/mau.csv")
    assert sample.status_code == 200 and sample.content.startswith(b"\xef\xbb\xbf")
    conference_id = new_conference(db, admin, "Mẫu")
    report = imports.import_sites(db, conference_id=conference_id, filename="mau.csv",
                                  data=sample.content, actor=admin)
    assert report.created == len(import_columns.SAMPLE_ROWS) - 1 and report.warnings == []


def test_import_page_post_shows_result_and_line_errors(
    client: TestClient, tree: Tree, db: Session
) -> None:
    token = page_login(client)
    form_url = f"/conferences/{tree.cid}/sites/import"
    bad = csv_bytes([["HCM", "Trùng", "hub", "TW"], ["N1", "<b>Xã</b>\x01", "xã", "HCM"]])
    r = client.post(form_url, data={"csrf_token": token},
                    files={"file": ("a.csv", bad, "text/csv")})
    assert r.status_code == 422
    assert "Các dòng cần sửa" in r.text and 'data-code="code_exists"' in r.text
    assert 'data-code="control_chars"' in r.text and "&lt;b&gt;Xã&lt;/b&gt;[U+0001]" in r.text
    good = csv_bytes([["N2", "Đảng ủy xã Bình Chánh", "xã", "HCM"]])
    r = client.post(form_url, data={"csrf_token": token},
                    files={"file": ("a.csv", good, "text/csv")})
    assert r.status_code == 200 and "Đã nhập <strong>1</strong> điểm cầu" in r.text
    assert site(db, tree.cid, "N2").parent_id == tree.hub_a


def test_import_page_post_without_csrf_or_by_coordinator_refused(
    client: TestClient, tree: Tree, db: Session, coordinator_a: User
) -> None:
    page_login(client)
    form_url = f"/conferences/{tree.cid}/sites/import"
    good = csv_bytes([["N3", "Xã N3", "xã", "HCM"]])
    before = count(db, tree.cid)
    r = client.post(form_url, data={"csrf_token": "forged"},
                    files={"file": ("a.csv", good, "text/csv")})
    assert r.status_code == 403
    assert count(db, tree.cid) == before
    client.cookies.clear()
    client.get("/login")
    token = str(client.cookies[CSRF_COOKIE])
    client.post("/login", data={"username": "hcm", "password": "hcm-password",
                                "csrf_token": token})
    assert client.get(form_url).status_code == 403


# ---------------------------------------------------------------------- CLI


@pytest.fixture
def cli_db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    """A SQLite database with an admin and the small tree; the CLI reads it from the env."""
    monkeypatch.setenv("DIEMCAU_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    engine = create_db_engine(sqlite_url, pool_size=1)
    with Session(engine, expire_on_commit=False) as db:
        admin = accounts_service.ensure_admin(db, username="admin", password=ADMIN_PASSWORD)
        assert admin is not None
        yield sqlite_url, Tree(db, admin).cid
    engine.dispose()
    get_settings.cache_clear()


def test_cli_import_sites_succeeds(cli_db: tuple[str, int], tmp_path: Path) -> None:
    sqlite_url, cid = cli_db
    path = tmp_path / "cay.csv"
    path.write_bytes(csv_bytes([["HCM-TT", "Đảng ủy phường Tân Thuận", "phường", "HCM"],
                                ["HCM-TT2", "Đảng ủy xã Thạnh An", "xã", "HCM-TT"]]))
    result = CliRunner().invoke(cli, ["import-sites", str(path), "--conference", str(cid)])
    assert result.exit_code == 0, result.output
    assert "Đã nhập 2 điểm cầu" in result.output and "Kiểm tra" in result.output
    engine = create_db_engine(sqlite_url, pool_size=1)
    with Session(engine) as db:
        assert site(db, cid, "HCM-TT2").depth == 3
    engine.dispose()


def test_cli_import_sites_bad_file_exits_1(cli_db: tuple[str, int], tmp_path: Path) -> None:
    _, cid = cli_db
    path = tmp_path / "sai.csv"
    path.write_bytes(csv_bytes([["HCM-BN", "Trùng", "ward", "HCM"], ["Q", "Xã Q", "xã", "ZZ"]]))
    result = CliRunner().invoke(cli, ["import-sites", str(path), "--conference", str(cid)])
    assert result.exit_code == 1
    assert "Các dòng cần sửa" in result.output and "Tệp có 2 lỗi ở 2 dòng" in result.output
    assert "ZZ" in result.output
    missing = CliRunner().invoke(cli, ["import-sites", str(path), "--conference", "999"])
    assert missing.exit_code == 1 and "conference_not_found" in missing.output


# ------------------------------------------------------------------ browser


@pytest.mark.browser
def test_import_page_uploads_with_progress_and_shows_errors_in_place(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    engine = create_db_engine(live_server.settings.database_url, pool_size=1)
    with Session(engine, expire_on_commit=False) as db:
        admin = accounts_service.authenticate(db, username="admin", password=ADMIN_PASSWORD)
        cid = new_conference(db, admin, "Tập huấn AI")
    base = live_server.url
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()
    page.goto(f"{base}/conferences/{cid}/sites/import")
    page.evaluate("window.__samePage = true")
    bad = tmp_path / "sai.csv"
    bad.write_bytes(csv_bytes([["TW", "Hội trường", "trung tâm", ""], ["X", "Xã X", "xã", "ZZ"]]))
    page.set_input_files("input[type=file]", str(bad))
    page.get_by_role("button", name="Tải lên và nhập").click()
    page.wait_for_selector("tr[data-code=unknown_parent]")
    assert page.evaluate("window.__samePage") is True, "the result came in place, no reload"
    assert "Tệp có 1 lỗi ở 1 dòng" in page.inner_text("#import-result")
    page.screenshot(path=str(tmp_path / "import-errors.png"), full_page=True)
    good = tmp_path / "dung.csv"
    good.write_bytes(to_csv(national_tree(communes=40, wards=10)))
    page.set_input_files("input[type=file]", str(good))
    page.get_by_role("button", name="Tải lên và nhập").click()
    page.wait_for_selector("#import-result .flash:not(.err)")
    assert "Đã nhập 98 điểm cầu" in page.inner_text("#import-result")
    assert page.evaluate("window.__samePage") is True
    page.screenshot(path=str(tmp_path / "import.png"), full_page=True)
    with Session(engine) as db:
        assert count(db, cid) == 98
    engine.dispose()
