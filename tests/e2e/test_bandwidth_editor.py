"""The bandwidth editor in a real Chromium: a preview and a second, explicit confirmation before
anything reaches IES; amounts read the way people type them, with the reading shown live beside
the box; the chart's suggestion arriving with the figures it came from; a read-only page for a
viewer; huge amounts refused, not crashing the editor or the order wizard."""

import re

import pytest
from playwright.sync_api import expect

from portal.operations.models import Operation, OperationKind
from portal.services.models import Service
from tests.e2e.helpers import log_in, switch_to_chinese
from tests.e2e.test_order_flow import fill_form, open_site2dc_form, order_values

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONNECTION = "VPNS2S201705061433"  # user1's preset connection (nbitest_11)
SERVICE_ID = "8hiqoNgCSZmrlD1MyROJbg"


def open_editor(page, base: str, username: str, service_id: str) -> None:
    log_in(page, base, username)
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    page.goto(f"{base}/services/{service_id}/bandwidth/")


def test_it_shows_the_change_and_asks_again_before_sending_it(page, live_server, own_tenant, start_worker):
    start_worker()
    base = live_server.url
    open_editor(page, base, "own1", own_tenant.service_id)
    service = Service.objects.get(ies_service_id=own_tenant.service_id)
    old = service.bandwidth_kbps // 1000
    new = old + 20
    card = page.locator("#bandwidth-card")
    card.get_by_role("textbox", name="New bandwidth").fill(str(new))
    card.get_by_role("button", name="Review the change").click()

    # The confirmation: old → new, the effect over the window, how long IES usually takes. Nothing sent.
    expect(card.get_by_role("heading", name=f"Confirm the new bandwidth of {own_tenant.service_name}")).to_be_visible()
    expect(card.get_by_test_id("bandwidth-preview")).to_have_text(f"{old} Mbit/s → {new} Mbit/s")
    expect(card.get_by_test_id("expected-duration")).to_contain_text(
        "a first estimate, the portal learns from each change")
    expect(card.get_by_test_id("window-figures")).to_contain_text("Last 7 days")
    expect(card).to_contain_text("Nothing has been sent to IES yet.")
    assert not Operation.objects.exists()

    # "Edit" goes back to the form with the value kept; a second review, then the confirmation.
    card.get_by_role("button", name="Edit").click()
    expect(card.get_by_role("textbox", name="New bandwidth")).to_have_value(str(new))
    assert not Operation.objects.exists()
    card.get_by_role("button", name="Review the change").click()
    with page.expect_navigation(url=re.compile(r"/operations/\d+/$")):
        card.get_by_role("button", name="Confirm change").click()
    expect(page.locator(".facts")).to_contain_text(f"{old} Mbit/s → {new} Mbit/s")
    assert Operation.objects.filter(kind=OperationKind.MODIFY).count() == 1
    expect(page.get_by_test_id("op-phase")).to_have_text("IES confirms the new bandwidth", timeout=30_000)

    # The next change is estimated from this one.
    page.goto(f"{base}/services/{own_tenant.service_id}/bandwidth/")
    card.get_by_role("textbox", name="New bandwidth").fill(str(new + 10))
    card.get_by_role("button", name="Review the change").click()
    expect(card.get_by_test_id("expected-duration")).to_contain_text("learned from 1 earlier change.")


def test_the_preview_works_without_javascript(browser, live_server, own_tenant):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        base = live_server.url
        open_editor(page, base, "own1", own_tenant.service_id)
        page.get_by_role("textbox", name="New bandwidth").fill("1,000")
        page.get_by_role("button", name="Review the change").click()
        expect(page.get_by_test_id("bandwidth-preview")).to_contain_text("→ 1 Gbit/s")
        assert not Operation.objects.exists()
        with page.expect_navigation(url=re.compile(r"/operations/\d+/$")):
            page.get_by_role("button", name="Confirm change").click()
        assert Operation.objects.get().after["bandwidth_kbps"] == 1_000_000
    finally:
        context.close()


def test_amounts_are_read_the_way_people_type_them_with_the_reading_beside_the_box(page, live_server, presets):
    open_editor(page, live_server.url, "user1", SERVICE_ID)
    box = page.get_by_role("textbox", name="New bandwidth")
    reading = page.get_by_test_id("bandwidth-reading")
    expect(reading).to_have_attribute("aria-live", "polite")

    box.fill("1,000")  # was read as 1 Mbit/s
    expect(reading).to_have_text("= 1 Gbit/s")
    box.fill("1,5")
    expect(reading).to_contain_text("“1,5” is ambiguous: here “,” separates thousands")
    box.fill("500 kbps")  # the unit typed wins over the one chosen
    expect(reading).to_have_text("At least 1 Mbit/s is allowed; you entered 500 kbit/s.")
    box.fill("1.5")
    expect(reading).to_have_text("= 1.5 Mbit/s. Bandwidth goes in steps of 1 Mbit/s: try 1 Mbit/s or 2 Mbit/s.")
    box.fill("1e3")
    expect(reading).to_have_text("= 1 Gbit/s")
    page.locator("#id_bandwidth_1").select_option("kbit/s")
    expect(reading).to_have_text("= 1 Mbit/s")

    box.fill("1 000")
    page.locator("#id_bandwidth_1").select_option("Mbit/s")
    page.get_by_role("button", name="Review the change").click()
    expect(page.get_by_test_id("bandwidth-preview")).to_contain_text("→ 1 Gbit/s")
    assert not Operation.objects.exists()


def test_amounts_in_chinese_group_thousands_with_a_comma_too(page, live_server, presets):
    log_in(page, live_server.url, "user1")
    switch_to_chinese(page)
    page.goto(f"{live_server.url}/services/{SERVICE_ID}/bandwidth/")
    page.locator("#id_bandwidth_0").fill("1,000")
    expect(page.get_by_test_id("bandwidth-reading")).to_have_text("= 1 Gbit/s")


def test_the_order_wizard_reads_amounts_the_same_way(page, live_server, presets):
    log_in(page, live_server.url, "user16")
    open_site2dc_form(page, live_server.url)
    page.locator("#id_Bandwidth_0").fill("1,000")
    expect(page.locator("#id_Bandwidth_reading")).to_have_text("= 1 Gbit/s")


@pytest.mark.parametrize("amount", ["1e306", "9" * 10_000])
def test_a_huge_amount_is_refused_not_crashing_the_editor(page, live_server, presets, amount):
    open_editor(page, live_server.url, "user1", SERVICE_ID)
    page.get_by_role("textbox", name="New bandwidth").fill(amount)
    page.get_by_role("button", name="Review the change").click()
    expect(page.locator("#field-bandwidth .field-error")).to_contain_text("At most 10 Gbit/s is allowed")
    assert not Operation.objects.exists()


def test_a_huge_amount_is_refused_not_crashing_the_wizard(page, live_server, presets):
    log_in(page, live_server.url, "user16")
    open_site2dc_form(page, live_server.url)
    fill_form(page, {**order_values(), "Bandwidth_0": "1e306"})
    page.get_by_role("button", name="Next: review").click()
    expect(page.locator("#field-Bandwidth .field-error")).to_contain_text("At most 10 Gbit/s is allowed")


def test_a_digit_of_another_script_is_refused(page, live_server, presets):
    open_editor(page, live_server.url, "user1", SERVICE_ID)
    page.get_by_role("textbox", name="New bandwidth").fill("٣")  # Arabic-Indic three: was read as 3
    page.get_by_role("button", name="Review the change").click()
    expect(page.locator("#field-bandwidth .field-error")).to_contain_text("Type the digits 0–9")


def test_the_charts_suggestion_arrives_with_the_figures_it_came_from(page, live_server, presets):
    log_in(page, live_server.url, "user1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    page.goto(f"{live_server.url}/traffic/{CONNECTION}/?range=24h")
    # traffic.js asks for the figures again as it draws: read them once the chart is drawn.
    expect(page.locator("#traffic")).to_have_attribute("data-drawn", "true")
    scale = page.locator("#traffic-scale")
    expect(scale).to_be_visible()
    explanation = page.locator("[data-figure=suggestion]").inner_text()
    p95s = {page.locator("[data-figure=p95-in]").inner_text().strip(),
            page.locator("[data-figure=p95-out]").inner_text().strip()}
    suggested = re.search(r"Scale bandwidth to (.+)$", scale.inner_text()).group(1)
    scale.click()

    expect(page.get_by_test_id("suggestion")).to_contain_text(f"Suggested from the traffic chart: {suggested}.")
    expect(page.get_by_test_id("suggestion")).to_contain_text(explanation)
    figures = page.get_by_test_id("window-figures")
    expect(figures).to_contain_text("Last 24 hours: peak")
    p95 = re.search(r"p95 (\S+ [kMG]?bit/s)", figures.inner_text()).group(1)
    assert p95 in p95s, (p95, p95s)
    expect(page.get_by_role("textbox", name="New bandwidth")).to_have_value(suggested.split()[0])

    # The window stays with the change: the confirmation speaks of the same 24 hours.
    page.get_by_role("button", name="Review the change").click()
    expect(page.get_by_test_id("utilisation-preview")).to_contain_text("Last 24 hours at the new size")


def test_a_viewer_sees_the_bandwidth_and_why_it_cannot_be_changed(page, live_server, own_tenant, django_user_model):
    from portal.tenants.models import Membership, Role
    from tests.fixtures_portal import DEMO_PASSWORD

    viewer = django_user_model.objects.create_user("view1", password=DEMO_PASSWORD)
    Membership.objects.create(user=viewer, tenant=own_tenant.tenant, role=Role.VIEWER)
    own_tenant.login("own1").get(f"/services/{own_tenant.service_id}/")  # the mirror learns the service
    kbps = Service.objects.get(ies_service_id=own_tenant.service_id).bandwidth_kbps

    open_editor(page, live_server.url, "view1", own_tenant.service_id)
    expect(page.get_by_role("heading", level=1, name=f"Bandwidth of {own_tenant.service_name}")).to_be_visible()
    expect(page.get_by_test_id("current-bandwidth")).to_have_text(f"{kbps // 1000} Mbit/s")
    expect(page.get_by_test_id("read-only-notice")).to_have_text(
        "You have read-only access to this tenant: you can see the bandwidth but not change it. "
        "Ask a member of your team (own1, own2) to change it.")
    expect(page.get_by_role("textbox")).to_have_count(0)
    expect(page.locator("#bandwidth-card").get_by_role("button")).to_have_count(0)
    page.locator("#bandwidth-card").get_by_role("link", name=f"Back to {own_tenant.service_name}").click()
    expect(page).to_have_url(re.compile(rf"/services/{own_tenant.service_id}/$"))


def test_the_bandwidth_page_has_a_main_heading(page, live_server, presets):
    open_editor(page, live_server.url, "user1", SERVICE_ID)
    expect(page.get_by_role("heading", level=1)).to_have_text("Bandwidth of s2s_201705061433")


def test_figures_from_the_cache_say_so_while_ies_is_unavailable(page, live_server, presets, sim):
    import time

    from portal.traffic.selectors import epoch_label
    from tests.conftest import clear_session_cache
    from tests.e2e.test_traffic import read_chart_at

    clear_session_cache()  # no preview of an earlier test: this one is made while IES fails
    read = int(time.time()) - 900
    read_chart_at({"range": "7d"}, read)  # the editor's window: the last 7 days by the hour
    log_in(page, live_server.url, "user1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    sim.add_fault(kind="error", status=503, prefix="/rest/cloudvpnwatch")
    page.goto(f"{live_server.url}/services/{SERVICE_ID}/bandwidth/")
    expect(page.get_by_test_id("window-figures")).to_contain_text("Last 7 days: peak")
    cached = page.get_by_test_id("cached-figures")
    expect(cached).to_contain_text("IES is not answering: these figures come from the traffic last read from IES, "
                                   f"at {epoch_label(read, seconds=True)}")
    expect(cached).to_contain_text("That is older than usual.")
