"""The demo conference behind `diemcau demo` and `diemcau serve --demo`.

Everything is created through the domains' service functions, as the central
office would through the API, so the demo exercises the same rules. Loading is
idempotent: the conference is found by its title and each site by its code, so a
second run (or a run after an interrupted one) adds only what is missing.

Each later domain (sessions and agenda, attendees) adds one step function to
`STEPS`; a step receives the `Demo` built so far and returns its summary lines.
"""

import hashlib
import io
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from app.accounts import errors as accounts_errors
from app.accounts import service as accounts_service
from app.accounts.models import User
from app.config import DEV_ADMIN_PASSWORD, get_settings
from app.templating import LOCAL_TZ, local_date
from app.text import format_number
from endpoints import service as endpoints_service
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
)

TITLE = "Hội nghị tập huấn ứng dụng trí tuệ nhân tạo (AI)"
DAY = date(2025, 9, 9)
HUB_USERNAME = "hcm"
HUB_PASSWORD = "hcm-demo-123"  # noqa: S105 - a published demo login, printed on purpose


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


_R = Readiness
_W, _C, _Z, _D, _O = (
    SiteKind.ward,
    SiteKind.commune,
    SiteKind.special_zone,
    SiteKind.department,
    SiteKind.organization,
)

# Names follow the units in place since 01/07/2025 (TP Hồ Chí Minh after the merger
# with Bình Dương and Bà Rịa - Vũng Tàu; Hà Nội); readiness is spread the way a
# real morning looks an hour before the opening.
SITES: tuple[DemoSite, ...] = (
    DemoSite(
        "TW",
        "Hội trường Văn phòng Trung ương",
        SiteKind.central,
        None,
        250,
        _R.ready,
        "Hội trường lớn",
        ("Võ Thành Hưng", "0243 823 0000"),
    ),
    DemoSite(
        "HCM",
        "Trung tâm Hội nghị 272 (TP Hồ Chí Minh)",
        SiteKind.hub,
        "TW",
        400,
        _R.ready,
        "Hội trường A, 272 Võ Thị Sáu",
        ("Lê Thị Hồng", "0901 234 567"),
    ),
    DemoSite(
        "HN",
        "Hội trường Thành ủy Hà Nội",
        SiteKind.hub,
        "TW",
        300,
        _R.tested,
        "Hội trường tầng 3",
        ("Phạm Quang Đức", "0912 345 678"),
    ),
    # TP Hồ Chí Minh: wards, communes, the special zone
    DemoSite(
        "HCM-SG",
        "Đảng ủy phường Sài Gòn",
        _W,
        "HCM",
        120,
        _R.ready,
        "Phòng họp tầng 2",
        ("Nguyễn Văn An", "0903 111 201"),
    ),
    DemoSite(
        "HCM-TD",
        "Đảng ủy phường Tân Định",
        _W,
        "HCM",
        85,
        _R.ready,
        "Hội trường UBND phường",
        ("Trần Thị Bích", "0903 111 202"),
    ),
    DemoSite(
        "HCM-BT",
        "Đảng ủy phường Bến Thành",
        _W,
        "HCM",
        110,
        _R.tested,
        "Phòng họp trực tuyến",
        ("Đặng Minh Khoa", "0903 111 203"),
    ),
    DemoSite(
        "HCM-COL",
        "Đảng ủy phường Cầu Ông Lãnh",
        _W,
        "HCM",
        64,
        _R.ready,
        "Hội trường",
        ("Đỗ Thị Lan", "0903 111 204"),
    ),
    DemoSite(
        "HCM-BC",
        "Đảng ủy phường Bàn Cờ",
        _W,
        "HCM",
        72,
        _R.incident,
        "Phòng họp số 1",
        ("Huỳnh Văn Tâm", "0903 111 205"),
    ),
    DemoSite(
        "HCM-XH",
        "Đảng ủy phường Xuân Hòa",
        _W,
        "HCM",
        95,
        _R.ready,
        "Hội trường tầng 3",
        ("Võ Thị Thu", "0903 111 206"),
    ),
    DemoSite(
        "HCM-NL",
        "Đảng ủy phường Nhiêu Lộc",
        _W,
        "HCM",
        80,
        _R.tested,
        "Phòng họp trực tuyến",
        ("Bùi Quốc Huy", "0903 111 207"),
    ),
    DemoSite(
        "HCM-CQ",
        "Đảng ủy phường Chợ Quán",
        _W,
        "HCM",
        58,
        _R.not_connected,
        "Hội trường",
        ("Lý Thị Mai", "0903 111 208"),
    ),
    DemoSite(
        "HCM-CL",
        "Đảng ủy phường Chợ Lớn",
        _W,
        "HCM",
        130,
        _R.ready,
        "Hội trường lớn",
        ("Trương Văn Phúc", "0903 111 209"),
    ),
    DemoSite(
        "HCM-GD",
        "Đảng ủy phường Gia Định",
        _W,
        "HCM",
        105,
        _R.ready,
        "Phòng họp tầng 4",
        ("Phan Thị Ngọc", "0903 111 210"),
    ),
    DemoSite(
        "HCM-BTH",
        "Đảng ủy phường Bình Thạnh",
        _W,
        "HCM",
        90,
        _R.tested,
        "Hội trường",
        ("Hồ Minh Trí", "0903 111 211"),
    ),
    DemoSite(
        "HCM-TDU",
        "Đảng ủy phường Thủ Đức",
        _W,
        "HCM",
        150,
        _R.ready,
        "Hội trường Trung tâm hành chính",
        ("Ngô Thị Hạnh", "0903 111 212"),
    ),
    DemoSite(
        "HCM-ANK",
        "Đảng ủy phường An Khánh",
        _W,
        "HCM",
        68,
        _R.not_connected,
        "Phòng họp trực tuyến",
        ("Dương Văn Lộc", "0903 111 213"),
    ),
    DemoSite(
        "HCM-TDM",
        "Đảng ủy phường Thủ Dầu Một",
        _W,
        "HCM",
        140,
        _R.ready,
        "Hội trường tầng 2",
        ("Lâm Thị Kim", "0903 111 214"),
    ),
    DemoSite(
        "HCM-VT",
        "Đảng ủy phường Vũng Tàu",
        _W,
        "HCM",
        125,
        _R.tested,
        "Hội trường",
        ("Châu Văn Hải", "0903 111 215"),
    ),
    DemoSite(
        "HCM-CC",
        "Đảng ủy xã Củ Chi",
        _C,
        "HCM",
        75,
        _R.ready,
        "Hội trường UBND xã",
        ("Tạ Thị Hoa", "0903 111 216"),
    ),
    DemoSite(
        "HCM-HM",
        "Đảng ủy xã Hóc Môn",
        _C,
        "HCM",
        70,
        _R.tested,
        "Phòng họp",
        ("Mai Văn Sơn", "0903 111 217"),
    ),
    DemoSite(
        "HCM-BCH",
        "Đảng ủy xã Bình Chánh",
        _C,
        "HCM",
        66,
        _R.not_connected,
        "Hội trường",
        ("Đinh Thị Yến", "0903 111 218"),
    ),
    DemoSite(
        "HCM-NB",
        "Đảng ủy xã Nhà Bè",
        _C,
        "HCM",
        48,
        _R.ready,
        "Phòng họp trực tuyến",
        ("Kiều Văn Thắng", "0903 111 219"),
    ),
    DemoSite(
        "HCM-CG",
        "Đảng ủy xã Cần Giờ",
        _C,
        "HCM",
        40,
        _R.incident,
        "Hội trường",
        ("Lưu Thị Phương", "0903 111 220"),
    ),
    DemoSite(
        "HCM-TA",
        "Đảng ủy xã Thạnh An",
        _C,
        "HCM",
        18,
        _R.not_participating,
        "Phòng họp UBND xã",
        ("Quách Văn Bảo", "0903 111 221"),
    ),
    DemoSite(
        "HCM-COD",
        "Đảng ủy đặc khu Côn Đảo",
        _Z,
        "HCM",
        45,
        _R.tested,
        "Hội trường đặc khu",
        ("Nguyễn Thị Sen", "0903 111 222"),
    ),
    # TP Hồ Chí Minh: departments and organisations
    DemoSite(
        "HCM-DUBND",
        "Đảng ủy Ủy ban nhân dân Thành phố",
        _D,
        "HCM",
        200,
        _R.ready,
        "Hội trường 86 Lê Thánh Tôn",
        ("Trần Quốc Vinh", "0903 111 223"),
    ),
    DemoSite(
        "HCM-DCQD",
        "Đảng ủy các cơ quan Đảng Thành phố",
        _D,
        "HCM",
        180,
        _R.ready,
        "Hội trường tầng 5",
        ("Lê Văn Thành", "0903 111 224"),
    ),
    DemoSite(
        "HCM-SYT",
        "Đảng ủy Sở Y tế",
        _D,
        "HCM",
        60,
        _R.tested,
        "Phòng họp trực tuyến",
        ("Phạm Thị Thảo", "0903 111 225"),
    ),
    DemoSite(
        "HCM-SGD",
        "Đảng ủy Sở Giáo dục và Đào tạo",
        _D,
        "HCM",
        55,
        _R.ready,
        "Phòng họp số 2",
        ("Vũ Đình Nam", "0903 111 226"),
    ),
    DemoSite(
        "HCM-SKH",
        "Đảng ủy Sở Khoa học và Công nghệ",
        _D,
        "HCM",
        42,
        _R.ready,
        "Phòng họp trực tuyến",
        ("Hoàng Thị Diệu", "0903 111 227"),
    ),
    DemoSite(
        "HCM-MTTQ",
        "Ủy ban MTTQ Việt Nam Thành phố",
        _O,
        "HCM",
        90,
        _R.ready,
        "Hội trường",
        ("Đoàn Văn Hiếu", "0903 111 228"),
    ),
    DemoSite(
        "HCM-TD-DOAN",
        "Thành đoàn TP Hồ Chí Minh",
        _O,
        "HCM",
        110,
        _R.tested,
        "Hội trường Nhà Văn hóa Thanh niên",
        ("Nguyễn Hoàng Long", "0903 111 229"),
    ),
    DemoSite(
        "HCM-PN",
        "Hội Liên hiệp Phụ nữ Thành phố",
        _O,
        "HCM",
        50,
        _R.ready,
        "Phòng họp",
        ("Trịnh Thị Liên", "0903 111 230"),
    ),
    DemoSite(
        "HCM-LDLD",
        "Liên đoàn Lao động Thành phố",
        _O,
        "HCM",
        65,
        _R.not_connected,
        "Hội trường",
        ("Cao Văn Tùng", "0903 111 231"),
    ),
    DemoSite(
        "HCM-ND",
        "Hội Nông dân Thành phố",
        _O,
        "HCM",
        35,
        _R.ready,
        "Phòng họp",
        ("Từ Thị Nhung", "0903 111 232"),
    ),
    DemoSite(
        "HCM-CCB",
        "Hội Cựu chiến binh Thành phố",
        _O,
        "HCM",
        30,
        _R.tested,
        "Phòng họp",
        ("Lương Văn Chiến", "0903 111 233"),
    ),
    # Hà Nội
    DemoSite(
        "HN-HK",
        "Đảng ủy phường Hoàn Kiếm",
        _W,
        "HN",
        100,
        _R.ready,
        "Hội trường UBND phường",
        ("Nguyễn Thị Hà", "0912 222 301"),
    ),
    DemoSite(
        "HN-BD",
        "Đảng ủy phường Ba Đình",
        _W,
        "HN",
        115,
        _R.ready,
        "Phòng họp tầng 2",
        ("Trần Văn Minh", "0912 222 302"),
    ),
    DemoSite(
        "HN-CN",
        "Đảng ủy phường Cửa Nam",
        _W,
        "HN",
        80,
        _R.tested,
        "Hội trường",
        ("Đỗ Quang Vinh", "0912 222 303"),
    ),
    DemoSite(
        "HN-DD",
        "Đảng ủy phường Đống Đa",
        _W,
        "HN",
        95,
        _R.incident,
        "Phòng họp trực tuyến",
        ("Lê Thu Trang", "0912 222 304"),
    ),
    DemoSite(
        "HN-CG",
        "Đảng ủy phường Cầu Giấy",
        _W,
        "HN",
        105,
        _R.ready,
        "Hội trường",
        ("Phạm Đức Anh", "0912 222 305"),
    ),
    DemoSite(
        "HN-SS",
        "Đảng ủy xã Sóc Sơn",
        _C,
        "HN",
        60,
        _R.not_connected,
        "Hội trường UBND xã",
        ("Hoàng Văn Thái", "0912 222 306"),
    ),
    DemoSite(
        "HN-DA",
        "Đảng ủy xã Đông Anh",
        _C,
        "HN",
        75,
        _R.tested,
        "Phòng họp",
        ("Vũ Thị Hằng", "0912 222 307"),
    ),
    DemoSite(
        "HN-MTTQ",
        "Ủy ban MTTQ Việt Nam thành phố Hà Nội",
        _O,
        "HN",
        45,
        _R.ready,
        "Phòng họp",
        ("Bùi Thị Oanh", "0912 222 308"),
    ),
    DemoSite(
        "HN-SNV",
        "Đảng ủy Sở Nội vụ Hà Nội",
        _D,
        "HN",
        25,
        _R.not_participating,
        "Phòng họp số 3",
        ("Ngô Văn Khải", "0912 222 309"),
    ),
)


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


def _sites(demo: Demo) -> Sequence[Site]:
    return endpoints_service.list_sites(
        demo.db,
        conference_id=demo.conference_id,
        actor=demo.actor,
        limit=endpoints_service.MAX_PAGE,
    ).items


def add_sites(demo: Demo) -> list[str]:
    """The site tree: central venue, two hubs, wards, communes, departments, organisations."""
    existing = {s.code: s.id for s in _sites(demo) if s.code and s.id}
    for spec in SITES:
        if spec.code in existing:
            continue
        contact_name, contact_phone = spec.contact or (None, None)
        site = endpoints_service.create_site(
            demo.db,
            conference_id=demo.conference_id,
            data=SiteCreate(
                name=spec.name,
                kind=spec.kind,
                parent_id=existing[spec.parent] if spec.parent else None,
                code=spec.code,
                room=spec.room,
                contact_name=contact_name,
                contact_phone=contact_phone,
                expected_attendees=spec.expected,
            ),
            actor=demo.actor,
        )
        assert site.id is not None
        existing[spec.code] = site.id
        if spec.readiness != Readiness.not_connected:
            endpoints_service.update_site(
                demo.db,
                site_id=site.id,
                data=SiteUpdate(readiness=spec.readiness),
                actor=demo.actor,
            )
    demo.site_ids = existing
    sites = _sites(demo)
    kinds = Counter(s.kind for s in sites)
    states = Counter(s.readiness for s in sites)
    by_kind = "; ".join(f"{SITE_KIND_LABELS[k].lower()} {kinds[k]}" for k in SiteKind if kinds[k])
    by_state = "; ".join(f"{READINESS_LABELS[r]} {states[r]}" for r in Readiness if states[r])
    expected = sum(s.expected_attendees for s in sites)
    return [
        f"- {format_number(len(sites))} điểm cầu: {by_kind}.",
        f"- Tình trạng: {by_state}.",
        f"- {format_number(expected)} đại biểu dự kiến.",
    ]


def add_hub_coordinator(demo: Demo) -> list[str]:
    """The coordinator account of the city hub (sees the hub and every site below it)."""
    # Loaded before: the account is already there.
    with suppress(accounts_errors.UsernameTaken):
        endpoints_service.create_coordinator(
            demo.db,
            site_id=demo.site_ids["HCM"],
            username=HUB_USERNAME,
            password=HUB_PASSWORD,
            full_name="Lê Thị Hồng",
            phone="0901 234 567",
            actor=demo.actor,
        )
    return [f"- Cán bộ phụ trách điểm cầu TP Hồ Chí Minh: {HUB_USERNAME} / {HUB_PASSWORD}"]


STEPS: tuple[Step, ...] = (add_sites, add_hub_coordinator)


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
SLIDES = (
    ("Ứng dụng trí tuệ nhân tạo", "trong công tác của cơ quan Đảng"),
    ("1. AI là gì?", "Học máy, mô hình ngôn ngữ lớn, trợ lý ảo"),
    ("2. Công cụ AI phổ biến", "Tóm tắt văn bản, tra cứu, soạn thảo dự thảo"),
    ("3. Sử dụng AI có trách nhiệm", "Không đưa tài liệu mật lên công cụ AI trên Internet"),
    ("4. Thực hành theo tình huống", "Tổng hợp báo cáo, phân tích văn bản"),
    ("Xin cảm ơn!", "Hỏi đáp và thảo luận"),
)
AGENDA: tuple[tuple[str, str, str | None, str, str], ...] = (
    ("opening", "Khai mạc hội nghị", "Đồng chí Võ Thành Hưng", "08:00", "08:15"),
    ("talk", "Tổng quan về trí tuệ nhân tạo", "TS. Nguyễn Minh Tuấn", "08:15", "09:15"),
    ("break", "Giải lao", None, "09:15", "09:30"),
    ("practice", "Thực hành sử dụng công cụ AI", "ThS. Trần Thu Hà", "09:30", "10:45"),
    ("discussion", "Thảo luận tại các điểm cầu", None, "10:45", "11:15"),
    ("summary", "Tổng kết, bế mạc", "Đồng chí Võ Thành Hưng", "11:15", "11:30"),
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
    from sessions.models import AgendaItemCreate, AgendaKind, SessionCreate, StateUpdate

    def publish(channel: str, message: str) -> None:
        """Nobody listens while the demo loads; screens get the stage when they connect."""

    session = sessions_service.create_session(
        demo.db,
        conference_id=demo.conference_id,
        data=SessionCreate(
            title="Phiên khai mạc và báo cáo chuyên đề",
            starts_at=_local("08:00"),
            ends_at=_local("11:30"),
        ),
        actor=demo.actor,
    )
    assert session.id is not None
    items = []
    for kind, title, speaker, start, end in AGENDA:
        items.append(
            sessions_service.create_agenda_item(
                demo.db,
                session_id=session.id,
                data=AgendaItemCreate(
                    title=title,
                    kind=AgendaKind(kind),
                    speaker=speaker,
                    planned_start=_local(start),
                    planned_end=_local(end),
                ),
                actor=demo.actor,
                publish=publish,
            )
        )
    talk = items[1]
    assert talk.id is not None
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "tong-quan-ai.pdf"
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
    sessions_service.set_state(
        demo.db,
        session_id=session.id,
        data=StateUpdate(agenda_item_id=items[0].id),
        actor=demo.actor,
        publish=publish,
    )


STEPS = (*STEPS, add_sessions)
