"""The ask's SQL (the floor's hot path), built once: 4,000 sites ask within seconds.

SQLAlchemy Core with bind parameters: compiled once and cached, no ORM unit of work
per ask. One SELECT reads everything an ask is judged on; the upsert writes it.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, and_, bindparam, func, text
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from endpoints.models import Participation, Site, SiteKind
from sessions.floor_models import FloorRequest
from sessions.models import ConferenceSession, Stage


@dataclass(frozen=True, slots=True)
class AskContext:
    """A session, a site and the asker's root, read in one joined SELECT."""

    conference_id: int
    session_status: str
    site_found: bool
    site_path: str
    site_kind: str
    site_name: str
    participating: bool
    root_path: str | None
    stage_session_id: int | None
    stage_item_id: int | None


_sess = ConferenceSession.__table__  # type: ignore[attr-defined]
_site = Site.__table__  # type: ignore[attr-defined]
_part = Participation.__table__  # type: ignore[attr-defined]
_stage = Stage.__table__  # type: ignore[attr-defined]
_root = _site.alias("root")
_CONTEXT = (
    sa_select(
        _sess.c.conference_id, _sess.c.status, _site.c.id.is_not(None).label("site_found"),
        _site.c.path, _site.c.kind, func.coalesce(_part.c.name, _site.c.name).label("name"),
        _part.c.id.is_not(None).label("participating"), _root.c.path.label("root_path"),
        _stage.c.session_id.label("stage_session_id"),
        _stage.c.agenda_item_id.label("stage_item_id"),
    )
    .select_from(_sess)
    .outerjoin(_site, _site.c.id == bindparam("site_id", type_=Integer))
    .outerjoin(_part, and_(_part.c.conference_id == _sess.c.conference_id,
                           _part.c.site_id == _site.c.id))
    .outerjoin(_root, _root.c.id == bindparam("root_id", type_=Integer))
    .outerjoin(_stage, _stage.c.conference_id == _sess.c.conference_id)
    .where(_sess.c.id == bindparam("session_id", type_=Integer))
)


def ask_context(
    db: Session, *, session_id: int, site_id: int, root_id: int | None
) -> AskContext | None:
    """What an ask is judged on; None when the session does not exist."""
    row = db.execute(_CONTEXT, {"session_id": session_id, "site_id": site_id,
                                "root_id": root_id}).first()
    if row is None:
        return None
    m = row._mapping
    return AskContext(
        conference_id=m["conference_id"], session_status=m["status"],
        site_found=bool(m["site_found"]), site_path=m["path"] or "", site_kind=m["kind"] or "",
        site_name=m["name"] or "", participating=bool(m["participating"]),
        root_path=m["root_path"], stage_session_id=m["stage_session_id"],
        stage_item_id=m["stage_item_id"],
    )


_HUB = (
    sa_select(_site.c.id, func.coalesce(_part.c.name, _site.c.name))
    .outerjoin(_part, and_(_part.c.site_id == _site.c.id,
                           _part.c.conference_id == bindparam("conference_id", type_=Integer)))
    .where(_site.c.id.in_(bindparam("ids", expanding=True)), _site.c.kind == SiteKind.hub.value)
    .order_by(_site.c.depth)
    .limit(1)
)


def hub_of_path(db: Session, *, path: str, conference_id: int) -> tuple[int | None, str | None]:
    """The outermost hub at or above the site with this path, and its name there."""
    ids = [int(p) for p in path.strip("/").split("/") if p]
    if not ids:
        return None, None
    row = db.execute(_HUB, {"ids": ids, "conference_id": conference_id}).first()
    return (None, None) if row is None else (int(row[0]), str(row[1]))


_CHANGED = ("topic", "speaker_name", "speaker_position", "changed_at", "asked_by",
            "agenda_item_id")
_req = FloorRequest.__table__  # type: ignore[attr-defined]


def _upsert_for(dialect: str) -> Any:
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    stmt = insert(_req).values({c.name: bindparam(c.name) for c in _req.c if c.name != "id"})
    return (
        stmt.on_conflict_do_update(index_elements=["session_id", "site_id"],
                                   index_where=text("status = 'open'"),
                                   set_={k: stmt.excluded[k] for k in _CHANGED})
        .returning(*_req.c)
    )


# Built once per dialect: a Core statement with bind parameters compiles once.
_UPSERT = {name: _upsert_for(name) for name in ("sqlite", "postgresql")}
_FLOOR_COLUMNS = [c.name for c in _req.c if c.name != "id"]


def upsert_request(db: Session, values: dict[str, Any]) -> Any:
    """Insert the site's open request, or change it when one is open (ON CONFLICT on the
    partial unique index: two first asks of a site racing make one row, never an error);
    the row as it now is."""
    params = {name: values.get(name) for name in _FLOOR_COLUMNS}
    return db.execute(_UPSERT[db.get_bind().dialect.name], params).one()
