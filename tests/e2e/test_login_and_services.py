import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import log_in, switch_to_chinese
from tests.portal.services.mirroring import presets

__all__ = ["presets"]  # the presets mirrored, as a worker leaves them: pages read the mirror only

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_user1_logs_in_and_sees_their_service(page, live_server, presets):
    log_in(page, live_server.url, "user1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="s2s_201705061433")
    expect(row).to_contain_text("VPNS2S201705061433")
    expect(row).to_contain_text("Mbit/s")
    expect(page.locator(".tenant")).to_have_text("nbitest_11")


def test_the_page_switches_to_chinese(page, live_server, presets):
    log_in(page, live_server.url, "user2")
    switch_to_chinese(page)
    expect(page.get_by_role("heading", name="我的业务")).to_be_visible()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
