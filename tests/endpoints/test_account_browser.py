"""The reset link journey in a real browser: the central office makes a link, the owner
sets a new password once, then logs in with it."""

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import Role, User
from app.db import create_db_engine
from app.security import hash_password
from tests.browser import LiveServer
from tests.conftest import ADMIN_PASSWORD

NEW = "cau-truyen-hinh-2026"


def _accounts(live_server: LiveServer) -> None:
    engine = create_db_engine(live_server.settings.database_url, pool_size=1)
    with Session(engine) as db:
        accounts_service.ensure_admin(db, username="admin", password=ADMIN_PASSWORD)
        accounts_service.add_user(db, User(username="hcm", full_name="Lê Thị Hồng",
                                           password_hash=hash_password("hcm-password"),
                                           role=Role.coordinator))
    engine.dispose()


def _login(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


@pytest.mark.browser
def test_reset_link_sets_a_new_password_once(
    live_server: LiveServer, page: Page, browser: Browser
) -> None:
    _accounts(live_server)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, live_server.url, "admin", ADMIN_PASSWORD)
    page.goto(f"{live_server.url}/accounts")
    row = page.locator("tr[data-account='hcm']")
    row.get_by_role("button", name="Tạo liên kết đặt lại mật khẩu").click()
    link = page.get_by_role("textbox", name="Liên kết đặt lại mật khẩu").input_value()
    assert link.startswith(f"{live_server.url}/password-reset/")

    owner = browser.new_context(locale="vi-VN").new_page()
    owner.goto(link)
    expect(owner.get_by_text("Tài khoản: hcm")).to_be_visible()
    owner.locator("input[name=new_password]").fill("matkhau123")
    owner.locator("input[name=confirm_password]").fill("matkhau123")
    owner.get_by_role("button", name="Đặt mật khẩu").click()
    expect(owner.get_by_role("alert")).to_contain_text("quá phổ biến")
    owner.locator("input[name=new_password]").fill(NEW)
    owner.locator("input[name=confirm_password]").fill(NEW)
    owner.get_by_role("button", name="Đặt mật khẩu").click()
    expect(owner.get_by_role("status")).to_contain_text("Đã đặt mật khẩu mới")
    owner.goto(link)
    expect(owner.get_by_role("alert")).to_contain_text("đã dùng hoặc đã hết hạn")
    _login(owner, live_server.url, "hcm", NEW)
    expect(owner).not_to_have_url(f"{live_server.url}/login")
    owner.context.close()
    assert errors == []
