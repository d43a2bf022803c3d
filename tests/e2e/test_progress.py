"""Live progress of a slower operation in a real Chromium: a create that takes about 20 s at IES.

While nobody touches the page, the HTMX-polled status fragment moves the progress bar forward and
says when the operation should end, as a local time with its zone; then it shows the outcome.
"""

import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from portal.operations.models import Operation, OperationState
from portal.tenants.models import Tenant
from tests.e2e.test_login_and_services import log_in
from tests.e2e.test_order_flow import fill_form, open_site2dc_form, order_values
from tests.fixtures_simulator import start_simulator

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TENANT = "nbitest_16"  # user16's tenant
TIME_SCALE = 30  # IES's ten minutes become 20 s
EXPECTED_SECONDS = 20


@pytest.fixture
def slow_simulator(tmp_path, presets, settings):
    handle = start_simulator(tmp_path / "slow-sim", time_scale=TIME_SCALE)
    try:
        tenant = Tenant.objects.get(name=TENANT)
        credentials = handle.tenants[TENANT]
        tenant.ies_base_url = handle.base_url
        tenant.set_credentials(token=credentials["token"], bearer=credentials["bearer"])
        tenant.ies_tenant_id = credentials["tenant_id"]
        tenant.save()
        # The web side expects what the worker expects (no history yet: the default applies).
        settings.OPERATION_DEFAULT_SECONDS = float(EXPECTED_SECONDS)
        yield handle
    finally:
        handle.stop()


def test_the_progress_bar_moves_by_itself_until_the_outcome(page, live_server, slow_simulator, start_worker):
    start_worker(env={"IES_BASE_URL": slow_simulator.base_url, "OPERATION_DEFAULT_SECONDS": str(EXPECTED_SECONDS)})
    log_in(page, live_server.url, "user16")
    open_site2dc_form(page, live_server.url)
    values = order_values()
    fill_form(page, values)
    page.get_by_role("button", name="Next: review").click()
    with page.expect_navigation(url=re.compile(r"/operations/\d+/$")):
        page.get_by_role("button", name="Place order").click()
    placed_at = datetime.now(ZoneInfo("Asia/Shanghai"))

    page.evaluate("window.__untouched = 1")
    bar = page.get_by_role("progressbar", name="Estimated progress")
    # Once IES has accepted it, the page says when it should end: a time of day with its zone.
    expect(page.locator("#op-status")).to_have_attribute("data-state", "processing", timeout=10_000)
    expected = page.locator("#op-status").get_by_text(re.compile(r"Expected to finish around"))
    expect(expected).to_contain_text(re.compile(r"Expected to finish around \d{2}:\d{2}:\d{2} (CST|GMT\+8|\+08)"))
    hms = re.search(r"around (\d{2}):(\d{2}):(\d{2})", expected.inner_text()).groups()
    end = placed_at.replace(hour=int(hms[0]), minute=int(hms[1]), second=int(hms[2]), microsecond=0)
    if end < placed_at - timedelta(hours=12):  # past midnight
        end += timedelta(days=1)
    assert timedelta(seconds=EXPECTED_SECONDS - 5) <= end - placed_at <= timedelta(seconds=EXPECTED_SECONDS + 5), (
        end, placed_at)
    expect(page.locator("#op-status")).to_contain_text("the portal learns from each operation")

    # Watch the bar for a while: it moves forward by itself, never back.
    seen: list[int] = []
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline:
        state = page.locator("#op-status").get_attribute("data-state")
        if state != OperationState.PROCESSING:
            break
        value = bar.get_attribute("aria-valuenow")
        if value is not None:
            seen.append(int(value))
        page.wait_for_timeout(1000)
    assert len(seen) >= 8, seen
    assert seen == sorted(seen), f"the bar went backwards: {seen}"
    assert len(set(seen)) >= 4, f"the bar barely moved: {seen}"
    assert seen[-1] - seen[0] >= 30, seen
    assert all(0 <= v <= 99 for v in seen), "the estimate never claims to be done"
    # The bar's drawn width follows the value.
    width = page.locator("#op-status .progress-bar").evaluate("e => e.style.width")
    assert re.fullmatch(r"\d+%", width)

    # And the outcome arrives the same way.
    expect(page.get_by_test_id("op-phase")).to_have_text("The connection is active", timeout=40_000)
    expect(bar).to_have_count(0)
    assert page.evaluate("window.__untouched") == 1
    op = Operation.objects.get()
    assert op.state == OperationState.SUCCEEDED
    took = (op.finished_at - op.submitted_at).total_seconds()
    assert EXPECTED_SECONDS - 3 <= took <= EXPECTED_SECONDS + 8, took
