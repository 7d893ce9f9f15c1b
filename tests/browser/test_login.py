from __future__ import annotations

from playwright.sync_api import Page, expect

DEMO_PASSWORD = "Demo-pass-2026"


def test_admin_signs_in_through_the_real_page_on_a_tablet(page: Page, live_server, shot):
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()
    shot(page, "desk")
    assert page.evaluate("document.documentElement.scrollWidth") <= 768


def test_wrong_password_shows_a_message_on_a_phone(phone_page: Page, live_server):
    phone_page.goto(live_server + "/login")
    phone_page.get_by_label("用户名").fill("admin")
    phone_page.get_by_label("密码").fill("wrong-password-1")
    phone_page.get_by_role("button", name="登录").click()
    expect(phone_page.get_by_role("alert")).to_contain_text("用户名或密码不正确")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390


def test_english_switch_in_the_browser(page: Page, live_server):
    page.goto(live_server + "/login")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
