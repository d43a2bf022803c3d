"""Alert rules and one's own alert e-mail in a real Chromium, by keyboard, in English and Chinese;
axe-clean (the `page` fixture checks every page the portal serves)."""

import re

import pytest
from playwright.sync_api import expect

from portal.alerts.models import AlertRule, AlertSubscription
from tests.e2e.conftest import assert_accessible
from tests.e2e.helpers import log_in, switch_to_chinese
from tests.loopback_http import posts_answered

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_member_makes_a_utilisation_rule_by_keyboard_and_a_mistake_keeps_what_was_typed(page, live_server,
                                                                                           own_tenant):
    base = live_server.url
    log_in(page, base, "own1")
    page.get_by_role("link", name="Alerts").press("Enter")
    expect(page.get_by_role("heading", name="Alerts", level=1)).to_be_visible()
    expect(page.get_by_test_id("no-rules")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="New rule").press("Enter")
    page.get_by_label("Name").fill("Busy line")
    page.get_by_label("Kind").select_option("utilisation")
    page.get_by_label("Warning above (%)").fill("90")
    page.get_by_label("Critical above (%)").fill("85")
    page.get_by_label("Critical above (%)").press("Enter")
    expect(page.get_by_text("The critical threshold must be above the warning one.")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Busy line")
    assert_accessible(page)
    page.get_by_label("Critical above (%)").fill("97")
    page.get_by_role("button", name="Save the rule").press("Enter")
    expect(page).to_have_url(re.compile(r"/alerts/$"))
    expect(page.get_by_role("status")).to_contain_text("Saved the rule “Busy line”.")
    expect(page.get_by_test_id("rule")).to_contain_text("Bandwidth utilisation")
    assert AlertRule.objects.get().critical_pct == 97


def test_in_chinese_a_person_sets_their_alert_mail_with_quiet_hours(page, live_server, own_tenant):
    base = live_server.url
    log_in(page, base, "own2")
    page.goto(base + "/alerts/")
    switch_to_chinese(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("告警")
    assert_accessible(page)
    page.get_by_role("link", name="我的告警邮件").press("Enter")
    page.get_by_label("起始级别").select_option("critical")
    page.get_by_label("免打扰开始").fill("22:00")
    page.get_by_role("button", name="保存").press("Enter")
    expect(page.get_by_text("请同时填写免打扰时段的开始和结束，或都不填。")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("免打扰结束").fill("07:00")
    page.get_by_role("button", name="保存").press("Enter")
    expect(page).to_have_url(re.compile(r"/alerts/$"))
    mine = AlertSubscription.objects.get(user__username="own2")
    assert (mine.min_level, mine.language, str(mine.quiet_end)) == ("critical", "zh-hans", "07:00:00")


@pytest.fixture
def chat_robot(settings):
    """A chat tool's robot on loopback: answers every POST as Slack does, and keeps what it got."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    got: list[bytes] = []

    def answer(path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        got.append(body)
        return 200, b"ok"

    with posts_answered(answer) as base:
        yield f"{base}/services/T000/B000/secret-part", got


def test_a_member_adds_a_slack_robot_in_chinese_and_its_test_arrives(page, live_server, own_tenant, chat_robot):
    url, got = chat_robot
    base = live_server.url
    log_in(page, base, "own1")
    page.goto(base + "/alerts/channels/")
    switch_to_chinese(page)
    expect(page.get_by_test_id("no-channels")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("类型").select_option("slack")
    page.get_by_label("地址（URL）").fill(url)
    page.get_by_label("消息语言").select_option("zh-hans")
    page.get_by_role("button", name="添加通道").press("Enter")
    channel = page.get_by_test_id("channel")
    expect(channel).to_contain_text("Slack")
    expect(channel).not_to_contain_text("secret-part")  # the robot's key stays off the page
    channel.get_by_role("button", name="向 Slack 发送测试").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("测试已送达：HTTP 200")
    expect(page.get_by_test_id("delivery").first).to_have_attribute("data-state", "delivered")
    assert_accessible(page)
    assert len(got) == 1 and "CloudVPN" in got[0].decode()
