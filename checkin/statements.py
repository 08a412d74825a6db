"""The check-in hot path's SQL, built once, and its rows mapped by column name.

SQLAlchemy Core with bind parameters on the session's connection: the compiled forms
are cached after the first use and no ORM unit of work runs per scan.

Sites are registry sites: the conference of a scan is the attendee's, and the scanning
site takes part in it through its participation (readiness, the name that conference
knew). A short code names an attendee of the session's conference, else of the
conference current at the scanning site (live, else the next, else the last).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Date, Integer, and_, bindparam, func, null, or_, true, union_all
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from app.db import local_today
from checkin.models import CONFERENCE_LEVEL, Attendance, Attendee
from endpoints import service as endpoints_service
from endpoints.models import Conference, Participation, Site
from sessions.models import ConferenceSession


@dataclass(frozen=True)
class ScanContext:
    """Everything a scan is judged on, read in one joined SELECT."""

    scan_conference_id: int | None  # None: the site does not take part in it
    scan_path: str
    scan_name: str
    scan_readiness: str | None
    attendee_id: int | None
    attendee_conference_id: int | None
    home_site_id: int | None
    full_name: str | None
    unit: str | None
    pass_version: int | None
    revoked: bool | None
    deleted_at: datetime | None
    home_name: str | None
    root_path: str | None
    session_conference_id: int | None


@dataclass(frozen=True)
class EarlierCheckin:
    """A check-in already on record that made an insert do nothing."""

    attendee_id: int
    checked_in_at: datetime
    site_id: int
    foreign_site: bool
    nonce: str | None
    site_name: str


_scan_t = Site.__table__.alias("scan")  # type: ignore[attr-defined]
_home_t = Site.__table__.alias("home")  # type: ignore[attr-defined]
_part_t = Participation.__table__.alias("part")  # type: ignore[attr-defined]
_home_part_t = Participation.__table__.alias("home_part")  # type: ignore[attr-defined]
_any_part_t = Participation.__table__.alias("any_part")  # type: ignore[attr-defined]
_conf_t = Conference.__table__  # type: ignore[attr-defined]
_parts_t = Participation.__table__  # type: ignore[attr-defined]
_root_t = Site.__table__.alias("root")  # type: ignore[attr-defined]
_att_t = Attendee.__table__  # type: ignore[attr-defined]
_sess_t = ConferenceSession.__table__  # type: ignore[attr-defined]
_site_t = Site.__table__  # type: ignore[attr-defined]
_checkin_t = Attendance.__table__  # type: ignore[attr-defined]
# Each column labelled with its ScanContext field: rows are mapped by name.
_CONTEXT_COLUMNS = (
    _part_t.c.conference_id.label("scan_conference_id"),
    _scan_t.c.path.label("scan_path"),
    func.coalesce(_part_t.c.name, _scan_t.c.name).label("scan_name"),
    _part_t.c.readiness.label("scan_readiness"),
    _att_t.c.id.label("attendee_id"),
    _att_t.c.conference_id.label("attendee_conference_id"),
    _att_t.c.site_id.label("home_site_id"),
    _att_t.c.full_name.label("full_name"),
    _att_t.c.unit.label("unit"),
    _att_t.c.pass_version.label("pass_version"),
    _att_t.c.revoked.label("revoked"),
    _att_t.c.deleted_at.label("deleted_at"),
    func.coalesce(_home_part_t.c.name, _home_t.c.name).label("home_name"),
    _root_t.c.path.label("root_path"),
    _sess_t.c.conference_id.label("session_conference_id"),
)


def _current_conference() -> Any:
    """The conference current at the scanning site: live (latest start), else the next,
    else the last (endpoints.service.conference_order, the one definition)."""
    today = bindparam("today", type_=Date)
    return (
        sa_select(_conf_t.c.id)
        .join(_any_part_t, _any_part_t.c.conference_id == _conf_t.c.id)
        .where(_any_part_t.c.site_id == bindparam("site_id", type_=Integer))
        .order_by(*endpoints_service.conference_order(
            _conf_t.c.starts_on, _conf_t.c.ends_on, _conf_t.c.id, today
        ))
        .limit(1)
        .scalar_subquery()
    )


def _context_query(by_short_code: bool) -> Any:
    conference: Any
    if by_short_code:
        # The conference is known before the attendee: the site's view of it is kept
        # even when the code names nobody.
        conference = func.coalesce(_sess_t.c.conference_id, _current_conference())
        on_attendee = and_(
            _att_t.c.conference_id == conference,
            _att_t.c.short_code == bindparam("short_code"),
        )
    else:
        conference = _att_t.c.conference_id
        on_attendee = _att_t.c.id == bindparam("attendee_id", type_=Integer)
    joined = (
        _scan_t.outerjoin(_sess_t, _sess_t.c.id == bindparam("session_id", type_=Integer))
        .outerjoin(_root_t, _root_t.c.id == bindparam("root_id", type_=Integer))
        .outerjoin(_att_t, on_attendee)
        .outerjoin(_part_t, and_(_part_t.c.site_id == _scan_t.c.id,
                                 _part_t.c.conference_id == conference))
        .outerjoin(_home_t, _home_t.c.id == _att_t.c.site_id)
        .outerjoin(_home_part_t, and_(_home_part_t.c.site_id == _att_t.c.site_id,
                                      _home_part_t.c.conference_id == _att_t.c.conference_id))
    )
    return sa_select(*_CONTEXT_COLUMNS).select_from(joined).where(
        _scan_t.c.id == bindparam("site_id", type_=Integer)
    )


_BY_ID = _context_query(by_short_code=False)
_BY_SHORT_CODE = _context_query(by_short_code=True)


def load_context(
    db: Session,
    *,
    site_id: int,
    root_id: int | None,
    session_id: int | None,
    attendee_id: int | None,
    short_code: str | None,
) -> ScanContext | None:
    """The scanning site, the attendee (by pass id or short code), their home site, the
    actor's root site and the session, joined; None when the scanning site is unknown."""
    params: dict[str, Any] = {"site_id": site_id, "root_id": root_id, "session_id": session_id}
    if short_code is not None:
        params["short_code"] = short_code
        params["today"] = local_today()
        stmt = _BY_SHORT_CODE
    else:
        params["attendee_id"] = attendee_id
        stmt = _BY_ID
    row = db.connection().execute(stmt, params).mappings().first()
    return None if row is None else ScanContext(**row)


# No conflict target: a clash on (attendee, session) or on (conference, nonce) both
# mean "not first", and the follow-up read tells which.
_INSERTS = {
    "sqlite": sqlite_insert(_checkin_t).on_conflict_do_nothing().returning(_checkin_t.c.id),
    "postgresql": pg_insert(_checkin_t).on_conflict_do_nothing().returning(_checkin_t.c.id),
}
_ROW_COLUMNS = (
    "conference_id", "attendee_id", "session_key", "site_id", "checked_in_at",
    "checked_out_at", "method", "device", "nonce", "foreign_site", "actor_id", "synced_at",
)


def _with_conference_row(dialect_insert: Any) -> Any:
    """One statement, two rows: the session's check-in and the conference-level one (a
    person in any session is at the conference); each is skipped alone if it clashes, and
    RETURNING names the session keys that were new. INSERT … SELECT … UNION ALL, not a
    multi-row VALUES, which SQLAlchemy cannot cache (it would compile on every scan)."""
    columns = [_checkin_t.c[name] for name in _ROW_COLUMNS]
    session_row = [bindparam(c.name, type_=c.type) for c in columns]
    conference_row = [
        bindparam("conference_key", type_=Integer) if c.name == "session_key"
        else null() if c.name == "nonce" else bindparam(c.name, type_=c.type)
        for c in columns
    ]
    # SQLite reads "ON CONFLICT" after a bare SELECT as a join clause: WHERE true ends it.
    rows = union_all(sa_select(*session_row).where(true()),
                     sa_select(*conference_row).where(true()))
    return (dialect_insert(_checkin_t).from_select(list(_ROW_COLUMNS), rows)
            .on_conflict_do_nothing().returning(_checkin_t.c.session_key))


_SESSION_INSERTS = {name: _with_conference_row(ins)
                    for name, ins in (("sqlite", sqlite_insert), ("postgresql", pg_insert))}


def insert_checkin(db: Session, values: dict[str, Any]) -> bool:
    """Insert one attendance row unless one clashes; True when this insert was first."""
    stmt = _INSERTS[db.get_bind().dialect.name]
    return db.connection().execute(stmt, values).first() is not None


def insert_session_checkin(db: Session, values: dict[str, Any]) -> tuple[bool, bool]:
    """Insert a session check-in and, in the same statement, the conference-level row
    unless the attendee has one: (first in the session, first at the conference)."""
    stmt = _SESSION_INSERTS[db.get_bind().dialect.name]
    params = {**values, "conference_key": CONFERENCE_LEVEL}
    new = {int(r[0]) for r in db.connection().execute(stmt, params).all()}
    return values["session_key"] in new, CONFERENCE_LEVEL in new


def _earlier_query(with_nonce: bool) -> Any:
    match = and_(
        _checkin_t.c.attendee_id == bindparam("attendee_id", type_=Integer),
        _checkin_t.c.session_key == bindparam("session_key", type_=Integer),
    )
    if with_nonce:
        match = or_(
            match,
            and_(
                _checkin_t.c.conference_id == bindparam("conference_id", type_=Integer),
                _checkin_t.c.nonce == bindparam("nonce"),
            ),
        )
    return (
        sa_select(
            _checkin_t.c.attendee_id,
            _checkin_t.c.checked_in_at,
            _checkin_t.c.site_id,
            _checkin_t.c.foreign_site,
            _checkin_t.c.nonce,
            func.coalesce(_parts_t.c.name, _site_t.c.name).label("site_name"),
        )
        .join(_site_t, _site_t.c.id == _checkin_t.c.site_id)
        .outerjoin(_parts_t, and_(_parts_t.c.site_id == _checkin_t.c.site_id,
                                  _parts_t.c.conference_id == _checkin_t.c.conference_id))
        .where(match)
    )


_EARLIER = _earlier_query(with_nonce=False)
_EARLIER_OR_NONCE = _earlier_query(with_nonce=True)


def earlier_checkins(
    db: Session,
    *,
    attendee_id: int,
    session_key: int,
    conference_id: int,
    nonce: str | None,
) -> list[EarlierCheckin]:
    """The rows an insert clashed with: the attendee's in this session, or the nonce's."""
    stmt = _EARLIER_OR_NONCE if nonce is not None else _EARLIER
    rows = db.connection().execute(
        stmt,
        {
            "attendee_id": attendee_id,
            "session_key": session_key,
            "conference_id": conference_id,
            "nonce": nonce,
        },
    ).mappings()
    return [EarlierCheckin(**row) for row in rows]
