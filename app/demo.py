
"""The demo conference behind `diemcau demo` and `diemcau serve --demo`.

The data lives in `app/demo_data/` (sites.csv: the sites invited, with their rooms,
contacts and expected numbers; demo.json: the conference, the hub coordinator, the
session, its agenda and slides). The tree comes from the official list of
administrative units (endpoints.units: the hubs of TP Hồ Chí Minh and Hà Nội with all
their wards and communes, under the central venue); departments and organisations
are added by hand from sites.csv, then the sites of sites.csv are invited; everything
goes through the domains' service functions, as the central office would through the
API, so the demo exercises the same rules users meet. Loading is idempotent: the conference is found
by its title and each site by its registry code, so a second run (or a run after an
interrupted one) adds only what is missing.

Each step function in `STEPS` receives the `Demo` built so far and returns its
summary lines.
"""

import csv
import hashlib
import io
import json
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from app import demo_people
from app.accounts import errors as accounts_errors
from app.accounts import service as accounts_service
from app.accounts.models import User
from app.config import DEV_ADMIN_PASSWORD, get_settings
from app.errors import AppError
from app.templating import LOCAL_TZ, local_date
from app.text import format_number
from endpoints import coordinators as endpoints_coordinators
from endpoints import service as endpoints_service
from endpoints import site_changes, site_lists, units
from endpoints.models import (
    READINESS_LABELS,
    SITE_KIND_LABELS,
    Conference,
    ConferenceCreate,
    Readiness,
    Site,
    SiteCreate,
    SiteKind,
    SiteUpdate,
    SiteView,
)

DATA_DIR = Path(__file__).parent / "demo_data"
SITES_FILE = DATA_DIR / "sites.csv"
_DATA: dict[str, Any] = json.loads((DATA_DIR / "demo.json").read_text(encoding="utf-8"))

TITLE: str = _DATA["conference"]["title"]
DAY = date.fromisoformat(_DATA["conference"]["day"])
HUB: dict[str, str] = _DATA["hub_coordinator"]
HUB_USERNAME = HUB["username"]
HUB_PASSWORD = HUB["password"]  # a published demo login, printed on purpose


@dataclass(frozen=True)
class DemoSite:
    """One site of the demo tree; `parent` is the code of the site above it."""

    code: str
    name: str
    kind: SiteKind
    parent: str | None
    expected: int
    readiness: Readiness = Readiness.not_connected
    room: str | None = None
    contact: tuple[str, str] | None = None


def _read_sites() -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of sites.csv (the import's columns plus `readiness`)."""
    with SITES_FILE.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _spec(row: dict[str, str]) -> DemoSite:
    contact = (row["contact_name"], row["contact_phone"]) if row["contact_name"] else None
    return DemoSite(
        code=row["code"],
        name=row["name"],
        kind=SiteKind(row["kind"]),
        parent=row["parent_code"] or None,
        expected=int(row["expected_attendees"]),
        readiness=Readiness(row["readiness"]),
        room=row["room"] or None,
        contact=contact,
    )


# Names follow the units in place since 01/07/2025 (TP Hồ Chí Minh after the merger
# with Bình Dương and Bà Rịa - Vũng Tàu; Hà Nội); readiness is spread the way a
# real morning looks an hour before the opening.
SITES: tuple[DemoSite, ...] = tuple(_spec(row) for row in _read_sites()[1])


@dataclass
class Demo:
    """What the steps share: the database, the acting admin and what exists so far."""

    db: Session
    actor: User
    conference: Conference
    data_dir: Path = Path("var")
    site_ids: dict[str, int] = field(default_factory=dict)

    @property
    def conference_id(self) -> int:
        assert self.conference.id is not None
        return self.conference.id


Step = Callable[[Demo], list[str]]


def _actor(db: Session, *, username: str, password: str) -> User:
    created = accounts_service.ensure_admin(db, username=username, password=password)
    if created is not None:
        return created
    name = accounts_service.normalize_username(username)
    existing = db.exec(select(User).where(User.username == name)).first()
    if existing is not None:
        return existing
    return accounts_service.create_admin(
        db, username=username, password=password, full_name="Ban tổ chức"
    )


def _conference(db: Session, actor: User) -> Conference:
    found = db.exec(
        select(Conference).where(Conference.title == TITLE).order_by(col(Conference.id))
    ).first()
    if found is not None:
        return found
    return endpoints_service.create_conference(
        db, data=ConferenceCreate(title=TITLE, starts_on=DAY, ends_on=DAY), actor=actor
    )


def _sites(demo: Demo) -> Sequence[SiteView]:
    return site_lists.list_sites(
        demo.db,
        conference_id=demo.conference_id,
        actor=demo.actor,
        limit=endpoints_service.MAX_PAGE,
    ).items


def _registry(db: Session) -> dict[str, Site]:
    """The registry sites sites.csv names, by code."""
    codes = [spec.code for spec in SITES]
    found = db.exec(select(Site).where(col(Site.code).in_(codes))).all()
    return {site.code: site for site in found if site.code}


def _register(demo: Demo, registry: dict[str, Site], *, roots_only: bool = False) -> None:
    """Add the sites the registry lacks (sites.csv lists parents before children)."""
    for spec in SITES:
        if spec.code in registry or (roots_only and spec.parent is not None):
            continue
        parent = registry[spec.parent].id if spec.parent else None
        contact_name, contact_phone = spec.contact or (None, None)
        data = SiteCreate.model_validate({
            "name": spec.name, "kind": spec.kind, "parent_id": parent, "code": spec.code,
            "room": spec.room, "contact_name": contact_name, "contact_phone": contact_phone,
        })
        registry[spec.code] = endpoints_service.new_registry_site(
            demo.db, data=data, actor=demo.actor
        )


def _invite(demo: Demo, registry: dict[str, Site]) -> list[DemoSite]:
    """Invite every demo site to the conference; the ones newly invited."""
    invited = []
    for spec in SITES:
        site = registry[spec.code]
        assert site.id is not None
        if endpoints_service.participation_of(
            demo.db, conference_id=demo.conference_id, site_id=site.id
        ) is None:
            endpoints_service.invite_site(
                demo.db, conference_id=demo.conference_id, site=site, expected=spec.expected
            )
            invited.append(spec)
    demo.db.commit()
    return invited


#: Provinces whose hubs and communes come from the official list (vietnam-provinces).
UNIT_PROVINCES = (79, 1)  # TP Hồ Chí Minh, Hà Nội


def _load_units(demo: Demo) -> int:
    """The city hubs with every ward, commune and special zone of theirs, from the
    official list of administrative units, under the central venue; returns how many."""
    return sum(
        units.load_units(demo.db, actor=demo.actor, province_code=code).total
        for code in UNIT_PROVINCES
    )


def _furnish(demo: Demo, registry: dict[str, Site]) -> None:
    """Give the official units sites.csv names their room and contact (once)."""
    for spec in SITES:
        site = registry[spec.code]
        if site.room is None and spec.room is not None and site.id is not None:
            contact_name, contact_phone = spec.contact or (None, None)
            site_changes.update_site(
                demo.db, site_id=site.id, actor=demo.actor,
                data=SiteUpdate(room=spec.room, contact_name=contact_name,
                                contact_phone=contact_phone),
            )


def add_sites(demo: Demo) -> list[str]:
    """The site tree: central venue, the official units of two cities (the registry),
    departments and organisations; the sites of sites.csv are invited."""
    registry = _registry(demo.db)
    _register(demo, registry, roots_only=True)
    in_registry = _load_units(demo)
    registry = _registry(demo.db)
    _register(demo, registry)
    _furnish(demo, registry)
    for spec in _invite(demo, registry):
        site_id = registry[spec.code].id
        if site_id and spec.readiness != Readiness.not_connected:
            site_changes.update_site(
                demo.db, site_id=site_id, data=SiteUpdate(readiness=spec.readiness),
                actor=demo.actor, conference_id=demo.conference_id,
            )
    demo.site_ids = {code: site.id for code, site in registry.items() if site.id}
    sites = _sites(demo)
    kinds = Counter(s.kind for s in sites)
    states = Counter(s.readiness for s in sites)
    by_kind = "; ".join(f"{SITE_KIND_LABELS[k].lower()} {kinds[k]}" for k in SiteKind if kinds[k])
    by_state = "; ".join(f"{READINESS_LABELS[r]} {states[r]}" for r in Readiness if states[r])
    expected = sum(s.expected_attendees for s in sites)
    return [
        f"- Danh mục: {format_number(in_registry)} đơn vị hành chính của TP Hồ Chí Minh và"
        " Hà Nội (danh mục chính thức).",
        f"- {format_number(len(sites))} điểm cầu được mời: {by_kind}.",
        f"- Tình trạng: {by_state}.",
        f"- {format_number(expected)} đại biểu dự kiến.",
    ]


def add_hub_coordinator(demo: Demo) -> list[str]:
    """The coordinator account of the city hub (sees the hub and every site below it)."""
    # Loaded before: the account is already there.
    with suppress(accounts_errors.UsernameTaken):
        endpoints_coordinators.create_coordinator(
            demo.db,
            site_id=demo.site_ids[HUB["site"]],
            username=HUB_USERNAME,
            password=HUB_PASSWORD,
            full_name=HUB["full_name"],
            phone=HUB["phone"],
            actor=demo.actor,
        )
    return [f"- Cán bộ phụ trách điểm cầu TP Hồ Chí Minh: {HUB_USERNAME} / {HUB_PASSWORD}"]


class DemoRefused(AppError):
    status_code = 409
    code = "demo_refused"
    detail = "Không nạp hội nghị mẫu vào cơ sở dữ liệu thật."


def refuse_real_database(db: Session, *, env: str) -> None:
    """Refuse a production database: the demo adds a published hub login and sample data.

    Production is DIEMCAU_ENV=production, or any database that already holds a
    conference other than the demo's (someone's real work).
    """
    if env == "production":
        raise DemoRefused(
            "DIEMCAU_ENV=production: không nạp hội nghị mẫu (có tài khoản mật khẩu công khai) "
            "vào cơ sở dữ liệu thật."
        )
    other = db.exec(select(Conference.id).where(Conference.title != TITLE).limit(1)).first()
    if other is not None:
        raise DemoRefused(
            "Cơ sở dữ liệu đã có hội nghị khác hội nghị mẫu: không nạp dữ liệu mẫu vào đây. "
            "Dùng một cơ sở dữ liệu riêng (DIEMCAU_DATABASE_URL) để thử."
        )


def load_demo(
    db: Session,
    *,
    admin_username: str,
    admin_password: str,
    data_dir: Path | None = None,
) -> str:
    """Load (or complete) the demo conference; a Vietnamese summary of what is there."""
    actor = _actor(db, username=admin_username, password=admin_password)
    demo = Demo(
        db=db,
        actor=actor,
        conference=_conference(db, actor),
        data_dir=data_dir or get_settings().data_dir,
    )
    lines = [f"Hội nghị mẫu «{TITLE}», ngày {local_date(DAY)}:"]
    for step in STEPS:
        lines.extend(step(demo))
    # Only the well-known development password is echoed; a real one stays out of logs.
    shown = admin_password if admin_password == DEV_ADMIN_PASSWORD else "(DIEMCAU_ADMIN_PASSWORD)"
    lines.append(f"- Ban tổ chức: {actor.username} / {shown}")
    return "\n".join(lines)


# ------------------------------------------------------------------ sessions

FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)
SLIDES: tuple[tuple[str, str], ...] = tuple(
    (title, line) for title, line in _DATA["deck"]["slides"]
)


def demo_deck_pdf() -> bytes:
    """A six-slide Vietnamese deck drawn with Pillow (no files shipped, nothing fetched)."""
    from PIL import Image, ImageDraw, ImageFont

    path = next((p for p in FONT_PATHS if Path(p).exists()), None)

    def font(size: int) -> Any:
        return ImageFont.truetype(path, size) if path else ImageFont.load_default(size=size)

    pages = []
    for number, (title, line) in enumerate(SLIDES, start=1):
        page = Image.new("RGB", (1600, 900), "#fdfaf3")
        draw = ImageDraw.Draw(page)
        draw.rectangle((0, 0, 1600, 120), fill="#8b1a14")
        draw.text((60, 35), TITLE, font=font(40), fill="#ffffff")
        draw.text((100, 330), title, font=font(84), fill="#1b1f24")
        draw.text((100, 470), line, font=font(52), fill="#444c56")
        draw.text((1460, 830), f"{number}/{len(SLIDES)}", font=font(32), fill="#5d6670")
        pages.append(page)
    buffer = io.BytesIO()
    pages[0].save(buffer, format="PDF", save_all=True, append_images=pages[1:], resolution=150)
    return buffer.getvalue()


def _local(hhmm: str) -> datetime:
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime.combine(DAY, time(hour, minute), tzinfo=LOCAL_TZ)


def add_sessions(demo: Demo) -> list[str]:
    """The morning session with its agenda, a slide deck on the main talk, and the stage."""
    from sessions import service as sessions_service

    existing = sessions_service.list_sessions(
        demo.db, conference_id=demo.conference_id, actor=demo.actor
    )
    if not existing:
        _create_session(demo)
        existing = sessions_service.list_sessions(
            demo.db, conference_id=demo.conference_id, actor=demo.actor
        )
    assert existing[0].id is not None
    agenda = sessions_service.list_agenda(demo.db, session_id=existing[0].id, actor=demo.actor)
    decks = [(e.item.title, e.deck.page_count) for e in agenda if e.deck is not None]
    deck_text = "".join(
        f", bài giảng «{title}» có {pages} trang trình chiếu" for title, pages in decks
    )
    return [f"- {len(existing)} phiên họp, {len(agenda)} mục chương trình{deck_text}."]


def _create_session(demo: Demo) -> None:
    from sessions import service as sessions_service
    from sessions import stage as sessions_stage
    from sessions.models import AgendaItemCreate, AgendaKind, SessionCreate, StateUpdate

    def publish(channel: str, message: str) -> None:
        """Nobody listens while the demo loads; screens get the stage when they connect."""

    planned = _DATA["session"]
    session = sessions_service.create_session(
        demo.db,
        conference_id=demo.conference_id,
        data=SessionCreate(
            title=planned["title"],
            starts_at=_local(planned["starts"]),
            ends_at=_local(planned["ends"]),
        ),
        actor=demo.actor,
    )
    assert session.id is not None
    items = []
    for entry in _DATA["agenda"]:
        items.append(
            sessions_service.create_agenda_item(
                demo.db,
                session_id=session.id,
                data=AgendaItemCreate(
                    title=entry["title"],
                    kind=AgendaKind(entry["kind"]),
                    speaker=entry["speaker"],
                    planned_start=_local(entry["start"]),
                    planned_end=_local(entry["end"]),
                ),
                actor=demo.actor,
                publish=publish,
            )
        )
    talk = items[_DATA["deck"]["agenda_item"]]
    assert talk.id is not None
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / _DATA["deck"]["filename"]
        source.write_bytes(demo_deck_pdf())
        sessions_service.upload_deck(
            demo.db,
            agenda_item_id=talk.id,
            source=source,
            filename=source.name,
            sha256=hashlib.sha256(source.read_bytes()).hexdigest(),
            actor=demo.actor,
            data_dir=demo.data_dir,
            max_pages=50,
            publish=publish,
        )
    sessions_stage.set_state(
        demo.db,
        session_id=session.id,
        data=StateUpdate(agenda_item_id=items[0].id),
        actor=demo.actor,
        publish=publish,
    )


# ----------------------------------------------------------------- attendees


def add_attendees(demo: Demo) -> list[str]:
    """A roster for every demo site (app/demo_people.py: seeded, so always the same
    people), added once through the roster's use case, as an import would."""
    from sqlalchemy import func

    from checkin import roster
    from checkin.models import Attendee, AttendeeCreate

    def count() -> int:
        return demo.db.exec(select(func.count()).select_from(Attendee).where(
            Attendee.conference_id == demo.conference_id)).one()

    if count() == 0:  # loaded before (or someone imported a roster): leave it be
        items = [
            AttendeeCreate(full_name=p.full_name, site_id=demo.site_ids[spec.code],
                           unit=p.unit, position=p.position, phone=p.phone)
            for spec in SITES
            for p in demo_people.people_for(code=spec.code, name=spec.name,
                                             kind=spec.kind.value, expected=spec.expected)
        ]
        roster.create_attendees(demo.db, conference_id=demo.conference_id, items=items,
                                actor=demo.actor, load=False)
    return [f"- {format_number(count())} đại biểu có tên trong danh sách, có thẻ QR để điểm danh."]


STEPS: tuple[Step, ...] = (add_sites, add_hub_coordinator, add_sessions, add_attendees)
