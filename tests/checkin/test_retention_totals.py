"""The retention purge on the national scenario's data: every number the reports and the
dashboard give is the same before and after, and nothing the attendees were named by is
left in any table.

The scenario: the national site tree (bench/import_sites.py, 3,356 sites), a roster of
realistic people (app/demo_people.py: names, units, positions, phones) over the communes
and wards, check-ins through the scanner's use case at the door and in two sessions
(some at another site), headcounts (some corrected), refused staff scans, anonymous
self check-in misses, attendees' requests. Smaller on PostgreSQL, for time.
"""

import contextlib
import json
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from app.accounts.models import User
from app.config import Settings
from app.db import LOCAL_TZ, local_today
from app.demo_people import people_for
from app.errors import AppError
from bench.import_sites import national_tree, to_csv
from checkin import attendance, dashboard, headcounts, misses, reports, retention, service
from checkin import roster as checkin_roster
from checkin.models import Attendee, AttendeeCreate, ScanFailure
from checkin.privacy_models import DataRequest, RequestKind
from endpoints import imports
from endpoints import service as endpoints_service
from endpoints.models import ConferenceCreate, Participation, Site, SiteKind
from sessions import service as sessions_service
from sessions.models import SessionCreate

ATTENDEES = {"sqlite": 3000, "postgresql": 600}
STAFF_MISSES = 60


@dataclass
class Scenario:
    cid: int
    sessions: list[int]
    sites: list[int]
    people: list[Attendee] = field(default_factory=list)


def _conference(db: Session, admin: User) -> Scenario:
    today = local_today()
    cid = endpoints_service.create_conference(db, data=ConferenceCreate(
        title="Hội nghị toàn quốc quán triệt Nghị quyết", starts_on=today, ends_on=today),
        actor=admin).id
    assert cid is not None
    report = imports.import_sites(db, conference_id=cid, filename="toan-quoc.csv",
                                  data=to_csv(national_tree()), actor=admin)
    assert report.created == 3356
    sessions = []
    for title, start, end in (("Phiên khai mạc", 8, 10), ("Phiên thảo luận", 10, 12)):
        sessions.append(sessions_service.create_session(db, conference_id=cid, data=SessionCreate(
            title=title, starts_at=datetime.combine(today, clock(start), LOCAL_TZ),
            ends_at=datetime.combine(today, clock(end), LOCAL_TZ)), actor=admin).id or 0)
    sites = [int(s or 0) for s in db.exec(select(Site.id).join(
        Participation, col(Participation.site_id) == col(Site.id)).where(
        Participation.conference_id == cid,
        col(Site.kind).in_([SiteKind.commune, SiteKind.ward])).order_by(col(Site.id))).all()]
    return Scenario(cid=cid, sessions=sessions, sites=sites)


def _roster(db: Session, admin: User, scenario: Scenario, size: int) -> None:
    """Realistic people, three to six per site, until `size`."""
    items: list[AttendeeCreate] = []
    rows = {s.id: s for s in db.exec(select(Site).where(col(Site.id).in_(scenario.sites)))}
    for site_id in scenario.sites:
        site = rows[site_id]
        for p in people_for(code=site.code or str(site_id), name=site.name, kind=site.kind,
                            expected=30 + site_id % 4 * 10):
            items.append(AttendeeCreate(full_name=p.full_name, site_id=site_id, unit=p.unit,
                                        position=p.position, phone=p.phone))
        if len(items) >= size:
            break
    items = items[:size]
    for start in range(0, size, 2000):
        scenario.people += checkin_roster.create_attendees(
            db, conference_id=scenario.cid, items=items[start:start + 2000], actor=admin)


def _check_ins(db: Session, admin: User, settings: Settings, scenario: Scenario) -> None:
    """The door for 70 %, the sessions for some, 3 % scanned at another site."""
    rng = random.Random(91)
    s1, s2 = scenario.sessions
    for person in scenario.people:
        if rng.random() > 0.7:
            continue
        site = rng.choice(scenario.sites) if rng.random() < 0.03 else person.site_id
        for session_id, share in ((None, 1.0), (s1, 0.4), (s2, 0.25)):
            if rng.random() < share:
                service.check_in(db, code=person.short_code, site_id=site, actor=admin,
                                 session_id=session_id, device=f"Máy quét {site % 7}",
                                 settings=settings)


def _refused_and_reported(db: Session, engine: Engine, admin: User, settings: Settings,
                          scenario: Scenario) -> None:
    """Refused staff scans, anonymous misses, headcounts (some corrected), requests."""
    rng = random.Random(356)
    for n in range(STAFF_MISSES):
        with contextlib.suppress(AppError):
            service.check_in(db, code=f"ZZ{n:06d}", site_id=rng.choice(scenario.sites),
                             actor=admin, device="Điện thoại chị Lan", settings=settings,
                             session_id=rng.choice([None, *scenario.sessions]))
    db.add_all(ScanFailure(conference_id=scenario.cid, site_id=rng.choice(scenario.sites),
                           code_prefix=f"eyJraWQiOiJrMSIsImF0dGVuZGVlIjo{n}", device="Quầy 2",
                           reason="pass_revoked", actor_id=admin.id) for n in range(15))
    db.commit()
    counter = misses.counter_for(engine)
    for n in range(40):
        counter.note(conference_id=scenario.cid, site_id=rng.choice(scenario.sites),
                     session_id=None, reason="short_code_not_found")
    misses.flush(engine)
    for n, site_id in enumerate(rng.sample(scenario.sites, 150)):
        for session_id in (None, scenario.sessions[0]) if n % 3 == 0 else (None,):
            for attempt in range(2 if n % 5 == 0 else 1):
                headcounts.report_headcount(
                    db, site_id=site_id, session_id=session_id, actor=admin,
                    conference_id=scenario.cid,
                    counts={"dai_bieu": 10 + n % 17 + attempt, "khach_moi": n % 4})
    db.add_all(DataRequest(conference_id=scenario.cid, attendee_id=p.id or 0,
                           kind=RequestKind.correct, message=f"Xin sửa tên thành {p.full_name}")
               for p in rng.sample(scenario.people, 25))
    db.commit()


# ------------------------------------------------------------------ the numbers


def _figures(db: Session, admin: User, scenario: Scenario) -> dict[str, Any]:
    """Every number the reports and the dashboard give, per scope (conference, sessions)."""
    cid = scenario.cid
    out: dict[str, Any] = {}
    for session_id in (None, *scenario.sessions):
        key = attendance.session_key_for(db, conference_id=cid, session_id=session_id)
        out[f"summary:{key}"] = attendance.attendance_summary(
            db, conference_id=cid, actor=admin, session_id=session_id).model_dump()
        out[f"sites:{key}"] = [
            (s.site_id, s.checked_in, s.headcount, s.expected, s.online) for s in
            attendance.load_sites(db, conference_id=cid, session_key=key)]
        db.rollback()  # load_board reads in one snapshot of its own
        board, _ = attendance.load_board(db, conference_id=cid, session_key=key)
        out[f"board:{key}"] = board.totals(None)
        out[f"dashboard:{key}"] = dashboard.dashboard_snapshot(
            db, conference_id=cid, actor=admin, session_id=session_id).body
        report = reports.attendance_report(db, conference_id=cid, actor=admin,
                                           session_id=session_id)
        out[f"report:{key}"] = (vars(report.totals), list(reports.site_csv_rows(report)),
                                list(reports.group_csv_rows(report)),
                                [vars(s) for s in report.sessions])
    out["sessions"] = attendance.session_counts(db, conference_id=cid,
                                                site_ids=set(scenario.sites))
    db.rollback()
    return out


def _text_values(db: Session) -> tuple[set[str], str]:
    """Every text value of every table (JSON walked to its strings), and all of it as one
    text: what a dump of the database shows."""
    leaves: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            leaves.add(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for table in SQLModel.metadata.sorted_tables:
        for row in db.execute(table.select()).all():
            for value in row:
                walk(value)
                if isinstance(value, (dict, list)):
                    leaves.add(json.dumps(value, ensure_ascii=False))
    db.rollback()
    return leaves, "\n".join(leaves)


def _identities(db: Session, cid: int) -> set[str]:
    rows = db.exec(select(Attendee.full_name, Attendee.unit, Attendee.phone).where(
        Attendee.conference_id == cid)).all()
    db.rollback()
    return {v for row in rows for v in row if v}


# ------------------------------------------------------------------ the test


def test_purge_keeps_every_number_and_leaves_no_identity(
    database_url: str, wdb: Session, engine: Engine, admin: User, settings: Settings
) -> None:
    started = time.perf_counter()
    scenario = _conference(wdb, admin)
    before_roster, _ = _text_values(wdb)  # the registry's own text (site and contact names)
    size = ATTENDEES["postgresql" if database_url.startswith("postgresql") else "sqlite"]
    _roster(wdb, admin, scenario, size)
    _check_ins(wdb, admin, settings, scenario)
    _refused_and_reported(wdb, engine, admin, settings, scenario)
    identities = _identities(wdb, scenario.cid) - before_roster
    before = _figures(wdb, admin, scenario)
    assert before["summary:0"]["checked_in"] > size // 2
    assert sum(before[k]["failed_scans"] for k in before if k.startswith("summary:")) == (
        STAFF_MISSES + 15 + 40)
    arranged = time.perf_counter() - started

    ended = local_today() + timedelta(days=1)  # as if the conference ended and 90 days passed
    plan = retention.purge_plan(wdb, conference_id=scenario.cid, today=ended + timedelta(91))
    report = retention.purge(wdb, conference_id=scenario.cid, today=ended + timedelta(91))
    assert report.attendees == plan.attendees == size
    assert report.phones == plan.phones > 0 and report.requests == 25
    assert report.failed_scans == plan.failed_scans == STAFF_MISSES + 15

    assert _figures(wdb, admin, scenario) == before
    leaves, dump = _text_values(wdb)
    assert not identities & leaves
    for value in random.Random(7).sample(sorted(identities), min(400, len(identities))):
        assert value not in dump, value
    wdb.rollback()
    assert {(f.code_prefix, f.device, f.actor_id) for f in wdb.exec(
        select(ScanFailure).where(ScanFailure.conference_id == scenario.cid))} == {("", None, None)}
    print(f"arranged in {arranged:.1f} s, purged and checked in "
          f"{time.perf_counter() - started - arranged:.1f} s")
