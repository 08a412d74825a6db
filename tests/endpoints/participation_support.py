"""A small registry to invite from, and an app with only the routers invites need.

The app leaves out the other domains' routers on purpose: these tests exercise the
invite routes and page alone, with the login and token routes they sign in through.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.config import Settings
from app.main import create_app
from endpoints import coordinators, service
from endpoints.models import (
    Approval,
    ConferenceCreate,
    Participation,
    Site,
    SiteCreate,
    SiteKind,
    SiteStatus,
)


def new_conference(db: Session, admin: User, title: str) -> int:
    """A one-day conference that invited no site yet."""
    conference = service.create_conference(
        db, data=ConferenceCreate(title=title, starts_on=date(2026, 3, 2),
                                  ends_on=date(2026, 3, 2)), actor=admin)
    assert conference.id is not None
    return conference.id


class Registry:
    """Central, two hubs; below HCM a ward, a commune, a retired and a pending site;
    below HN a ward and a department. Two conferences that invited nothing yet."""

    def __init__(self, db: Session, admin: User) -> None:
        self.db = db
        self.admin = admin
        self.cid = self.conference("Hội nghị toàn quốc")
        self.other_cid = self.conference("Hội nghị khác")
        self.central = self.add("Hội trường Trung ương", SiteKind.central, None, "TW")
        self.hcm = self.add("Điểm cầu TP. Hồ Chí Minh", SiteKind.hub, self.central, "HCM")
        self.hn = self.add("Điểm cầu Hà Nội", SiteKind.hub, self.central, "HN")
        self.hcm_ward = self.add("Đảng ủy phường Sài Gòn", SiteKind.ward, self.hcm, "HCM-SG")
        self.hcm_commune = self.add("Đảng ủy xã Cần Giờ", SiteKind.commune, self.hcm, "HCM-CG")
        self.retired = self.add("Đảng ủy phường Bến Nghé", SiteKind.ward, self.hcm, "HCM-BN")
        self.pending = self.add("Đảng ủy xã Bình Chánh", SiteKind.commune, self.hcm, "HCM-BC")
        self.hn_ward = self.add("Đảng ủy phường Hoàn Kiếm", SiteKind.ward, self.hn, "HN-HK")
        self.hn_dept = self.add("Sở Nội vụ Hà Nội", SiteKind.department, self.hn, "HN-SNV")
        self.change(self.retired, status=SiteStatus.retired)
        self.change(self.pending, approval=Approval.pending)
        #: Every site a whole-registry invite takes (not the retired or pending one).
        self.invitable = {self.central, self.hcm, self.hn, self.hcm_ward, self.hcm_commune,
                          self.hn_ward, self.hn_dept}

    def conference(self, title: str) -> int:
        return new_conference(self.db, self.admin, title)

    def add(self, name: str, kind: SiteKind, parent_id: int | None, code: str) -> int:
        site = service.create_registry_site(
            self.db, data=SiteCreate(name=name, kind=kind, parent_id=parent_id, code=code),
            actor=self.admin)
        assert site.id is not None
        return site.id

    def change(self, site_id: int, **values: object) -> None:
        site = service.load_site(self.db, site_id)
        for key, value in values.items():
            setattr(site, key, value)
        self.db.add(site)
        self.db.commit()

    def coordinator(self) -> User:
        """A coordinator of the HCM hub (not the central office)."""
        return coordinators.create_coordinator(
            self.db, site_id=self.hcm, username="hcm", password="hcm-password",
            full_name="Lê Thị Hồng", phone=None, actor=self.admin)


def participants(db: Session, conference_id: int) -> set[int]:
    """Ids of the sites taking part in a conference, read afresh."""
    db.rollback()
    return set(db.exec(
        select(Participation.site_id).where(Participation.conference_id == conference_id)
    ).all())


def snapshot(db: Session) -> list[tuple[int, int, str, str]]:
    """Every participation of every conference, to show nothing changed."""
    db.rollback()
    rows = db.exec(select(Participation).order_by(col(Participation.id))).all()
    return [(p.conference_id, p.site_id, p.readiness, p.invited_at.isoformat()) for p in rows]


def code_of(db: Session, site_id: int) -> str:
    code = service.load_site(db, site_id).code
    assert code is not None
    return code


def registry_sites(db: Session) -> int:
    return len(db.exec(select(Site.id)).all())


@contextmanager
def invite_client(settings: Settings) -> Iterator[TestClient]:
    """A TestClient on the whole app (the invite routes and page among them)."""
    with TestClient(create_app(settings)) as client:
        yield client
