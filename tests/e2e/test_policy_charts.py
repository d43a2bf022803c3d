"""The preview of the next 7 days on a service's planned changes, in a real Chromium: it draws the past
week's traffic and the planned bandwidth with a legend and a tooltip in the portal's zone, in English
and in Chinese (at a phone's width, without scrolling sideways), and with IES down it draws the plan alone and says why; no CSP violation, axe-clean."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible
from tests.e2e.helpers import log_in, switch_to_chinese
from tests.e2e.test_csp import Watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SERVICE_ID = "8hiqoNgCSZmrlD1MyROJbg"  # user1's preset service (nbitest_11), with a week of traffic


def plan_a_boost(service_id: str, username: str, mbps: int = 250) -> None:
    from portal.policies.services import policy_one_off_create
    from portal.services.models import Service
    from portal.tenants.models import Membership

    service = Service.objects.get(ies_service_id=service_id)
    membership = Membership.objects.get(tenant=service.tenant, user__username=username)
    now = timezone.now()
    policy_one_off_create(membership=membership, service=service, kbps=mbps * 1000, at=now + timedelta(days=1),
                          revert_at=now + timedelta(days=2))


def open_preview(page, base: str, service_id: str, min_width: int = 600):
    page.goto(f"{base}/services/{service_id}/policies/")
    chart = page.locator("#policy-preview")
    expect(chart).to_have_attribute("data-drawn", "true")
    box = chart.locator("canvas").bounding_box()
    assert box is not None and box["width"] >= min_width and box["height"] > 100
    return chart


def test_the_preview_draws_the_week_past_and_the_week_planned(page, live_server, presets):
    base = live_server.url
    plan_a_boost(SERVICE_ID, "user1")
    watch = Watch(page, base)
    log_in(page, base, "user1")
    chart = open_preview(page, base, SERVICE_ID)
    expect(page.get_by_role("region", name="Next 7 days")).to_be_visible()
    legend = chart.locator(".u-legend")
    for name in ("Inbound", "Outbound", "Bandwidth in force", "Planned bandwidth", "Now"):
        expect(legend).to_contain_text(name)
    assert re.search(r"\((kbit|Mbit|Gbit)/s\)$", page.evaluate("window.policyCharts.charts()[0].plot.axes[1].label"))
    expect(chart.get_by_test_id("chart-summary")).to_have_text(re.compile(
        r"^Planned: 250 Mbit/s from \w{3} \d{4}-\d\d-\d\d \d\d:\d\d CST, \d+ (M|G)bit/s from \w{3} .* CST\.$"))
    # The tooltip over the coming days: the planned size, at a time of the portal's zone.
    over = chart.locator(".u-over")
    area = over.bounding_box()
    page.mouse.move(area["x"] + area["width"] * 0.8, area["y"] + area["height"] * 0.5)
    tip = chart.locator(".policy-chart-tip")
    expect(tip).to_be_visible()
    expect(tip.locator(".policy-chart-tip-time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d CST$"))
    expect(tip).to_contain_text(re.compile(r"Planned bandwidth: \d+ [MG]bit/s"))
    page.mouse.move(0, 0)
    assert_accessible(page)
    watch.assert_clean()


def test_in_chinese_on_a_phone_the_preview_speaks_chinese_and_fits(page, live_server, presets):
    base = live_server.url
    plan_a_boost(SERVICE_ID, "user1")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, base, "user1")
    switch_to_chinese(page)
    chart = open_preview(page, base, SERVICE_ID, min_width=200)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    legend = chart.locator(".u-legend")
    expect(legend).to_contain_text("入方向")
    expect(legend).to_contain_text("生效带宽")
    assert page.evaluate("window.policyCharts.charts()[0].plot.axes[1].label").startswith("速率")
    # The days of the week and the times as the rest of the Chinese page writes them.
    expect(chart.get_by_test_id("chart-summary")).to_contain_text(re.compile(r"周[一二三四五六日] \d{4}-\d\d-\d\d \d\d:\d\d CST"))
    assert_accessible(page)


def test_with_ies_down_the_plan_is_drawn_alone_and_the_reason_said(page, live_server, own_tenant, sim):
    base = live_server.url
    plan_a_boost(own_tenant.service_id, "own1", mbps=300)
    sim.add_fault(kind="error", status=503, prefix="/rest/cloudvpnwatch")
    watch = Watch(page, base)
    log_in(page, base, "own1")
    chart = open_preview(page, base, own_tenant.service_id)
    expect(chart.get_by_test_id("chart-note").first).to_contain_text("No traffic is shown: it could not be read from IES.")
    legend = chart.locator(".u-legend")
    expect(legend).to_contain_text("Planned bandwidth")
    expect(legend).not_to_contain_text("Inbound")
    expect(chart.get_by_test_id("chart-summary")).to_contain_text("Planned: 300 Mbit/s from ")
    assert_accessible(page)
    watch.assert_clean()
