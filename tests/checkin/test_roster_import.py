"""Roster import from CSV/XLSX on SQLite and PostgreSQL: all rows or none, every bad line."""

import csv
import io
import unicodedata

import openpyxl
import pytest
from sqlmodel import Session, func, select

from app.accounts.models import User
from app.tabular import errors as tabular_errors
from checkin import roster_import
from checkin.models import Attendee
from tests.conftest import Tree


def _count(db: Session) -> int:
    db.rollback()
    return db.exec(select(func.count()).select_from(Attendee)).one()


def _csv(rows: list[list[str]], header: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header or ["Họ và tên", "Mã điểm cầu", "Đơn vị", "Chức vụ", "SĐT"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def test_import_attendees_csv_all_rows(wdb: Session, tree: Tree, admin: User) -> None:
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Hằng")
    data = _csv(
        [
            [nfd, "HCM-BN", "UBND phường", "Chủ tịch", "912345678"],
            ["Lê Văn Tám", "HN-HK", "", "", ""],
        ]
    )
    report = roster_import.import_attendees(
        wdb, conference_id=tree.cid, filename="ds.csv", data=data, actor=admin
    )
    assert (report.created, report.rows, report.counts) == (2, 2, {"HCM-BN": 1, "HN-HK": 1})
    wdb.rollback()
    hang = wdb.exec(select(Attendee).where(Attendee.name_key == "nguyen thi hang")).one()
    assert hang.full_name == unicodedata.normalize("NFC", nfd)
    assert hang.phone == "0912345678"
    assert any("số 0" in w for w in report.warnings)


def test_import_attendees_bad_lines_reported_nothing_written(
    wdb: Session, tree: Tree, admin: User
) -> None:
    data = _csv(
        [
            ["Nguyễn Văn 😀", "HCM-BN", "", "", ""],
            ["Trần\x07 Văn Bê", "HCM-BN", "", "", ""],
            ["", "HCM-BN", "", "", ""],
            ["Lê Văn Cê", "NOPE", "", "", ""],
            ["Lê Văn Đê", "HCM-BN", "", "", "abc"],
            ["Phạm Văn Ê", "HCM-BN", "§µ N½ng", "", ""],
            ["Võ Văn Phê", "HCM-BN", "Sở\u202e Y tế", "", ""],
        ]
    )
    with pytest.raises(tabular_errors.ImportRejected) as exc:
        roster_import.import_attendees(
            wdb, conference_id=tree.cid, filename="ds.csv", data=data, actor=admin
        )
    codes = [(e["line"], e["code"]) for e in exc.value.extra["errors"]]
    assert codes == [
        (2, "invalid_characters"),
        (3, "control_chars"),
        (4, "required"),
        (5, "unknown_site"),
        (6, "invalid_phone"),
        (7, "legacy_encoding"),
        (8, "control_chars"),
    ]
    assert exc.value.status_code == 422
    assert _count(wdb) == 0


def test_import_attendees_xlsx_and_missing_columns(wdb: Session, tree: Tree, admin: User) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["full_name", "site_code"])
    sheet.append(["Hoàng Văn Phúc", "HCM-CG"])
    buf = io.BytesIO()
    book.save(buf)
    report = roster_import.import_attendees(
        wdb, conference_id=tree.cid, filename="ds.xlsx", data=buf.getvalue(), actor=admin
    )
    assert report.created == 1 and report.encoding == "xlsx"
    with pytest.raises(tabular_errors.MissingColumns):
        roster_import.import_attendees(
            wdb,
            conference_id=tree.cid,
            filename="ds.csv",
            data=_csv([["x"]], header=["tên"]),
            actor=admin,
        )
    with pytest.raises(tabular_errors.UnsupportedFile):
        roster_import.import_attendees(
            wdb, conference_id=tree.cid, filename="ds.pdf", data=b"%PDF-1.4", actor=admin
        )


def test_import_attendees_coordinator_limited_to_subtree(
    wdb: Session, tree: Tree, coordinator_a: User
) -> None:
    with pytest.raises(tabular_errors.ImportRejected) as exc:
        roster_import.import_attendees(
            wdb,
            conference_id=tree.cid,
            filename="ds.csv",
            data=_csv([["Lê Văn Tám", "HN-HK", "", "", ""]]),
            actor=coordinator_a,
        )
    assert exc.value.extra["errors"][0]["code"] == "unknown_site"
