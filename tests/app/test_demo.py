"""The demo conference, loaded through the service functions on SQLite and PostgreSQL."""

import unicodedata
from collections import Counter

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from vietnam_provinces import Ward

from app import demo_people
from app.accounts import service as accounts_service
from app.accounts.models import User
from app.demo import HUB_PASSWORD, HUB_USERNAME, SITES, TITLE, load_demo
from app.text import format_number
from checkin.models import Attendee
from endpoints import service as endpoints_service
from endpoints import site_lists
from endpoints.models import Conference, Participation, Readiness, Site, SiteKind, SiteView

# The registry: the central venue, both city hubs with all their official units, and the
# departments and organisations of sites.csv.
SITES_IN_REGISTRY = 1 + 2 + 168 + 126 + sum(
    1 for s in SITES if s.kind in (SiteKind.department, SiteKind.organization)
)


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
    hubs = {s.code: s for s in sites if s.kind == SiteKind.hub}
    assert set(hubs) == {"VN79", "VN01"}
    assert hubs["VN79"].name == "Thành phố Hồ Chí Minh"
    assert hubs["VN79"].room.startswith("Trung tâm Hội nghị 272")
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


def test_load_demo_takes_its_tree_from_the_official_units(engine: Engine) -> None:
    _load(engine)
    official = {int(w.code): w for w in Ward.iter_all() if int(w.province_code) in (79, 1)}
    with Session(engine) as db:
        registry = {s.code: s for s in db.exec(select(Site)).all()}
    units = {c: s for c, s in registry.items() if c and c[:4] in ("VN79", "VN01") and "-" in c}
    # Every ward, commune and special zone of both cities is in the registry, with its
    # official name; the demo invites some of them, by their official codes.
    assert {int(c.split("-")[1]) for c in units} == set(official)
    assert all(units[c].name == official[int(c.split("-")[1])].name for c in units)
    assert units["VN79-26740"].name == "Phường Sài Gòn"
    invited_units = [s for s in SITES if s.code in units]
    assert len(invited_units) >= 20
    assert len(units) > 4 * len(invited_units)


def test_load_demo_twice_adds_nothing(engine: Engine) -> None:
    first = _load(engine)
    second = _load(engine)
    assert second == first
    with Session(engine) as db:
        assert db.exec(select(func.count()).select_from(Conference)).one() == 1
        assert db.exec(select(func.count()).select_from(Site)).one() == SITES_IN_REGISTRY
        assert db.exec(select(func.count()).select_from(Participation)).one() == len(SITES)
        assert db.exec(select(func.count()).select_from(User)).one() == 2


def test_load_demo_hub_coordinator_sees_only_the_city(engine: Engine) -> None:
    _load(engine)
    hcm_codes = {s.code for s in SITES if s.parent == "VN79"} | {"VN79"}
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


def test_load_demo_gives_every_site_a_roster_of_vietnamese_names(engine: Engine) -> None:
    summary = _load(engine)
    with Session(engine) as db:
        conference = db.exec(select(Conference)).one()
        rows = db.exec(select(Attendee).where(Attendee.conference_id == conference.id)).all()
        codes = {
            p.site_id: p.code
            for p in db.exec(select(Participation)
                             .where(Participation.conference_id == conference.id)).all()
        }
    assert 300 <= len(rows) <= 600
    assert f"- {format_number(len(rows))} đại biểu có tên trong danh sách" in summary
    by_site = Counter(codes[a.site_id] for a in rows)
    assert set(by_site) == {s.code for s in SITES}  # spread over every site
    assert all(by_site[s.code] == demo_people.roster_size(s.expected) for s in SITES)
    names = [a.full_name for a in rows]
    assert all(len(n.split()) >= 3 and n == unicodedata.normalize("NFC", n) for n in names)
    assert sum(any(ord(ch) > 127 for ch in n) for n in names) > 0.9 * len(names)
    assert len(set(names)) > 0.8 * len(names)
    assert all(a.unit and a.position for a in rows)
    saigon = {a.unit for a in rows if codes[a.site_id] == "VN79-26740"}
    assert "Đảng ủy phường Sài Gòn" in saigon


def test_demo_people_are_the_same_every_time() -> None:
    first = demo_people.people_for(code="VN79-26740", name="Phường Sài Gòn", kind="ward",
                                   expected=120)
    again = demo_people.people_for(code="VN79-26740", name="Phường Sài Gòn", kind="ward",
                                   expected=120)
    other = demo_people.people_for(code="VN79-26737", name="Phường Tân Định", kind="ward",
                                   expected=120)
    assert first == again and len(first) == 12
    assert [p.full_name for p in first] != [p.full_name for p in other]
    assert (first[0].unit, first[0].position) == ("Đảng ủy phường Sài Gòn", "Bí thư")
