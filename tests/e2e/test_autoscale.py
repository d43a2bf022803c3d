"""Auto-scale in a real Chromium: a member tries a policy with the backtest (the chart drawn over the
connection's own month of traffic), sets it with approval, sees the proposal the engine makes in
the header and approves it by keyboard; in Chinese, an unsound policy is refused in words and what
was typed stays. Axe-clean throughout."""

import time

import pytest
from playwright.sync_api import expect

from portal.operations.models import Operation, OperationKind
from portal.policies.autoscaling import policies_autoscale
from portal.policies.models import BandwidthPolicy, Occurrence, OccurrenceState
from portal.services.models import Service
from tests.e2e.conftest import assert_accessible
from tests.e2e.helpers import log_in, switch_to_chinese

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def busy(simulator, own) -> None:
    service = Service.objects.get(ies_service_id=own.service_id)
    simulator.add_load(tenant=own.name, connection=service.cloud_vpn_name, direction="both", until=None,
                       rate_bps=service.bandwidth_kbps * 1000 * 0.95, **{"from": int(time.time()) // 60 * 60 - 5400})


def test_a_member_backtests_sets_and_approves_an_auto_scale_policy(page, live_server, own_tenant_with_history,
                                                                   simulator):
    own = own_tenant_with_history
    base = live_server.url
    busy(simulator, own)
    log_in(page, base, "own1")
    page.goto(f"{base}/services/{own.service_id}/policies/")
    card = page.get_by_role("region", name="Auto-scale on utilisation")
    card.get_by_role("textbox", name="Floor", exact=True).fill("10")
    card.get_by_role("textbox", name="Ceiling", exact=True).fill("100")
    card.get_by_label("Direction").select_option("in")
    # No daily limit in the way: how many changes the quiet hours before took depends on the hour.
    card.get_by_label("At most changes a day").fill("96")
    card.get_by_label("At most changes a month").fill("3000")
    card.get_by_label("A member approves each change").check()
    card.get_by_role("button", name="Backtest").press("Enter")

    result = page.get_by_test_id("backtest")
    expect(result).to_be_visible()
    expect(result.locator("#policy-backtest canvas").first).to_be_visible()
    expect(result.locator('[data-figure="saved"]')).to_contain_text("Mbit/s·h")
    expect(result.get_by_test_id("backtest-change").last).to_contain_text("up to")
    expect(result.get_by_test_id("backtest-change").last).to_contain_text(" CST")
    # What was typed stays for the next step.
    card = page.get_by_role("region", name="Auto-scale on utilisation")
    expect(card.get_by_role("textbox", name="Ceiling", exact=True)).to_have_value("100")
    expect(card.get_by_label("A member approves each change")).to_be_checked()
    assert not BandwidthPolicy.objects.exists()
    assert_accessible(page)

    card.get_by_role("button", name="Set the auto-scale policy").press("Enter")
    expect(page.get_by_test_id("rules")).to_contain_text("Between 10 Mbit/s and 100 Mbit/s.")
    expect(page.get_by_test_id("last-check")).to_contain_text("Not looked at yet")

    assert policies_autoscale().proposed == 1  # the beat's tick, run here
    page.reload()
    notice = page.get_by_test_id("policy-notices")
    expect(notice).to_have_text("1 to decide")
    page.get_by_role("link", name="Policies 1 to decide").press("Enter")
    row = page.get_by_test_id("proposal")
    expect(row).to_contain_text("20 Mbit/s →")
    expect(row).to_contain_text("above 80 %")
    assert_accessible(page)
    row.get_by_role("button", name="Approve").press("Enter")
    expect(page.get_by_role("status").filter(has_text="Approved")).to_be_visible()
    expect(page.get_by_test_id("no-proposals")).to_be_visible()
    expect(page.get_by_test_id("policy-notices")).to_have_count(0)
    assert Occurrence.objects.get().state == OccurrenceState.STARTED
    assert Operation.objects.filter(kind=OperationKind.MODIFY).count() == 1


def test_in_chinese_an_unsound_policy_is_refused_in_words_and_what_was_typed_stays(page, live_server,
                                                                                  own_tenant_with_history):
    own = own_tenant_with_history
    base = live_server.url
    log_in(page, base, "own1")
    switch_to_chinese(page)
    page.goto(f"{base}/services/{own.service_id}/policies/")
    card = page.get_by_role("region", name="按利用率自动扩缩容")
    card.get_by_role("textbox", name="下限", exact=True).fill("10")
    card.get_by_role("textbox", name="上限", exact=True).fill("100")
    card.get_by_label("目标利用率（%）").fill("90")
    card.get_by_role("button", name="设置自动扩缩容策略").click()
    card = page.get_by_role("region", name="按利用率自动扩缩容")
    expect(card.get_by_test_id("autoscale-problems")).to_be_visible()
    expect(card.get_by_label("目标利用率（%）")).to_have_value("90")
    expect(card.get_by_role("textbox", name="上限", exact=True)).to_have_value("100")
    assert_accessible(page)
    assert not BandwidthPolicy.objects.exists()
    card.get_by_label("目标利用率（%）").fill("60")
    card.get_by_role("button", name="回测").click()
    expect(page.get_by_test_id("backtest")).to_contain_text("带宽小时数")
    expect(page.locator("#policy-backtest canvas").first).to_be_visible()
