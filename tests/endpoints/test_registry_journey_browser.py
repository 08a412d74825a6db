"""Issue 9, "Done means 1": two conferences, one after the other, with the same sites,
coordinators and paired screens, and no second import, registration or pairing.

The central office loads one province from the official units once, and a coordinator
registers once: through an invite of conference A, as a new site under the province's hub
(a registration always creates its site, which the approval puts into the registry). Their
phone pairs the projector once. Conference B later invites the same hub subtree, and the
registered site comes with it, with its coordinator and its projector.

The calendar is played by the test: a conference's dates are moved in the database (the
server's "today" is real), and the projector's own clock is jumped past midnight, when a
following screen reconnects (app/static/screen.js). Sessions and agenda items are made on
their pages; the presenter's moves go through the API the console page uses (PUT
/api/v1/sessions/{id}/state with the admin's bearer token), as the console's own tests
drive it.
"""

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.db import LOCAL_TZ, create_db_engine, local_today
from endpoints.invite_models import Invite
from endpoints.models import Conference, Participation, Site, SiteChange, SiteHistory
from endpoints.screen_models import ScreenDevice
from tests.browser import LiveServer
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser

PROVINCE = "12"  # Tỉnh Lai Châu: the fewest units (a hub and 38 communes)
PROVINCE_UNITS = 39
HUB_LABEL = "Tỉnh Lai Châu (VN12)"
SITE_NAME = "Ban Tuyên giáo Tỉnh ủy Lai Châu"
REGISTRATION = {
    "site_name": SITE_NAME,
    "room": "Hội trường Tỉnh ủy",
    "expected_attendees": "40",
    "full_name": "Lò Văn Minh",
    "phone": "0912 777 888",
    "username": "laichau-tg",
    "password": "lc-password-1",
    "password_confirm": "lc-password-1",
}
A_TITLE = "Hội nghị quán triệt Nghị quyết quý I"
B_TITLE = "Hội nghị sơ kết quý II"
TOKEN_KEY = "diemcau.screen.token"


@pytest.fixture
def engine(live_server: LiveServer) -> Iterator[Engine]:
    """The live server's database, for what no page shows and for playing the calendar."""
    db_engine = create_db_engine(live_server.settings.database_url)
    yield db_engine
    db_engine.dispose()


@pytest.fixture
def projector(browser: Browser) -> Iterator[BrowserContext]:
    """The site's projector PC."""
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh")
    context.set_default_timeout(10_000)
    yield context
    context.close()


def _count(engine: Engine, model: Any, *where: Any) -> int:
    with Session(engine) as db:
        return int(db.exec(select(func.count()).select_from(model).where(*where)).one())


def _site_id(engine: Engine, **by: Any) -> int:
    with Session(engine) as db:
        site = db.exec(select(Site).filter_by(**by)).one()
        assert site.id is not None
        return site.id


def _screens_of(engine: Engine, site_id: int) -> list[int]:
    with Session(engine) as db:
        return [i for i in db.exec(
            select(ScreenDevice.id).where(col(ScreenDevice.site_id) == site_id)).all()
            if i is not None]


def _set_dates(engine: Engine, conference_id: int, day: date) -> None:
    """The calendar: the conference now happens on `day`."""
    with Session(engine) as db:
        conference = db.get(Conference, conference_id)
        assert conference is not None
        conference.starts_on = conference.ends_on = day
        db.add(conference)
        db.commit()


def _login(p: Page, base: str, username: str, password: str) -> None:
    p.goto(f"{base}/login")
    p.fill("input[name=username]", username)
    p.fill("input[name=password]", password)
    p.get_by_role("button", name="Đăng nhập").click()
    p.wait_for_load_state()


def _load_province(p: Page, base: str, engine: Engine) -> int:
    """"Nạp danh mục đơn vị hành chính" for one province; the id of its hub site."""
    p.goto(f"{base}/registry/units")
    p.select_option("select[name=province_code]", PROVINCE)
    p.get_by_role("button", name="Nạp danh mục").click()
    expect(p.get_by_role("status")).to_contain_text(f"Đã nạp {PROVINCE_UNITS} đơn vị")
    assert _count(engine, Site) == PROVINCE_UNITS
    return _site_id(engine, code=f"VN{int(PROVINCE):02d}")


def _create_conference(p: Page, base: str, title: str, day: date) -> int:
    """The conferences page's form; it opens the new conference's site tree."""
    p.goto(f"{base}/conferences")
    p.fill("input[name=title]", title)
    p.fill("input[name=starts_on]", day.isoformat())
    p.fill("input[name=ends_on]", day.isoformat())
    p.get_by_role("button", name="Tạo hội nghị").click()
    p.wait_for_url(f"{base}/conferences/*/sites")
    return int(p.url.split("/")[-2])


def _invite_hub(p: Page, base: str, conference_id: int, invited: int) -> None:
    """"Mời điểm cầu từ danh mục": the province's hub and everything under it."""
    p.goto(f"{base}/conferences/{conference_id}/invite-sites")
    p.check("input[name=mode][value=under]")
    p.select_option("select[name=under_id]", label=HUB_LABEL)
    p.get_by_role("button", name="Mời điểm cầu").click()
    report = p.locator("[data-code=invited]")
    expect(report).to_contain_text(f"Đã mời {invited} điểm cầu")


def _add_session(
    p: Page, base: str, conference_id: int, day: date, items: list[str]
) -> tuple[int, list[int]]:
    """A session at 08:30 on `day` with these agenda items (the sessions pages): the
    session's id and the items'."""
    p.goto(f"{base}/conferences/{conference_id}/sessions")
    p.fill("input[name=title]", "Phiên toàn thể")
    p.fill("input[name=starts_at]", f"{day.isoformat()}T08:30")
    p.fill("input[name=ends_at]", f"{day.isoformat()}T11:30")
    p.get_by_role("button", name="Thêm phiên họp").click()
    p.wait_for_url(f"{base}/sessions/*")
    session_id = int(p.url.split("/sessions/", 1)[1].split("?", 1)[0])
    ids = []
    for title in items:
        add = p.locator("form[action$='/agenda']")
        add.locator("input[name=title]").fill(title)
        add.get_by_role("button", name="Thêm").click()
        p.wait_for_url("**#item-*")
        ids.append(int(p.url.rsplit("#item-", 1)[1]))
    return session_id, ids


def _register_once(p: Page, mobile: Page, base: str, conference_id: int, hub_id: int) -> None:
    """An invite under the hub; the coordinator registers their site and account on the
    phone; the central office approves (the site joins the registry)."""
    p.goto(f"{base}/conferences/{conference_id}/invites")
    p.select_option("select[name=parent_site_id]", str(hub_id))
    p.select_option("select[name=suggested_kind]", "department")
    p.get_by_role("button", name="Tạo lời mời").click()
    link = p.locator("input.invite-url").input_value()
    mobile.goto(link)
    expect(mobile.locator("select[name=kind]")).to_have_value("department")
    for name, value in REGISTRATION.items():
        mobile.fill(f"input[name={name}]", value)
    mobile.check("#accept-notice")
    mobile.get_by_role("button", name="Gửi đăng ký").click()
    expect(mobile.locator("h1")).to_have_text("Đã gửi đăng ký, chờ ban tổ chức duyệt")
    p.goto(f"{base}/conferences/{conference_id}/registrations")
    p.locator("tr", has_text=SITE_NAME).get_by_role("button", name="Duyệt").click()
    expect(p.get_by_role("status")).to_contain_text("Đã duyệt đăng ký")


def _pair(mobile: Page, screen: Page, base: str, site_id: int) -> None:
    """The coordinator's phone makes a code; the projector's pairing page takes it."""
    mobile.goto(f"{base}/sites/{site_id}/screens")
    mobile.get_by_role("button", name="Tạo mã ghép nối").click()
    code = mobile.locator("[data-testid=pairing-code]").inner_text()
    screen.goto(f"{base}/screen/pair")
    screen.fill("#code", code)
    screen.click("button[type=submit]")
    screen.wait_for_url(f"{base}/screen")


def _move(base: str, session_id: int, item_id: int) -> None:
    """What the presenter console sends when the next agenda item begins (the API, with
    the admin's bearer token)."""
    with httpx.Client(base_url=base, timeout=30) as http:
        r = http.post("/api/v1/auth/token",
                      data={"username": "admin", "password": ADMIN_PASSWORD})
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        r = http.put(f"/api/v1/sessions/{session_id}/state", json={"agenda_item_id": item_id})
        assert r.status_code == 200, r.text


def _past_midnight(screen: Page) -> None:
    """The projector's clock reaches the next day in Vietnam, past the (up to five minutes
    spread) moment a following screen reconnects to learn what is on today."""
    now = datetime.now(LOCAL_TZ)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), LOCAL_TZ)
    screen.clock.fast_forward(int((midnight - now).total_seconds() * 1000) + 6 * 60_000)


def test_two_conferences_share_sites_coordinator_and_projector(
    live_server: LiveServer, page: Page, phone: BrowserContext, projector: BrowserContext,
    engine: Engine,
) -> None:
    base = live_server.url
    today = local_today()
    live_server.app.state.screen_recheck_seconds = 0.2  # a waiting screen looks again quickly

    # 1. The central office loads one province from the official list of units, once.
    _login(page, base, "admin", ADMIN_PASSWORD)
    hub = _load_province(page, base, engine)

    # 2. Conference A, today, invites the province's whole subtree.
    a = _create_conference(page, base, A_TITLE, today)
    _invite_hub(page, base, a, PROVINCE_UNITS)
    a_session, (opening, briefing) = _add_session(page, base, a, today, ["Khai mạc", "Quán triệt"])

    # 3. The coordinator registers once; the approval puts the site into the registry.
    mobile = phone.new_page()
    _register_once(page, mobile, base, a, hub)
    site = _site_id(engine, name=SITE_NAME)
    registry_size = _count(engine, Site)
    assert registry_size == PROVINCE_UNITS + 1

    # 4. Their phone pairs the projector once; the projector follows A's stage.
    _login(mobile, base, REGISTRATION["username"], REGISTRATION["password"])
    assert mobile.url == f"{base}/conferences/{a}/sites"
    screen = projector.new_page()
    screen.clock.install()  # the projector's own clock, which the test moves on below
    _pair(mobile, screen, base, site)
    token = screen.evaluate(f"localStorage.getItem('{TOKEN_KEY}')")
    [paired] = _screens_of(engine, site)
    screen.evaluate("window.__sameDocument = true")
    expect(screen.locator("#conference")).to_have_text(A_TITLE)
    for item_id, title in ((opening, "Khai mạc"), (briefing, "Quán triệt")):
        _move(base, a_session, item_id)
        expect(screen.locator("#item")).to_have_text(title)

    # 5. A is over (the calendar: its day becomes yesterday). B, tomorrow, invites the same
    # subtree from the registry: the registered site comes with it, no import, no invite link.
    _set_dates(engine, a, today - timedelta(days=1))
    b = _create_conference(page, base, B_TITLE, today + timedelta(days=1))
    _invite_hub(page, base, b, PROVINCE_UNITS + 1)
    _add_session(page, base, b, today + timedelta(days=1), ["Sơ kết"])
    _past_midnight(screen)
    _shows_waiting_for_b(screen)

    # 6. B's day comes: the same projector follows B, never paired again.
    _set_dates(engine, b, today)
    expect(screen.locator("body")).to_have_attribute("data-mode", "stage")
    expect(screen.locator("#conference")).to_have_text(B_TITLE)
    assert screen.evaluate("window.__sameDocument") is True
    assert screen.evaluate(f"localStorage.getItem('{TOKEN_KEY}')") == token

    # The same account sees B beside A, and opens its site's check-in desk for B.
    _open_checkin_of_b(mobile, base, b)

    # 7. One pairing, one coordinator, one registration, one import; the site in A and B.
    _assert_everything_once(engine, site=site, paired=paired, registry_size=registry_size,
                            conferences=[a, b])


def _shows_waiting_for_b(screen: Page) -> None:
    """The waiting screen: the site's name and the next conference, at its first session."""
    expect(screen.locator("body")).to_have_attribute("data-mode", "waiting")
    expect(screen.locator("#waiting-site")).to_have_text(SITE_NAME)
    expect(screen.locator("#waiting-title")).to_have_text(B_TITLE)
    expect(screen.locator("#waiting-when")).to_contain_text("08:30")


def _open_checkin_of_b(mobile: Page, base: str, b: int) -> None:
    """The coordinator's conference list, B's site tree, their site, its check-in desk."""
    mobile.goto(f"{base}/conferences")
    expect(mobile.get_by_role("link", name=A_TITLE)).to_be_visible()
    mobile.get_by_role("link", name=B_TITLE).click()
    mobile.get_by_role("link", name=SITE_NAME).click()
    mobile.get_by_role("link", name="Mở trang điểm danh").click()
    expect(mobile.locator("h1")).to_have_text("Điểm danh")
    expect(mobile.locator("#checkin")).to_have_attribute("data-conference-id", str(b))
    expect(mobile.locator("#checkin")).to_contain_text(B_TITLE)


def _assert_everything_once(
    engine: Engine, *, site: int, paired: int, registry_size: int, conferences: list[int]
) -> None:
    assert _screens_of(engine, site) == [paired]
    with Session(engine) as db:
        assert db.exec(select(User.username).where(col(User.site_id) == site)).all() == [
            REGISTRATION["username"]]
        parts = db.exec(select(Participation.conference_id)
                        .where(col(Participation.site_id) == site)).all()
        assert sorted(parts) == sorted(conferences)
    assert _count(engine, Invite) == 1
    assert _count(engine, User) == 2  # the central office's admin and the one coordinator
    assert _count(engine, Site) == registry_size
    # Each site was created once, by the one load or the one registration, never again.
    assert _count(engine, SiteHistory, col(SiteHistory.change) == SiteChange.created) == (
        registry_size)
