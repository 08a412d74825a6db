"""Real Chromium on a phone: answer a test from the site screen's QR link and see
"Đã ghi nhận" with the score; an answer lost offline is sent again with the same nonce
(stored once); the personal code remembered by self check-in is prefilled."""

from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlmodel import Session, select

from app.db import local_today
from checkin.answer_links import site_answer_code
from checkin.answer_models import FormAnswer
from sessions.form_models import TrainingForm
from tests.browser import LiveServer
from tests.checkin.forms_world import FormWorld, make_form, put_on_stage
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser


@dataclass
class Arranged:
    url: str
    form: FormWorld
    short_code: str


def _arrange(server: LiveServer) -> Arranged:
    """A conference live today with a ward, an attendee and a test open on its stage."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        r = http.post("/api/v1/auth/token", data={"username": "admin",
                                                  "password": ADMIN_PASSWORD})
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        today = local_today().isoformat()
        cid = http.post("/api/v1/conferences", json={
            "title": "Tập huấn AI", "starts_on": today, "ends_on": today}).json()["id"]
        ward = http.post(f"/api/v1/conferences/{cid}/sites", json={
            "name": "Phường Bến Nghé", "kind": "ward"}).json()["id"]
        person = http.post(f"/api/v1/conferences/{cid}/attendees", json=[
            {"full_name": "Nguyễn Văn An", "site_id": ward}]).json()[0]
    with Session(server.app.state.engine) as db:
        form = make_form(db, conference_id=cid)
        put_on_stage(db, conference_id=cid, form_id=form.form_id)
    return Arranged(f"{server.url}/a/{site_answer_code(ward, server.settings)}", form,
                    person["short_code"])


def _pick_right(page: Page, form: FormWorld) -> None:
    page.check(f"input[name=q1][value='{form.single_options[1]}']")
    page.check(f"input[name=q2][value='{form.multi_options[0]}']")
    page.check(f"input[name=q2][value='{form.multi_options[2]}']")
    page.click(".ans-rating label:nth-child(4)")
    page.fill("textarea[name=q4]", "Rất bổ ích")


def _rows(server: LiveServer) -> list[FormAnswer]:
    with Session(server.app.state.engine) as db:
        return list(db.exec(select(FormAnswer)).all())


def test_answer_a_test_on_a_phone(live_server: LiveServer, phone: BrowserContext) -> None:
    arranged = _arrange(live_server)
    page = phone.new_page()
    page.add_init_script(f"localStorage.setItem('diemcau.pass.code', '{arranged.short_code}')")
    page.goto(arranged.url)
    expect(page.locator("#form-title")).to_have_text("Kiểm tra đầu vào")
    expect(page.locator("#code")).to_have_value(arranged.short_code)
    box = page.locator(".ans-option").first.bounding_box()
    assert box is not None and box["height"] >= 44  # a thumb's target
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # one column
    _pick_right(page, arranged.form)
    page.click("#send")
    expect(page.locator("#done")).to_contain_text("Đã ghi nhận")
    expect(page.locator("#score")).to_have_text("100")
    rows = _rows(live_server)
    assert len(rows) == 1 and rows[0].attendee_id is not None and rows[0].score == 100.0
    page.reload()
    expect(page.locator("#answered-before")).to_be_visible()
    expect(page.locator("#answer-form")).to_be_hidden()


def test_an_answer_lost_offline_is_sent_again_with_its_nonce(
    live_server: LiveServer, phone: BrowserContext
) -> None:
    arranged = _arrange(live_server)
    page = phone.new_page()
    page.goto(arranged.url)
    _pick_right(page, arranged.form)
    phone.set_offline(True)
    page.click("#send")
    expect(page.locator("#send-error")).to_contain_text("Mất kết nối")
    key = f"diemcau.answer.nonce.{arranged.form.form_id}"
    nonce = page.evaluate(f"localStorage.getItem('{key}')")
    assert nonce and _rows(live_server) == []
    phone.set_offline(False)
    page.click("#send")
    expect(page.locator("#done")).to_contain_text("Đã ghi nhận")
    rows = _rows(live_server)
    assert [(r.nonce, r.attendee_id) for r in rows] == [(nonce, None)]
    assert rows[0].device == page.evaluate("localStorage.getItem('diemcau.device')")


def test_the_follow_page_offers_the_open_form(live_server: LiveServer,
                                              phone: BrowserContext) -> None:
    arranged = _arrange(live_server)
    with Session(live_server.app.state.engine) as db:
        form = db.get(TrainingForm, arranged.form.form_id)
        assert form is not None
        cid = form.conference_id
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        r = http.post("/api/v1/auth/token", data={"username": "admin",
                                                  "password": ADMIN_PASSWORD})
        link = http.get(f"/api/v1/conferences/{cid}/follow-link", headers={
            "Authorization": f"Bearer {r.json()['access_token']}"}).json()["url"]
    page = phone.new_page()
    page.goto(link)
    card = page.locator("#form-card")
    expect(card).to_contain_text("Phiếu kiểm tra đầu vào đang mở")
    expect(page.locator("#form-link")).to_have_attribute(
        "href", f"/a/-?form={arranged.form.form_id}")  # no site known: the personal code
    code = arranged.url.rsplit("/", 1)[1]
    page.goto(f"{link}?s={code}")
    expect(page.locator("#form-link")).to_have_attribute("href", f"/a/{code}")
    page.goto(link)  # remembered on this phone
    expect(page.locator("#form-link")).to_have_attribute("href", f"/a/{code}")
    page.click("#form-link")
    expect(page.locator("#form-title")).to_have_text("Kiểm tra đầu vào")
