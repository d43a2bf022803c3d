"""What many browser tests do on the way to what they test: log in, switch the page to Chinese."""

import re

from playwright.sync_api import expect

from tests.fixtures_portal import DEMO_PASSWORD


def submit_login(page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Fill and send the login form of the page in the browser (in English)."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def try_login(page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """From the login page itself; what follows is the test's to check (a lockout, a busy page…)."""
    page.goto(base + "/login/")
    submit_login(page, username, password)


def log_in(page, base: str, username: str) -> None:
    """As a person does: a tenant page sends them to the login page, which sends them on."""
    page.goto(base + "/services/")
    expect(page).to_have_url(re.compile(r"/login/"))
    submit_login(page, username)


def switch_to_chinese(page) -> None:
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
