"""Scenario 2 of the deck in a real Chromium: as user2 (tenant nbitest_12) a tenant finds
site2dc_201705071132 with the search box, raises its bandwidth in place from the detail page, sees
IES confirm the new value, and later deletes it (typing its name), after which it leaves the list.

Deleting a preset service would change the session's simulator, which other tests rely on: this
test gives nbitest_12 a simulator of its own, and its worker talks to that one.
"""

import re

import pytest
from playwright.sync_api import expect

from portal.operations.models import Operation, OperationKind, OperationState
from portal.services.models import Service
from portal.tenants.models import Tenant
from tests.e2e.test_login_and_services import log_in
from tests.fixtures_simulator import start_simulator
from tests.portal.services.mirroring import mirror_tenants

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TENANT = "nbitest_12"
SERVICE = "site2dc_201705071132"
SERVICE_ID = "9LbuAd11Qe-cuGnVONz6qw"
CONNECTION = "0S2DC201705071132"


@pytest.fixture
def own_simulator(tmp_path, presets):
    """A simulator for nbitest_12 alone, at the session's speed (a change takes about a second)."""
    handle = start_simulator(tmp_path / "own-sim", time_scale=600)
    try:
        tenant = Tenant.objects.get(name=TENANT)
        credentials = handle.tenants[TENANT]
        tenant.ies_base_url = handle.base_url
        tenant.set_credentials(token=credentials["token"], bearer=credentials["bearer"])
        tenant.ies_tenant_id = credentials["tenant_id"]
        tenant.save()
        mirror_tenants(tenant)  # from its own simulator, as the worker's refresh would
        yield handle
    finally:
        handle.stop()


def find_in_list(page, text: str) -> None:
    """Type into the list's search box; the results update in place (HTMX), the URL follows."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My services").click()
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
    page.get_by_role("searchbox", name="Search").fill(text)
    expect(page).to_have_url(re.compile(r"[?&]q=" + re.escape(text)))


def test_user2_scales_and_then_deletes_their_site2dc(page, live_server, own_simulator, start_worker):
    start_worker(env={"IES_BASE_URL": own_simulator.base_url})
    base = live_server.url
    log_in(page, base, "user2")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()

    # Find it with the search box (the list narrows in place), open it.
    find_in_list(page, "201705071132")
    results = page.locator("#results")
    row = results.get_by_role("row").filter(has_text=SERVICE)
    expect(row).to_contain_text(CONNECTION)
    expect(row).to_contain_text("60 Mbit/s")
    expect(results.locator("tbody tr")).to_have_count(1)
    row.get_by_role("link", name=SERVICE).click()
    expect(page.get_by_role("heading", name=SERVICE, exact=True)).to_be_visible()
    expect(page.locator("#current-bandwidth")).to_have_text("60 Mbit/s")

    # The bandwidth editor opens in place, on the same page.
    detail_url = page.url
    page.get_by_role("link", name="Change bandwidth").click()
    editor = page.locator("#bandwidth-editor")
    expect(editor.get_by_role("heading", name=f"Change the bandwidth of {SERVICE}")).to_be_visible()
    assert page.url == detail_url
    editor.get_by_role("textbox", name="New bandwidth").fill("100")
    editor.locator("select").select_option("Mbit/s")
    # First the confirmation, in place: nothing reaches IES until it is confirmed.
    editor.get_by_role("button", name="Review the change").click()
    expect(editor.get_by_test_id("bandwidth-preview")).to_have_text("60 Mbit/s → 100 Mbit/s")
    assert page.url == detail_url
    assert not Operation.objects.exists()
    with page.expect_navigation(url=re.compile(r"/operations/\d+/$")):
        editor.get_by_role("button", name="Confirm change").click()

    # The operation page follows IES by itself until IES confirms the new value.
    expect(page.get_by_role("heading", name=f"Change bandwidth: {SERVICE}")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("60 Mbit/s → 100 Mbit/s")
    page.evaluate("window.__untouched = 1")
    expect(page.get_by_test_id("op-phase")).to_have_text("IES confirms the new bandwidth", timeout=30_000)
    expect(page.locator("#op-status")).to_contain_text("IES now reports a bandwidth of 100 Mbit/s.")
    assert page.evaluate("window.__untouched") == 1
    remote = own_simulator.call("GET", f"/servicemanager/v1/services/{SERVICE_ID}", TENANT).json()
    assert "100000" in str(remote), "IES itself has the new bandwidth"

    # Later: delete it. A wrong name is refused; the exact name goes through.
    find_in_list(page, SERVICE)
    page.locator("#results").get_by_role("link", name=SERVICE).click()
    expect(page.locator("#current-bandwidth")).to_have_text("100 Mbit/s")
    page.get_by_role("link", name="Delete", exact=True).click()
    expect(page.get_by_role("heading", name=f"Delete {SERVICE}?")).to_be_visible()
    confirm = page.get_by_role("textbox", name=re.compile(r"to confirm"))
    confirm.fill(SERVICE.upper())
    page.get_by_role("button", name="Delete this service").click()
    expect(page.get_by_role("alert")).to_contain_text("Type the service's name exactly as shown to confirm")
    assert not Operation.objects.filter(kind=OperationKind.DELETE).exists()
    page.get_by_role("textbox", name=re.compile(r"to confirm")).fill(SERVICE)
    with page.expect_navigation(url=re.compile(r"/operations/\d+/$")):
        page.get_by_role("button", name="Delete this service").click()
    expect(page.get_by_test_id("op-phase")).to_have_text("The service is deleted", timeout=30_000)

    # It has left the list (the search finds nothing, and it is not among the tenant's services).
    find_in_list(page, SERVICE)
    expect(page.locator("#results")).to_contain_text("No service matches these filters.")
    page.goto(base + "/services/")
    expect(page.get_by_role("link", name=SERVICE)).to_have_count(0)

    assert [op.state for op in Operation.objects.order_by("created_at")] == [OperationState.SUCCEEDED] * 2
    assert Service.objects.get(ies_service_id=SERVICE_ID).gone_at is not None
    assert own_simulator.call("GET", f"/servicemanager/v1/services/{SERVICE_ID}", TENANT).status_code == 404
