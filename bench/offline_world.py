"""The world of bench/offline.py: island sites with the queues they kept offline.

`load` writes a conference (yesterday to tomorrow, so a queue that began before local
midnight is still inside it), a session that began before the network cut, a hub of
island sites (special zones) with their attendees and one coordinator each, and the
online wards whose attendees the steady load checks in; passes are signed with the
server's key. `queues` makes what each island's desks recorded while offline: every
attendee scanned once at a moment of the cut (a tenth found by name, with the short
code), a share scanned again at the other desk (the server answers "already"), the
site declared ready and an incident reported, all with their original times.
"""

import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from checkin import roster

SECRET = "bench-secret-" + "o" * 40
ADMIN_PASSWORD = "bench-admin-password"
DESKS = 2  # desks per island, taking turns
REPEAT_SHARE = 0.05  # scanned again at the other desk while offline
SEARCH_SHARE = 0.10  # found by name: the short code, method "search"


@dataclass
class Island:
    """One island site: its coordinator's token and its attendees' (id, pass, short code)."""

    site_id: int
    token: str
    people: list[tuple[int, str, str]]


@dataclass
class World:
    conference_id: int
    session_id: int
    islands: list[Island]
    online: list[tuple[str, int, str]]  # (pass, home site, short code) at online wards
    admin_token: str
    seconds: float


@dataclass
class Queue:
    """What one island recorded offline, in order; the expected first time per attendee."""

    site_id: int
    token: str
    items: list[dict[str, Any]]
    first: dict[int, datetime] = field(default_factory=dict)
    repeats: int = 0


def island_sizes(total: int, islands: int, rng: random.Random) -> list[int]:
    """`total` attendees over `islands` sites, uneven (some queues need several batches)."""
    weights = [rng.uniform(0.3, 2.0) for _ in range(islands)]
    sizes = [max(1, int(total * w / sum(weights))) for w in weights]
    sizes[0] += total - sum(sizes)
    return sizes


def _coordinators(db: Any, site_ids: list[int]) -> dict[int, str]:
    """One coordinator account per island, written in bulk; their bearer tokens."""
    from sqlalchemy import insert
    from sqlmodel import col, select

    from app.accounts.models import User
    from app.security import create_access_token, hash_password

    hashed = hash_password("bench-coordinator-password")
    db.execute(insert(User.__table__), [  # type: ignore[attr-defined]
        {"username": f"island-{s}", "password_hash": hashed, "full_name": f"Cán bộ đảo {s}",
         "role": "coordinator", "site_id": s, "status": "active", "token_version": 0,
         "created_at": datetime.now(UTC)} for s in site_ids])
    db.commit()
    ids = dict(db.exec(select(User.site_id, User.id).where(
        col(User.username).startswith("island-"))).all())
    return {s: create_access_token(secret=SECRET, user_id=int(ids[s]), version=0)
            for s in site_ids}


def _sites(db: Any, admin: Any, cid: int, islands: int, wards: int) -> tuple[list[int], list[int]]:
    from endpoints import service as endpoints_service
    from endpoints.models import SiteCreate, SiteKind

    def site(name: str, kind: SiteKind, parent: int | None) -> int:
        made = endpoints_service.create_site(
            db, conference_id=cid, data=SiteCreate(name=name, kind=kind, parent_id=parent),
            actor=admin).site
        assert made.id is not None
        return made.id

    central = site("Hội trường Trung ương", SiteKind.central, None)
    sea = site("Tỉnh ven biển", SiteKind.hub, central)
    city = site("Thành phố", SiteKind.hub, central)
    island_ids = [site(f"Đặc khu đảo {i + 1}", SiteKind.special_zone, sea)
                  for i in range(islands)]
    ward_ids = [site(f"Phường {i + 1}", SiteKind.ward, city) for i in range(wards)]
    return island_ids, ward_ids


def _conference_and_session(db: Any, admin: Any, offline_minutes: int) -> tuple[int, int]:
    from app.db import local_today
    from endpoints import service as endpoints_service
    from endpoints.models import ConferenceCreate
    from sessions import service as sessions_service
    from sessions.models import SessionCreate

    today = local_today()
    conference = endpoints_service.create_conference(
        db, data=ConferenceCreate(title="Tập huấn tại các đặc khu (bench)",
                                  starts_on=today - timedelta(days=1),
                                  ends_on=today + timedelta(days=1)), actor=admin)
    assert conference.id is not None
    start = datetime.now(UTC) - timedelta(minutes=offline_minutes + 30)
    session = sessions_service.create_session(
        db, conference_id=conference.id, actor=admin,
        data=SessionCreate(title="Tập huấn chuyển đổi số", starts_at=start,
                           ends_at=start + timedelta(hours=6)))
    assert session.id is not None
    return conference.id, session.id


def _roster(db: Any, admin: Any, cid: int, homes: list[int], rng: random.Random) -> None:
    from bench.checkin import _names
    from checkin.models import AttendeeCreate

    names = _names(len(homes), rng)
    for start in range(0, len(homes), 20_000):
        items = [AttendeeCreate(full_name=n, site_id=s) for n, s in
                 zip(names[start:start + 20_000], homes[start:start + 20_000], strict=True)]
        roster.create_attendees(db, conference_id=cid, items=items, actor=admin, load=False)


def _passes(db: Any, engine: Any, cid: int) -> dict[int, list[tuple[int, str, str]]]:
    """Every attendee's (id, signed pass, short code), by home site."""
    from sqlalchemy import select as sa_select
    from sqlmodel import col

    from app.config import Settings
    from checkin import keys, qr
    from checkin.models import Attendee
    from endpoints.models import Conference

    settings = Settings(database_url=str(engine.url), secret_key=SECRET,
                        admin_password=ADMIN_PASSWORD)
    rows = db.execute(
        sa_select(col(Attendee.id), col(Attendee.site_id), col(Attendee.pass_version),
                  col(Attendee.short_code))
        .where(col(Attendee.conference_id) == cid).order_by(col(Attendee.id))).all()
    conference = db.get(Conference, cid)
    expires = roster.pass_expiry(conference, settings)
    db.rollback()
    ring = keys.key_ring(engine, secret_key=SECRET, need_signer=True)
    assert ring.signer is not None and ring.signer_kid is not None
    out: dict[int, list[tuple[int, str, str]]] = {}
    for r in rows:
        code = qr.sign_pass(qr.PassClaims(ring.signer_kid, cid, r[0], r[2], expires), ring.signer)
        out.setdefault(int(r[1]), []).append((int(r[0]), code, str(r[3])))
    return out


def load(db_url: str, *, islands: int, island_attendees: int, wards: int, online_attendees: int,
         offline_minutes: int, rng: random.Random) -> World:
    """The whole world through the service layer (a few seconds for 15,000 attendees)."""
    from sqlmodel import Session

    from app.db import create_db_engine
    from app.security import create_access_token
    from endpoints import imports

    clock = time.perf_counter()
    engine = create_db_engine(db_url, pool_size=2)
    with Session(engine, expire_on_commit=False) as db:
        admin = imports.admin_account(db)
        assert admin.id is not None
        cid, sid = _conference_and_session(db, admin, offline_minutes)
        island_ids, ward_ids = _sites(db, admin, cid, islands, wards)
        sizes = island_sizes(island_attendees, islands, rng)
        homes = [s for s, n in zip(island_ids, sizes, strict=True) for _ in range(n)]
        homes += [ward_ids[i % wards] for i in range(online_attendees)]
        _roster(db, admin, cid, homes, rng)
        by_site = _passes(db, engine, cid)
        tokens = _coordinators(db, island_ids)
        admin_token = create_access_token(secret=SECRET, user_id=admin.id,
                                          version=admin.token_version)
    engine.dispose()
    online = [(code, site, short) for site in ward_ids for _, code, short in by_site.get(site, [])]
    rng.shuffle(online)
    return World(cid, sid, [Island(s, tokens[s], by_site[s]) for s in island_ids], online,
                 admin_token, time.perf_counter() - clock)


def _iso(at: datetime) -> str:
    """The time a desk writes: local, to the millisecond ("2026-12-08T09:10:03.120+07:00")."""
    from app.templating import LOCAL_TZ

    return at.astimezone(LOCAL_TZ).isoformat(timespec="milliseconds")


def queues(world: World, *, cut_start: datetime, cut_end: datetime,
           rng: random.Random) -> list[Queue]:
    """What every island recorded between `cut_start` and `cut_end`, in time order."""
    span = (cut_end - cut_start).total_seconds()
    out = []
    for island in world.islands:
        queue = Queue(island.site_id, island.token, [])
        timed: list[tuple[datetime, dict[str, Any]]] = [
            (cut_start, {"kind": "ready"}),
            (cut_start + timedelta(seconds=1), {"kind": "incident",
                                                "reason": "Mất kết nối mạng đất liền"}),
        ]
        for attendee_id, code, short in island.people:
            # Whole milliseconds: what a desk's clock writes and what is compared later.
            at = cut_start + timedelta(milliseconds=rng.randrange(2_000, int(span * 1000)))
            by_name = rng.random() < SEARCH_SHARE
            scan = {"kind": "scan", "code": short if by_name else code,
                    "session_id": world.session_id, "method": "search" if by_name else "scan"}
            timed.append((at, scan))
            queue.first[attendee_id] = at
            if rng.random() < REPEAT_SHARE:
                later = min(cut_end, at + timedelta(seconds=rng.uniform(5, 120)))
                timed.append((later, {**scan, "code": code, "method": "scan"}))
                queue.repeats += 1
        timed.sort(key=lambda t: t[0])
        # Nonces as a desk makes them: its name and its own counter.
        for n, (at, item) in enumerate(timed):
            nonce = f"{island.site_id}-b{n % DESKS + 1}-{n // DESKS}"
            queue.items.append({**item, "nonce": nonce, "at": _iso(at)})
        out.append(queue)
    return out


def batches(queue: Queue, size: int) -> list[str]:
    """The queue as request bodies of at most `size` items, in order."""
    return [json.dumps({"device": "Máy đồng bộ", "items": queue.items[i:i + size]},
                       ensure_ascii=False) for i in range(0, len(queue.items), size)]
