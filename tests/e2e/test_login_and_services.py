import re

import pytest
from playwright.sync_api import expect

from tests.portal.conftest import DEMO_PASSWORD
from tests.portal.services.mirroring import presets

__all__ = ["presets"]  # the presets mirrored, as a worker leaves them: pages read the mirror only

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, base: str, username: str) -> None:
    page.goto(base + "/services/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_user1_logs_in_and_sees_their_service(page, live_server, presets):
    log_in(page, live_server.url, "user1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="s2s_201705061433")
    expect(row).to_contain_text("VPNS2S201705061433")
    expect(row).to_contain_text("Mbit/s")
    expect(page.locator(".tenant")).to_have_text("nbitest_11")


def test_the_page_switches_to_chinese(page, live_server, presets):
    log_in(page, live_server.url, "user2")
    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("heading", name="我的业务")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
