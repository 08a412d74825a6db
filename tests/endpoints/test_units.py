"""Loading the official administrative units into the registry: counts, codes, names,
idempotence, renames by a later load, refusals."""

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from app.accounts import service as accounts_service
from app.accounts.errors import AdminOnly
from app.accounts.models import User
from app.cli import cli
from app.config import get_settings
from app.db import create_db_engine
from endpoints import errors, service, units
from endpoints.models import (
    Participation,
    Site,
    SiteChange,
    SiteCreate,
    SiteHistory,
    SiteKind,
    SiteStatus,
)
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.registry_support import conference, invite


def _count(db: Session, *conds: Any) -> int:
    db.rollback()
    return int(db.exec(select(func.count()).select_from(Site).where(*conds)).one())


def _by_code(db: Session, code: str) -> Site:
    db.rollback()
    return db.exec(select(Site).where(Site.code == code)).one()


@pytest.fixture
def central(db: Session, admin: User) -> Site:
    return service.create_registry_site(
        db, data=SiteCreate(name="Hội trường Trung ương", kind=SiteKind.central, code="TW"),
        actor=admin,
    )


def test_whole_country_loads_34_hubs_and_3321_units_under_the_central_site(
    db: Session, admin: User, central: Site
) -> None:
    started = time.perf_counter()
    report = units.load_units(db, actor=admin)
    print(f"national load: {time.perf_counter() - started:.3f} s")  # the bench asserts speed
    assert (report.created, report.updated, report.unchanged) == (3355, 0, 0)
    assert report.kinds == {"hub": 34, "commune": 2621, "ward": 687, "special_zone": 13}
    assert _count(db, col(Site.kind) == SiteKind.hub, col(Site.parent_id) == central.id) == 34
    kinds = Counter(db.exec(select(Site.kind).where(col(Site.depth) == 2)).all())
    assert kinds == {"commune": 2621, "ward": 687, "special_zone": 13}
    created = db.exec(select(func.count()).select_from(SiteHistory).where(
        SiteHistory.change == SiteChange.created, SiteHistory.note == units.SOURCE)).one()
    assert created == 3355


def test_units_carry_official_codes_names_and_paths(
    db: Session, admin: User, central: Site
) -> None:
    units.load_units(db, actor=admin, province_code=22)
    hub = _by_code(db, "VN22")
    assert (hub.name, hub.kind, hub.parent_id) == ("Tỉnh Quảng Ninh", SiteKind.hub, central.id)
    zone = _by_code(db, "VN22-06994")
    assert (zone.name, zone.kind, zone.parent_id) == ("Đặc khu Vân Đồn", "special_zone", hub.id)
    assert zone.path == f"{central.path}{hub.id}/{zone.id}/" and zone.depth == 2
    assert zone.name_key == "dac khu van don"
    units.load_units(db, actor=admin, province_code=1)
    assert _by_code(db, "VN01").name == "Thành phố Hà Nội"
    assert _by_code(db, "VN01-00004").name == "Phường Ba Đình"
    assert _by_code(db, "VN01-00004").kind == SiteKind.ward


def test_one_province_loads_only_its_units(db: Session, admin: User) -> None:
    report = units.load_units(db, actor=admin, province_code=1)
    assert report.created == 1 + 126
    assert _count(db) == 127
    # Without a central site the hubs are roots.
    assert _by_code(db, "VN01").depth == 0


def test_a_second_load_changes_nothing(db: Session, admin: User, central: Site) -> None:
    units.load_units(db, actor=admin)
    before = db.exec(select(Site.id, Site.name, Site.path, Site.updated_at)
                     .order_by(col(Site.id))).all()
    history = db.exec(select(func.count()).select_from(SiteHistory)).one()
    report = units.load_units(db, actor=admin)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3355)
    db.rollback()
    assert db.exec(select(Site.id, Site.name, Site.path, Site.updated_at)
                   .order_by(col(Site.id))).all() == before
    assert db.exec(select(func.count()).select_from(SiteHistory)).one() == history


def test_a_later_load_renames_with_history_and_open_conferences_follow(
    db: Session, admin: User, central: Site
) -> None:
    units.load_units(db, actor=admin, province_code=1)
    ward = _by_code(db, "VN01-00004")
    past = conference(db, admin, "Hội nghị đã qua", -30, -30)
    live = conference(db, admin, "Hội nghị hôm nay", 0, 1)
    for c in (past, live):
        assert c.id is not None
        invite(db, c.id, ward.id or 0)
    # The registry still holds a name the official list has since changed.
    db.execute(update(Site).where(col(Site.id) == ward.id).values(name="Phường Cũ"))
    db.execute(update(Participation).where(col(Participation.site_id) == ward.id)
               .values(name="Phường Cũ"))
    db.commit()
    report = units.load_units(db, actor=admin, province_code=1)
    assert (report.updated, report.renamed) == (1, [("VN01-00004", "Phường Cũ", "Phường Ba Đình")])
    db.rollback()
    renamed = db.exec(select(SiteHistory).where(SiteHistory.site_id == ward.id,
                                                SiteHistory.change == SiteChange.renamed)).one()
    assert (renamed.old_name, renamed.new_name, renamed.note) == (
        "Phường Cũ", "Phường Ba Đình", units.SOURCE)
    names = dict(db.exec(select(Participation.conference_id, Participation.name)
                         .where(Participation.site_id == ward.id)).all())
    assert names == {past.id: "Phường Cũ", live.id: "Phường Ba Đình"}


def test_merged_units_are_left_as_they_are(db: Session, admin: User) -> None:
    units.load_units(db, actor=admin, province_code=1)
    db.execute(update(Site).where(col(Site.code) == "VN01-00004")
               .values(status=SiteStatus.retired, name="Phường đã giải thể"))
    db.commit()
    report = units.load_units(db, actor=admin, province_code=1)
    assert (report.inactive, report.updated, report.created) == (1, 0, 0)
    assert _by_code(db, "VN01-00004").name == "Phường đã giải thể"


def test_an_unknown_province_is_refused_and_nothing_is_created(
    db: Session, admin: User
) -> None:
    with pytest.raises(errors.UnknownProvince):
        units.load_units(db, actor=admin, province_code=99)
    assert _count(db) == 0


def test_a_coordinator_cannot_load_units(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    before = _count(db)
    with pytest.raises(AdminOnly):
        units.load_units(db, actor=coordinator_a, province_code=1)
    assert _count(db) == before


@pytest.fixture
def cli_env(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A SQLite database with a central-office account; the command reads it from the env."""
    monkeypatch.setenv("DIEMCAU_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    engine = create_db_engine(sqlite_url, pool_size=1)
    with Session(engine) as db:
        accounts_service.ensure_admin(db, username="admin", password=ADMIN_PASSWORD)
    engine.dispose()
    yield sqlite_url
    get_settings.cache_clear()


def test_the_command_loads_a_province_and_reports_in_vietnamese(cli_env: str) -> None:
    result = CliRunner().invoke(cli, ["load-units", "--province", "1"])
    assert result.exit_code == 0, result.output
    assert "tạo mới 127" in result.output and "toàn quốc" not in result.output
    again = CliRunner().invoke(cli, ["load-units", "--province", "1"])
    assert "tạo mới 0" in again.output and "không đổi 127" in again.output


def test_the_command_refuses_an_unknown_province(cli_env: str) -> None:
    result = CliRunner().invoke(cli, ["load-units", "--province", "99"])
    assert result.exit_code == 1
    assert "unknown_province" in result.output
