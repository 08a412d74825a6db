"""A session check-in counts at the conference: once per attendee, in the same statement."""

import json

from sqlmodel import Session, select

from app.accounts.models import User
from app.config import Settings
from checkin import service
from checkin.models import Attendance
from sessions import service as sessions_service
from sessions.models import SessionCreate
from tests.checkin.support import Roster, StatementCounter, count_rows
from tests.conftest import Tree


def test_session_check_in_counts_at_the_conference_once(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    """A person in any session is at the conference: the first session check-in also
    writes the conference-level row (same site and time), later ones do not, and the door
    then answers "already"."""
    sessions = [
        sessions_service.create_session(
            wdb, conference_id=tree.cid, actor=admin,
            data=SessionCreate.model_validate({"title": title, "starts_at": f"2025-09-09T{h}:00",
                                               "ends_at": f"2025-09-09T{h}:30"}),
        ).id
        for title, h in (("Khai mạc", "08"), ("Thảo luận", "09"))
    ]
    assert sessions[0] is not None and sessions[1] is not None
    published: list[dict[str, object]] = []

    def scan(session_id: int | None) -> service.CheckinResult:
        return service.check_in(
            wdb, code=roster.an.short_code, site_id=tree.ward_a1, actor=admin,
            session_id=session_id, settings=settings,
            publish=lambda _c, m: published.append(json.loads(m)),
        )

    opening = scan(sessions[0])
    assert opening.conference_first
    rows = {r.session_key: r for r in wdb.exec(select(Attendance)).all()}
    assert sorted(rows) == [0, sessions[0]]
    assert (rows[0].site_id, rows[0].checked_in_at, rows[0].nonce) == (
        tree.ward_a1, rows[sessions[0]].checked_in_at, None)
    assert not scan(sessions[1]).conference_first
    door = scan(None)
    assert (door.status, door.conference_first) == ("already_checked_in", False)
    assert sorted(r.session_key for r in wdb.exec(select(Attendance)).all()) == [0, *sessions]
    assert [(m["session_id"], m["conference"]) for m in published] == [
        (sessions[0], True), (sessions[1], False)]


def test_session_check_in_replayed_nonce_writes_nothing_more(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    session_id = sessions_service.create_session(
        wdb, conference_id=tree.cid, actor=admin,
        data=SessionCreate.model_validate({"title": "Khai mạc", "starts_at": "2025-09-09T08:00",
                                           "ends_at": "2025-09-09T09:00"}),
    ).id
    first, again = (
        service.check_in(wdb, code=roster.an.short_code, site_id=tree.ward_a1, actor=admin,
                         session_id=session_id, nonce="n-1", settings=settings)
        for _ in range(2)
    )
    assert first.conference_first and again.replayed and not again.conference_first
    assert count_rows(wdb, Attendance) == 2


def test_session_check_in_costs_the_statements_of_a_door_check_in(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    """Counting the conference level costs no statement: the second row rides in the same
    INSERT (no read, no count, whatever the conference's size)."""
    session_id = sessions_service.create_session(
        wdb, conference_id=tree.cid, actor=admin,
        data=SessionCreate.model_validate({"title": "Khai mạc", "starts_at": "2025-09-09T08:00",
                                           "ends_at": "2025-09-09T09:00"}),
    ).id
    service.check_in(wdb, code=roster.cuong.short_code, site_id=tree.ward_b1, actor=admin,
                     settings=settings)  # warm: the first scan compiles the statements
    wdb.commit()
    engine = wdb.get_bind()
    sent = []
    for person, session in ((roster.an, None), (roster.binh, session_id)):
        with StatementCounter(engine) as counter:  # type: ignore[arg-type]
            service.check_in(wdb, code=person.short_code, site_id=tree.ward_a1, actor=admin,
                             session_id=session, settings=settings)
        sent.append([s.split()[0].upper() for s in counter.statements])
    assert sent[0] == sent[1]
    assert sent[1].count("INSERT") == 1 and sent[1].count("SELECT") == 1
    assert count_rows(wdb, Attendance, attendee_id=roster.binh.id) == 2
