"""Live progress of a slower operation in a real Chromium: a create that takes about 20 s at IES.

While nobody touches the page, the HTMX-polled status fragment moves the progress bar forward and
says when the operation should end, as a local time with its zone; then it shows the outcome.
"""

import re
from datetime import timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from portal.operations.models import Operation, OperationState
from portal.operations.timing import estimate_progress
from portal.tenants.ies import ies_for_tenant
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
    # Every swap of the status fragment, as the page saw it: the bar's value, the state, which answer
    # drew it and the server's clock on that answer (HTTP Date, whole seconds), so that nothing
    # depends on this test's clock or on how fast this machine is.
    page.evaluate("""() => {
      window.__untouched = 1;
      window.__swaps = [];
      const answers = new WeakMap();
      const record = xhr => {
        const status = document.querySelector('#op-status');
        const bar = status.querySelector('progress');
        if (xhr && !answers.has(xhr)) answers.set(xhr, window.__swaps.length);
        window.__swaps.push({state: status.dataset.state, value: bar ? Number(bar.getAttribute('value')) : null,
                             answer: xhr ? answers.get(xhr) : null, date: xhr ? xhr.getResponseHeader('Date') : null});
      };
      record(null);
      document.body.addEventListener('htmx:afterSwap', e => record(e.detail.xhr));
    }""")
    bar = page.get_by_role("progressbar", name="Estimated progress")
    # Once IES has accepted it, the page says when it should end: a time of day with its zone.
    expect(page.locator("#op-status")).to_have_attribute("data-state", "processing", timeout=30_000)
    expected = page.locator("#op-status").get_by_text(re.compile(r"Expected to finish around"))
    expect(expected).to_contain_text(re.compile(r"Expected to finish around \d{2}:\d{2}:\d{2} (CST|GMT\+8|\+08)"))
    expect(page.locator("#op-status")).to_contain_text("the portal learns from each operation")
    # That time is the operation's own: accepted by IES, plus the default expectation (no history).
    op = Operation.objects.get()
    assert op.submitted_at is not None and op.expected_seconds == EXPECTED_SECONDS, op.expected_seconds
    end = (op.submitted_at + timedelta(seconds=op.expected_seconds)).astimezone(ZoneInfo("Asia/Shanghai"))
    assert re.search(r"around (\d{2}:\d{2}:\d{2})", expected.inner_text()).group(1) == end.strftime("%H:%M:%S")
    # The bar is a <progress> (the browser draws its width: the CSP refuses inline styles) with the value.
    tag, value, position = bar.evaluate("e => [e.tagName, e.getAttribute('value'), e.position]")
    assert tag == "PROGRESS" and abs(position - int(value) / 100) < 1e-6, (tag, value, position)

    # The outcome arrives by itself, however long this machine takes (a wait, not a speed limit).
    expect(page.get_by_test_id("op-phase")).to_have_text("The connection is active", timeout=120_000)
    expect(bar).to_have_count(0)
    assert page.evaluate("window.__untouched") == 1, "the page was reloaded"
    swaps = page.evaluate("window.__swaps")
    assert all(s["date"] for s in swaps[1:]), f"an answer without the server's Date: {swaps}"
    op.refresh_from_db()
    assert op.state == OperationState.SUCCEEDED and op.finished_at is not None

    # While IES worked, the bar moved by itself, only forward, and never claimed to be done.
    running = [s for s in swaps if s["state"] == OperationState.PROCESSING]
    seen = [s["value"] for s in running]
    assert seen == sorted(seen), f"the bar went backwards: {seen}"
    assert len(set(seen)) >= 3, f"the bar barely moved: {seen}"
    assert all(0 <= v <= 99 for v in seen), "the estimate never claims to be done"
    # Each value is the estimate, from the operation's own times, for a moment between the previous
    # answer (the page asks again only once it has it) and this answer's Date.
    def percent_at(at):
        return estimate_progress(started_at=op.submitted_at, now=at, expected_s=op.expected_seconds,
                                 p90_s=op.expected_p90_seconds).percent

    for i, s in enumerate(swaps):
        if s["state"] != OperationState.PROCESSING or s["date"] is None:
            continue
        earlier = [e for e in swaps[:i] if e["answer"] is not None and e["answer"] != s["answer"]]
        low = percent_at(parsedate_to_datetime(earlier[-1]["date"])) if earlier else 0
        high = percent_at(parsedate_to_datetime(s["date"]) + timedelta(seconds=1))
        assert low <= s["value"] <= high, (s, low, high)
    # The states only move forward, and the outcome is drawn once the operation has finished.
    order = [OperationState.QUEUED, OperationState.PROCESSING, OperationState.SUCCEEDED]
    states = [order.index(s["state"]) for s in swaps]
    assert states == sorted(states), swaps
    outcome = next(s for s in swaps if s["state"] == OperationState.SUCCEEDED)
    assert parsedate_to_datetime(outcome["date"]) >= op.finished_at.replace(microsecond=0), (outcome, op.finished_at)
    assert swaps[-1]["state"] == OperationState.SUCCEEDED, swaps

    # The portal saw the end only once IES had reached it, and says how long it took by its own times.
    at_ies = ies_for_tenant(op.tenant).get_operation(op.ies_service_id, op.ies_operation_id)
    assert at_ies is not None and at_ies.succeeded and at_ies.finished_at is not None, at_ies
    assert at_ies.finished_at <= op.finished_at, (at_ies.finished_at, op.finished_at)
    took = int((op.finished_at - op.submitted_at).total_seconds())
    expect(page.locator("#op-status")).to_contain_text(f"Done in {took // 60}:{took % 60:02d}.")


def test_the_operations_list_follows_an_operation_to_its_end_by_itself(page, live_server, slow_simulator,
                                                                     start_worker):
    start_worker(env={"IES_BASE_URL": slow_simulator.base_url, "OPERATION_DEFAULT_SECONDS": str(EXPECTED_SECONDS)})
    log_in(page, live_server.url, "user16")
    open_site2dc_form(page, live_server.url)
    fill_form(page, order_values())
    page.get_by_role("button", name="Next: review").click()
    with page.expect_navigation(url=re.compile(r"/operations/\d+/$")):
        page.get_by_role("button", name="Place order").click()
    op_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    page.goto(live_server.url + "/operations/")
    page.evaluate("window.__untouched = 1")  # gone if the page were loaded again
    row = page.locator(f'tr[data-operation-id="{op_id}"]')
    expect(row).to_have_attribute("data-state", re.compile(r"queued|processing"))
    expect(row).to_have_attribute("data-state", "succeeded", timeout=90_000)
    assert page.evaluate("window.__untouched") == 1, "the rows refreshed in place"
    expect(page.locator("#op-listing")).to_have_attribute("data-polling", "idle", timeout=10_000)
