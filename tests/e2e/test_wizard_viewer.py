"""A member made a viewer while filling the creation wizard: the next step is refused with the
reason and what to do, and what they typed is still there once the role is given back."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from portal.catalog.models import Order
from portal.staff.services import membership_set_role
from portal.tenants.models import Membership, Role
from tests.e2e.test_login_and_services import log_in
from tests.e2e.test_order_flow import fill_form, open_site2dc_form, order_values

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def set_role(username: str, role: str) -> None:
    """What an admin does on the staff pages, through the same service."""
    admin = get_user_model().objects.get(username="admin")
    membership_set_role(membership=Membership.objects.get(user__username=username), role=role, actor=admin,
                        request=None)


def test_a_member_made_viewer_mid_wizard_sees_why_and_loses_nothing(page, live_server, presets):
    log_in(page, live_server.url, "user16")
    open_site2dc_form(page, live_server.url)
    form_url = page.url
    values = {**order_values(), "description": "typed before the role changed"}
    fill_form(page, values, unit="Gbit/s")
    page.locator("#id_Bandwidth_0").fill("1")

    set_role("user16", Role.VIEWER)
    page.get_by_role("button", name="Next: review").click()

    # The portal's 403 page: why (the role, the tenant) and what to do, and that nothing typed is lost.
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    reason = page.get_by_role("alert")
    expect(reason).to_contain_text("read-only")
    expect(reason).to_contain_text("nbitest_16")
    expect(reason).to_contain_text("What you entered in this order is kept")
    expect(page.locator(".topbar")).to_contain_text("read-only")
    assert not Order.objects.exists()

    # The role given back, the same order page has every value as typed.
    set_role("user16", Role.MEMBER)
    page.goto(form_url)
    for name in ("service_name", "CloudVpnName", "VPC_ID", "VNI", "CPE_A_ESN", "cidr", "description"):
        expect(page.locator(f"#id_{name}")).to_have_value(values[name])
    expect(page.locator("#id_Bandwidth_0")).to_have_value("1")
    expect(page.locator("#id_Bandwidth_1")).to_have_value("Gbit/s")
    page.get_by_role("button", name="Next: review").click()
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("1 Gbit/s (1,000,000 kbit/s)")


def test_a_member_made_viewer_on_the_review_cannot_place_the_order_and_keeps_it(page, live_server, presets):
    log_in(page, live_server.url, "user16")
    open_site2dc_form(page, live_server.url)
    values = order_values()
    fill_form(page, values)
    page.get_by_role("button", name="Next: review").click()
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    review_url = page.url

    set_role("user16", Role.VIEWER)
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("What you entered in this order is kept")
    expect(page.get_by_text("Your order was not placed")).to_be_visible()
    assert not Order.objects.exists()

    set_role("user16", Role.MEMBER)
    page.goto(review_url)
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text(values["CloudVpnName"])
    with page.expect_navigation(url=re.compile(r"/operations/\d+/$")):
        page.get_by_role("button", name="Place order").click()
    assert Order.objects.count() == 1
