"""Real Chromium: the bank editor loads under the strict policy (no violation, no script
error), its script adds an option and a question, hides options of a rating question,
and saving stores what was typed."""

import httpx
import pytest
from playwright.sync_api import Page, expect

from app.db import local_today
from tests.browser import LiveServer
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser
TODAY = local_today().isoformat()
WATCH = """window.__violations = [];
document.addEventListener("securitypolicyviolation",
  e => window.__violations.push(e.violatedDirective + " " + e.blockedURI));"""


def _api(base: str) -> httpx.Client:
    http = httpx.Client(base_url=base, timeout=30)
    r = http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return http


def test_the_bank_editor_adds_and_saves_under_the_policy(
    live_server: LiveServer, page: Page
) -> None:
    http = _api(live_server.url)
    cid = http.post("/api/v1/conferences", json={
        "title": "Hội nghị tập huấn", "starts_on": TODAY, "ends_on": TODAY}).json()["id"]
    bank = http.post(f"/api/v1/conferences/{cid}/banks", json={
        "title": "Kiểm tra", "questions": [{"kind": "single", "text": "Thủ đô?", "options": [
            {"label": "Hà Nội", "correct": True}, {"label": "Huế"}, {"label": "Đà Nẵng"}]}]},
    ).json()["id"]
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.add_init_script(WATCH)
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.goto(f"{live_server.url}/banks/{bank}")

    first = page.locator(".question[data-q='1']")
    first.get_by_role("button", name="Thêm phương án").click()
    first.locator("input[name='q-1-opt-6']").fill("Cần Thơ")
    second = page.locator(".question[data-q='2']")
    second.locator("select").select_option("rating")
    expect(second.locator(".options")).to_be_hidden()
    page.get_by_role("button", name="Thêm câu hỏi").click()
    added = page.locator(".question[data-q='4']")
    expect(added.locator("legend")).to_have_text("Câu 4")
    added.locator("select").select_option("multi")
    added.locator("textarea[name='q-4-text']").fill("Số chẵn?")
    added.locator("input[name='q-4-opt-1']").fill("2")
    added.locator("input[name='q-4-opt-2']").fill("3")
    added.locator("input[name='q-4-opt-3']").fill("4")
    added.locator("input[name='q-4-correct'][value='1']").check()
    added.locator("input[name='q-4-correct'][value='3']").check()
    page.get_by_role("button", name="Lưu bộ câu hỏi").click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu bộ câu hỏi.")

    saved = http.get(f"/api/v1/banks/{bank}").json()
    http.close()
    assert [(q["kind"], q["text"]) for q in saved["questions"]] == [
        ("single", "Thủ đô?"), ("multi", "Số chẵn?")]
    assert [o["label"] for o in saved["questions"][0]["options"]][-1] == "Cần Thơ"
    assert [o["letter"] for o in saved["questions"][1]["options"] if o["correct"]] == ["A", "C"]
    assert page.evaluate("window.__violations") == [] and errors == []
