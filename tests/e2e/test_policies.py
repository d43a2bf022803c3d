"""Planning a boost in a real Chromium, by keyboard, in English and in Chinese: the plan listed with
its two changes in local time, a refusal that keeps what was typed, pause and end; axe-clean."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portal.policies.models import BandwidthPolicy, PolicyState
from tests.e2e.conftest import assert_accessible
from tests.e2e.helpers import log_in, switch_to_chinese

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def local(delta: timedelta) -> str:
    return timezone.localtime(timezone.now() + delta).strftime("%Y-%m-%dT%H:%M")


def test_a_member_plans_a_boost_by_keyboard_and_pauses_then_ends_it(page, live_server, own_tenant):
    base = live_server.url
    log_in(page, base, "own1")
    page.goto(f"{base}/services/{own_tenant.service_id}/")
    link = page.get_by_role("link", name="Planned changes")
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"Planned changes of {own_tenant.service_name}")).to_be_visible()
    expect(page.get_by_test_id("no-policies")).to_be_visible()
    assert_accessible(page)

    card = page.get_by_role("region", name="Plan a change")
    card.get_by_role("textbox", name="Bandwidth", exact=True).fill("250")
    card.get_by_label("Change at").fill(local(timedelta(days=1)))
    card.get_by_label("Back to the present bandwidth at (optional)").fill(local(timedelta(days=2)))
    card.get_by_label("Name (optional)").fill("Friday boost")
    card.get_by_label("Name (optional)").press("Enter")

    expect(page.get_by_role("status").filter(has_text="Planned: Friday boost.")).to_be_visible()
    policy = page.get_by_test_id("policy")
    expect(policy).to_have_count(1)
    expect(policy.get_by_test_id("occurrence")).to_have_count(2)
    expect(policy.get_by_test_id("occurrence").first).to_contain_text("250 Mbit/s")
    expect(policy.get_by_test_id("occurrence").first).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d CST"))
    assert_accessible(page)

    policy.get_by_role("button", name="Pause").press("Enter")
    expect(page.get_by_test_id("policy")).to_have_attribute("data-state", "paused")
    expect(page.get_by_test_id("policy-note")).to_have_text("Paused by own1.")
    page.get_by_test_id("policy").get_by_role("button", name="End and cancel what it planned").click()
    expect(page.get_by_test_id("policy")).to_have_attribute("data-state", "ended")
    assert BandwidthPolicy.objects.get().state == PolicyState.ENDED


def test_in_chinese_a_plan_in_the_past_is_refused_and_what_was_typed_stays(page, live_server, own_tenant):
    base = live_server.url
    log_in(page, base, "own1")
    switch_to_chinese(page)
    page.goto(f"{base}/services/{own_tenant.service_id}/policies/")
    expect(page.get_by_role("heading", name=f"{own_tenant.service_name} 的计划调整")).to_be_visible()
    card = page.get_by_role("region", name="计划调整")
    card.get_by_role("textbox", name="带宽", exact=True).fill("250")
    card.get_by_label("调整时间").fill(local(timedelta(minutes=-30)))
    card.get_by_label("名称（可选）").fill("周五提速")
    card.get_by_role("button", name="计划此调整").click()
    card = page.get_by_role("region", name="计划调整")
    expect(card.get_by_test_id("refused")).to_have_text("请至少提前一分钟计划调整。")
    expect(card.get_by_label("名称（可选）")).to_have_value("周五提速")
    expect(card.get_by_role("textbox", name="带宽", exact=True)).to_have_value("250")
    assert_accessible(page)
    assert not BandwidthPolicy.objects.exists()


def test_a_member_plans_office_hours_as_a_weekly_calendar(page, live_server, own_tenant):
    base = live_server.url
    log_in(page, base, "own1")
    page.goto(f"{base}/services/{own_tenant.service_id}/policies/")
    card = page.get_by_role("region", name="Plan a weekly calendar")
    first = card.get_by_test_id("window").first
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri"):
        first.get_by_label(day).check()
    first.get_by_label("Starts").fill("08:00")
    first.get_by_label("Ends").fill("20:00")
    first.get_by_role("textbox", name="Bandwidth").fill("200")
    card.get_by_role("textbox", name="Bandwidth outside the windows").fill("50")
    card.get_by_label("Name (optional)").fill("Office hours")
    card.get_by_role("button", name="Plan the calendar").click()
    expect(page.get_by_role("status").filter(has_text="Planned: Office hours.")).to_be_visible()
    policy = page.get_by_test_id("policy")
    expect(policy).to_contain_text("Weekly calendar")
    # Planned inside a window, the first change is due now; the next windows open on the hour typed.
    expect(policy.get_by_test_id("occurrence").filter(has_text="200 Mbit/s").filter(has_text="08:00 CST").first).to_be_visible()
    assert_accessible(page)
    assert BandwidthPolicy.objects.get().spec["windows"][0]["days"] == [0, 1, 2, 3, 4]

    # Edited in place, by keyboard: the form starts from the calendar as it is.
    page.get_by_role("link", name="Edit the calendar").press("Enter")
    first = page.get_by_test_id("window").first
    expect(first.get_by_label("Starts")).to_have_value("08:00")
    expect(first.get_by_label("Mon")).to_be_checked()
    assert_accessible(page)
    first.get_by_label("Starts").fill("09:00")
    first.get_by_role("textbox", name="Bandwidth").fill("300")
    first.get_by_role("textbox", name="Bandwidth").press("Enter")
    expect(page.get_by_role("status").filter(has_text="Its planned changes were replaced.")).to_be_visible()
    policy = page.get_by_test_id("policy")
    expect(policy.get_by_test_id("occurrence").filter(has_text="300 Mbit/s").filter(has_text="09:00 CST").first).to_be_visible()
    assert BandwidthPolicy.objects.get().spec["windows"][0]["start"] == "09:00"
