"""Too many wrong passwords: the person sees the portal's lockout page; an administrator lifts the
lock on the staff page, and the person logs in (issue 13, defect 4). Every page is checked by axe."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import try_login
from tests.portal.conftest import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_locked_out_user_is_told_and_an_admin_unlocks_them(page, live_server, presets, browser):
    base = live_server.url
    for _ in range(5):
        try_login(page, base, "user1", "not-the-password")
    expect(page.get_by_role("heading", name="Too many failed logins")).to_be_visible()
    # Until the fifth failure's time + the cool-off, as a local time with its zone: 15 minutes from now.
    expect(page.get_by_role("alert")).to_contain_text(
        re.compile(r"paused until \d\d:\d\d \(Asia/Shanghai\), in about 15 minutes,"))
    try_login(page, base, "user1", DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Too many failed logins")).to_be_visible()

    admin = browser.new_context().new_page()
    try_login(admin, base, "admin", DEMO_PASSWORD)
    admin.get_by_role("link", name="Locked logins").click()
    row = admin.get_by_role("row").filter(has_text="user1")
    expect(row).to_contain_text("Account")
    row.get_by_role("button", name="Unlock").click()
    expect(admin.get_by_text("user1 can log in again.")).to_be_visible()
    expect(admin.get_by_text("No account or address is locked out.")).to_be_visible()

    try_login(page, base, "user1", DEMO_PASSWORD)
    expect(page).to_have_url(re.compile(r"/services/$"))
