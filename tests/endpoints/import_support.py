"""Arrangements shared by the site-import tests: files in every format, runs and counts."""

import csv
import io
import unicodedata
from collections.abc import Sequence
from datetime import date

import openpyxl
import pytest
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.tabular import errors
from app.tabular.report import ImportReport
from endpoints import imports, service
from endpoints.models import ConferenceCreate, Participation, Site, SiteView
from tests.conftest import Tree

HEADER = ["code", "name", "kind", "parent_code"]
TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


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
    """Sites taking part in a conference."""
    db.rollback()  # a fresh snapshot: the app may have written in another session
    return int(
        db.exec(
            select(func.count()).select_from(Participation)
            .where(Participation.conference_id == conference_id)
        ).one()
    )


def registry_count(db: Session) -> int:
    """Sites in the registry, whatever conference they take part in."""
    db.rollback()
    return int(db.exec(select(func.count()).select_from(Site)).one())


def site(db: Session, conference_id: int, code: str) -> SiteView:
    """The registry site with `code` as the conference sees it (it must take part)."""
    db.rollback()
    found = db.exec(
        select(Site, Participation)
        .join(Participation, col(Participation.site_id) == col(Site.id))
        .where(Participation.conference_id == conference_id, Site.code == code)
    ).first()
    assert found is not None, code
    return SiteView(*found)


def run(db: Session, tree: Tree, admin: User, data: bytes, filename: str = "sites.csv",
        **kw: object) -> ImportReport:
    return imports.import_sites(
        db, conference_id=tree.cid, filename=filename, data=data, actor=admin, **kw  # type: ignore[arg-type]
    )


def rejected(db: Session, tree: Tree, admin: User, data: bytes,
             filename: str = "sites.csv") -> list[dict[str, object]]:
    before = count(db, tree.cid), registry_count(db)
    with pytest.raises(errors.ImportRejected) as caught:
        run(db, tree, admin, data, filename)
    after = count(db, tree.cid), registry_count(db)
    assert after == before, "nothing is written when a line is bad"
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


