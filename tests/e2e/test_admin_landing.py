"""The staff user `admin` (no tenant of their own) lands on the staff pages, without the tenant
menu, and gets the tenant's pages only while seeing as a tenant."""

import re

import pytest
from playwright.sync_api import expect

from portal.tenants.models import Tenant
from tests.e2e.helpers import try_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TENANT_LINKS = ("My services", "Order", "Operations", "Traffic")


def test_admin_lands_on_the_staff_pages_and_sees_tenant_pages_only_as_a_tenant(page, live_server, presets):
    base = live_server.url
    try_login(page, base, "admin")

    expect(page.get_by_role("heading", name="Tenants", exact=True)).to_be_visible()
    expect(page.get_by_text("No tenant yet")).to_have_count(0)
    nav = page.get_by_role("navigation", name="Main")
    for name in TENANT_LINKS:
        expect(nav.get_by_role("link", name=name, exact=True)).to_have_count(0)
    expect(nav.get_by_role("link", name="Staff", exact=True)).to_be_visible()

    # The brand link leads home, which for them is the staff pages too.
    page.locator(".brand").click()
    expect(page).to_have_url(re.compile(r"/staff/tenants/$"))

    tenant = Tenant.objects.get(name="nbitest_16")
    page.goto(f"{base}/staff/tenants/{tenant.pk}/")
    page.get_by_role("button", name="See as this tenant").click()
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    for name in TENANT_LINKS:
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()

    page.get_by_role("button", name="Stop seeing as this tenant").click()
    page.locator(".brand").click()
    expect(page.get_by_role("heading", name="Tenants", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="My services", exact=True)).to_have_count(0)


def test_the_page_has_a_favicon_and_favicon_ico_finds_it(page, live_server):
    base = live_server.url
    page.goto(base + "/login/")
    href = page.locator('link[rel="icon"]').get_attribute("href")
    assert href.endswith("favicon.svg")
    icon = page.request.get(base + href)
    assert icon.ok and icon.headers["content-type"].startswith("image/svg")
    legacy = page.request.get(base + "/favicon.ico")  # what browsers ask for on their own
    assert legacy.ok and legacy.url.endswith("favicon.svg")
