"""Shared arrangements for the check-in tests: a write session, a roster, pass codes."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from app.accounts.models import User
from app.config import Settings
from app.db import local_today, utcnow
from checkin import headcounts, keys, qr, service
from checkin import roster as checkin_roster
from checkin.models import Attendee, AttendeeCreate
from endpoints import presence, site_changes
from endpoints import service as endpoints_service
from endpoints.models import ConferenceCreate, Readiness, SiteCreate, SiteKind, SiteUpdate
from endpoints.screen_models import ScreenDevice
from tests.conftest import Tree


@pytest.fixture
def wdb(engine: Engine) -> Iterator[Session]:
    """A session that writes like the app's (BEGIN IMMEDIATE on SQLite)."""
    keys.forget(engine)
    with Session(engine, expire_on_commit=False) as session:
        yield session


@dataclass
class Roster:
    """Attendees of the test tree: two at ward A1, one at ward B1."""

    an: Attendee
    binh: Attendee
    cuong: Attendee


def make_roster(db: Session, admin: User, tree: Tree) -> Roster:
    created = checkin_roster.create_attendees(
        db,
        conference_id=tree.cid,
        items=[
            AttendeeCreate(full_name="Nguyễn Văn An", site_id=tree.ward_a1, unit="Sở Y tế"),
            AttendeeCreate(full_name="Trần Thị Bình", site_id=tree.ward_a1,
                           position="Phó Giám đốc"),
            AttendeeCreate(full_name="Lê Văn Cường", site_id=tree.ward_b1),
        ],
        actor=admin,
    )
    return Roster(*created)


@pytest.fixture
def roster(wdb: Session, admin: User, tree: Tree) -> Roster:
    return make_roster(wdb, admin, tree)


def code_for(db: Session, attendee: Attendee, settings: Settings) -> str:
    return checkin_roster.issue_pass(db, attendee=attendee, settings=settings)


def signed(db: Session, settings: Settings, **claims: Any) -> str:
    """A pass signed with the database's own key, with chosen claims."""
    db.commit()  # making the first key needs the write lock this session may hold
    ring = keys.key_ring(db.get_bind(), secret_key=settings.secret_key, need_signer=True)
    assert ring.signer is not None and ring.signer_kid is not None
    base = {"kid": ring.signer_kid, "conference_id": 1, "attendee_id": 1, "version": 1,
            "expires_at": 4_000_000_000}
    return qr.sign_pass(qr.PassClaims(**{**base, **claims}), ring.signer)


class CommitCounter:
    """Counts the COMMITs the engine's connections make while active."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.commits = 0

    def _on(self, conn: Any) -> None:
        self.commits += 1

    def __enter__(self) -> "CommitCounter":
        event.listen(self.engine, "commit", self._on)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "commit", self._on)


class StatementCounter:
    """Counts SQL statements sent to the database (BEGIN included) while active."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _on(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def __enter__(self) -> "StatementCounter":
        event.listen(self.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on)


def add_two_attendees(
    client: TestClient, headers: dict[str, str], tree: Tree
) -> list[dict[str, object]]:
    """An and Cường added through the API (wards A1 and B1); the answers, codes included."""
    r = client.post(
        f"/api/v1/conferences/{tree.cid}/attendees",
        json=[
            {"full_name": "Nguyễn Văn An", "site_id": tree.ward_a1, "unit": "Sở Y tế"},
            {"full_name": "Lê Văn Cường", "site_id": tree.ward_b1},
        ],
        headers=headers,
    )
    assert r.status_code == 201, r.text
    body: list[dict[str, object]] = r.json()
    return body


def deep_site(db: Session, admin: User, tree: Tree) -> int:
    """A fourth level: a department below ward A1."""
    site = endpoints_service.create_site(
        db, conference_id=tree.cid,
        data=SiteCreate(name="Tổ Dân phố 3", kind=SiteKind.other, parent_id=tree.ward_a1,
                        code="HCM-BN-3", expected_attendees=40),
        actor=admin,
    )
    assert site.id is not None
    return int(site.id)


def arrange_board(wdb: Session, admin: User, tree: Tree, settings: Settings) -> dict[str, Any]:
    """Check-ins at several levels, a headcount, expected counts and one online site."""
    deep = deep_site(wdb, admin, tree)
    for site_id, expected in ((tree.ward_a1, 10), (tree.ward_a2, 6), (tree.ward_b1, 8),
                              (tree.hub_a, 4)):
        site_changes.update_site(wdb, site_id=site_id,
                                      data=SiteUpdate(expected_attendees=expected), actor=admin)
    people = checkin_roster.create_attendees(
        wdb, conference_id=tree.cid,
        items=[AttendeeCreate(full_name=f"Đại biểu {i}", site_id=s)
               for i, s in enumerate([tree.ward_a1] * 3 + [deep] * 2 + [tree.ward_b1, tree.hub_a])],
        actor=admin,
    )
    for person in people:
        service.check_in(wdb, code=person.short_code, site_id=person.site_id, actor=admin,
                         settings=settings)
    headcounts.report_headcount(wdb, site_id=tree.ward_a2, session_id=None,
                                counts={"dai_bieu": 5}, actor=admin)
    wdb.add(ScreenDevice(site_id=tree.ward_a1, name="Máy chiếu",
                         enrolled_at=utcnow(), last_seen_at=utcnow()))
    wdb.commit()
    presence.record_transitions(wdb, timeout_seconds=45)
    site_changes.update_site(wdb, site_id=tree.ward_a1,
                                  data=SiteUpdate(readiness=Readiness.ready), actor=admin)
    return {"deep": deep}


def second_conference(
    db: Session, admin: User, tree: Tree, site_ids: list[int], *, today: bool = True
) -> int:
    """A second conference (running today, or next year) inviting registry sites of the
    test tree (and the sites above them, as every invite does)."""
    starts = local_today() if today else local_today() + timedelta(days=365)
    conference = endpoints_service.create_conference(
        db, data=ConferenceCreate(title="Hội nghị lần hai", starts_on=starts, ends_on=starts),
        actor=admin,
    )
    assert conference.id is not None
    for site_id in site_ids:
        site = endpoints_service.load_site(db, site_id)
        endpoints_service.invite_ancestors(db, conference_id=conference.id, site=site)
        endpoints_service.invite_site(db, conference_id=conference.id, site=site)
    db.commit()
    return conference.id


def count_rows(db: Session, model: type, **where: object) -> int:
    """Rows of `model` matching `where` (after a rollback, so the count is fresh)."""
    db.rollback()
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return int(db.exec(query).one())
