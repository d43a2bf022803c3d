"""The portal's error pages in a real Chromium, DEBUG off: the reason, what happened to the
request, and a way back, inside the portal's layout."""

import re

import pytest
from playwright.sync_api import expect

from portal.catalog.models import Order
from portal.tenants.models import Membership, Role
from tests.e2e.helpers import log_in, submit_login, switch_to_chinese
from tests.e2e.test_order_flow import open_site2dc_form
from tests.portal.conftest import DEMO_PASSWORD
from tests.portal.test_error_pages import write_lock_held

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _debug_off(settings):
    settings.DEBUG = False


def test_a_member_demoted_mid_order_sees_why_and_that_nothing_was_ordered(page, live_server, own_tenant):
    base = live_server.url
    log_in(page, base, "own1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    open_site2dc_form(page, base)
    page.get_by_label("Service name").fill("demoted_order")

    # Meanwhile an administrator makes them a viewer.
    Membership.objects.filter(tenant=own_tenant.tenant, user__username="own1").update(role=Role.VIEWER)
    page.get_by_role("button", name="Next: review").click()

    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(
        f"Your role in tenant {own_tenant.name} is read-only (viewer): you can look but not change or order. "
        "Ask a member of your team or a portal administrator.")
    expect(page.get_by_text("Your order was not placed: nothing was sent to IES.")).to_be_visible()
    expect(page.locator(".topbar .badge", has_text="read-only")).to_be_visible()
    assert not Order.objects.filter(tenant=own_tenant.tenant).exists()

    page.get_by_role("link", name="Back to my services").click()
    expect(page.get_by_role("heading", name="My services")).to_be_visible()


def test_a_missing_page_has_the_portals_layout_and_a_way_back(page, live_server, presets):
    base = live_server.url
    log_in(page, base, "user1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    answer = page.goto(base + "/services/no-such-service/")
    assert answer.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.locator(".tenant")).to_have_text("nbitest_11")  # the header is the portal's
    switch_to_chinese(page)
    expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
    page.get_by_role("link", name="返回我的业务").click()
    expect(page.get_by_role("heading", name="我的业务")).to_be_visible()


def test_a_form_sent_after_the_session_expired_says_what_to_do(page, live_server, presets):
    base = live_server.url
    log_in(page, base, "user1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    page.context.clear_cookies()  # the session and its CSRF cookie expire while the page stays open
    page.get_by_role("button", name="Log out").click()

    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    expect(page.get_by_text("Nothing was sent to IES.")).to_be_visible()
    page.get_by_role("link", name="Log in again").click()
    expect(page).to_have_url(re.compile(r"/login/"))
    submit_login(page, "user1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()


# -- a busy database (issue 13, defect 9) ----------------------------------------------------------


def test_logging_in_while_the_database_is_locked_shows_the_busy_page_then_works(page, live_server, presets):
    base = live_server.url
    page.goto(base + "/login/")
    page.get_by_label("Username").fill("user1")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    with write_lock_held():
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="The portal's database is busy")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("Your change was not saved.")).to_be_visible()
    expect(page.get_by_text("Try again in a minute; if it persists, tell a portal administrator.")).to_be_visible()
    expect(page.locator(".topbar")).to_have_text("CloudVPN Portal")  # the portal's look, without the database

    page.get_by_role("link", name="Back to the portal").click()
    submit_login(page, "user1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()


def test_a_change_sent_in_place_while_the_database_is_locked_shows_the_busy_page_in_place(page, live_server, presets):
    """As the bandwidth editor sends its change: htmx, into a box of the page. The 503 takes the
    page's main part, where it can be read, as a refusal (403) does."""
    log_in(page, live_server.url, "user1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    with write_lock_held():
        page.evaluate("htmx.ajax('POST', '/operations/seen/', {source: document.body, target: '#ops-badge'})")
        expect(page.get_by_role("heading", name="The portal's database is busy")).to_be_visible(timeout=15_000)
    expect(page.locator("#main")).to_contain_text("Your change was not saved.")
    expect(page.locator(".topbar .tenant")).to_have_text("nbitest_11")  # still the portal's page around it
