"""The demo conference, loaded through the service functions on SQLite and PostgreSQL."""

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.demo import HUB_PASSWORD, HUB_USERNAME, SITES, TITLE, load_demo
from endpoints import service as endpoints_service
from endpoints import site_lists
from endpoints.models import Conference, Participation, Readiness, Site, SiteKind, SiteView


def _load(engine: Engine, username: str = "admin", password: str = "admin") -> str:
    with Session(engine) as db:
        return load_demo(db, admin_username=username, admin_password=password)


def test_load_demo_builds_the_site_tree(engine: Engine) -> None:
    summary = _load(engine)
    assert f"{len(SITES)} điểm cầu" in summary
    assert "hcm / hcm-demo-123" in summary
    assert "admin / admin" in summary
    with Session(engine) as db:
        conference = db.exec(select(Conference).where(Conference.title == TITLE)).one()
        rows = db.exec(
            select(Site, Participation)
            .join(Participation)
            .where(Participation.conference_id == conference.id)
        ).all()
    sites = [SiteView(site, part) for site, part in rows]
    by_id = {s.id: s for s in sites}
    roots = [s for s in sites if s.parent_id is None]
    assert [(s.kind, s.name) for s in roots] == [
        (SiteKind.central, "Hội trường Văn phòng Trung ương")
    ]
    hubs = {s.name for s in sites if s.kind == SiteKind.hub}
    assert "Trung tâm Hội nghị 272 (TP Hồ Chí Minh)" in hubs and len(hubs) == 2
    below_hubs = [s for s in sites if s.kind not in (SiteKind.central, SiteKind.hub)]
    assert len(below_hubs) >= 30
    assert all(by_id[s.parent_id].kind == SiteKind.hub for s in below_hubs if s.parent_id)
    assert {s.kind for s in below_hubs} >= {
        SiteKind.ward, SiteKind.commune, SiteKind.special_zone, SiteKind.department,
        SiteKind.organization,
    }
    assert len({s.readiness for s in sites}) == len(Readiness)
    assert all(10 <= s.expected_attendees <= 400 for s in sites)
    assert all(s.contact_name and s.contact_phone for s in sites)


def test_load_demo_twice_adds_nothing(engine: Engine) -> None:
    first = _load(engine)
    second = _load(engine)
    assert second == first
    with Session(engine) as db:
        assert db.exec(select(func.count()).select_from(Conference)).one() == 1
        assert db.exec(select(func.count()).select_from(Site)).one() == len(SITES)
        assert db.exec(select(func.count()).select_from(Participation)).one() == len(SITES)
        assert db.exec(select(func.count()).select_from(User)).one() == 2


def test_load_demo_hub_coordinator_sees_only_the_city(engine: Engine) -> None:
    _load(engine)
    hcm_codes = {s.code for s in SITES if s.parent == "HCM"} | {"HCM"}
    with Session(engine) as db:
        user = accounts_service.authenticate(db, username=HUB_USERNAME, password=HUB_PASSWORD)
        conference = db.exec(select(Conference)).one()
        assert conference.id is not None
        page = site_lists.list_sites(
            db, conference_id=conference.id, actor=user, limit=endpoints_service.MAX_PAGE
        )
    assert {s.code for s in page.items} == hcm_codes


def test_load_demo_with_other_accounts_creates_the_named_admin(
    engine: Engine, admin: User
) -> None:
    summary = _load(engine, username="demo-admin", password="mat-khau-demo")
    assert "demo-admin / (DIEMCAU_ADMIN_PASSWORD)" in summary
    assert "mat-khau-demo" not in summary
    with Session(engine) as db:
        user = accounts_service.authenticate(
            db, username="demo-admin", password="mat-khau-demo"
        )
        conference = db.exec(select(Conference)).one()
        assert conference.id is not None
        sites = site_lists.list_sites(db, conference_id=conference.id, actor=user)
    assert sites.total == len(SITES)
