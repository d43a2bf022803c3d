"""The policies' charts: the preview of the next 7 days (planned steps from a boost and a calendar,
only the service's own active policies, its summary in words, its units; drawn without traffic when
IES is down) and a backtest's chart payload from a real replay."""

import json
import re
from datetime import datetime, time, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.utils import timezone
from django.utils.translation import override

from portal.policies import backtest, charts, services, weekly
from portal.policies.autoscale import AutoScale
from portal.policies.models import BandwidthPolicy, Occurrence, PolicyKind
from portal.services.models import Service
from portal.tenants.models import Membership, Tenant

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
USER1_CONNECTION = "VPNS2S201705061433"  # user1's preset connection (nbitest_11), with a week of traffic
IES_DOWN = {"kind": "error", "status": 503, "prefix": "/rest/cloudvpnwatch"}


@pytest.fixture
def own(own_tenant):
    own_tenant.membership = Membership.objects.get(tenant=own_tenant.tenant, user__username="own1")
    own_tenant.service = lambda: Service.objects.get(tenant=own_tenant.tenant, ies_service_id=own_tenant.service_id)
    own_tenant.url = f"/services/{own_tenant.service_id}/policies/"
    return own_tenant


def boost(own, *, mbps=250, after=timedelta(days=1), back_after=timedelta(days=2)):
    now = timezone.now()
    return services.policy_one_off_create(membership=own.membership, service=own.service(), kbps=mbps * 1000,
                                          at=now + after, revert_at=now + back_after if back_after else None)


def office_hours(own, now):
    calendar = weekly.WeeklyCalendar(windows=(weekly.Window(frozenset(range(5)), time(8), time(20), 200_000),),
                                     default_kbps=50_000, tz=SHANGHAI)
    return services.policy_weekly_create(membership=own.membership, service=own.service(), calendar=calendar,
                                         now=now), calendar


def line(payload, key):
    return next((entry for entry in payload["lines"] if entry["key"] == key), None)


def when(at: datetime | int) -> str:
    """"Fri 2026-12-11 18:00 CST", as the summaries write a time (the portal's zone is Shanghai's)."""
    moment = datetime.fromtimestamp(at, SHANGHAI) if isinstance(at, int) else timezone.localtime(at)
    return moment.strftime("%a %Y-%m-%d %H:%M CST")


def test_a_boost_is_planned_from_the_bandwidth_in_force_and_said_in_words(own):
    before = own.service().bandwidth_kbps
    policy = boost(own)
    now = timezone.now()
    payload = charts.preview_chart(tenant=own.tenant, service=own.service(), now=now)
    up, back = policy.occurrences.order_by("due_at")
    planned = line(payload, "planned")
    assert planned["dashed"] and planned["label"] == "Planned bandwidth"
    assert planned["steps"] == [[int(now.timestamp()), before], [int(up.due_at.timestamp()), 250_000],
                                [int(back.due_at.timestamp()), before]]
    assert planned["until"] == payload["end"] == int(now.timestamp()) + 7 * 86400 == payload["now"] + 7 * 86400
    assert payload["summary"] == (f"Planned: 250 Mbit/s from {when(up.due_at)}, "
                                  f"{before // 1000} Mbit/s from {when(back.due_at)}.")
    assert payload["unit"] == {"name": "Mbit/s", "factor": 1e6}
    assert payload["tz"]["name"] == "Asia/Shanghai" and "CST" in payload["tz"]["abbreviations"].values()
    json.dumps(payload)  # what json_script gets


def test_the_past_week_is_the_traffic_charts_reading_up_to_now(presets):
    service = Service.objects.get(cloud_vpn_name=USER1_CONNECTION)
    now = timezone.now()
    payload = charts.preview_chart(tenant=service.tenant, service=service, now=now)
    traffic = payload["traffic"]
    assert traffic is not None and len(traffic["t"]) == len(traffic["in"]) == len(traffic["out"]) > 100
    assert payload["start"] <= traffic["t"][0] and traffic["t"][-1] <= payload["now"] and payload["interval"] == 3600
    assert any(v for v in traffic["out"])
    in_force = line(payload, "in_force")
    assert in_force["label"] == "Bandwidth in force" and in_force["until"] == payload["now"]
    assert in_force["steps"][-1][1] == service.bandwidth_kbps == line(payload, "planned")["steps"][0][1]
    assert payload["notes"] == [] and payload["summary"] == "No change is planned in the next 7 days."
    assert payload["unit"]["name"] in ("kbit/s", "Mbit/s", "Gbit/s")


def test_a_calendar_plans_its_week_of_rows(own):
    now = timezone.now()
    _policy, calendar = office_hours(own, now)
    payload = charts.preview_chart(tenant=own.tenant, service=own.service(), now=now)
    plan = weekly.changes(calendar, now, now + services.HORIZON)
    expected = [[int(now.timestamp()), plan[0][1]], *([int(at.timestamp()), kbps] for at, kbps in plan[1:])]
    assert line(payload, "planned")["steps"] == expected
    assert len(expected) >= 9  # a week of office hours: five mornings and five evenings, give or take today
    summary = payload["summary"]
    assert summary.startswith("Planned: ") and summary.count(" from ") == len(expected) - 1
    assert f"200 Mbit/s from {when(plan[1][0] if plan[1][1] == 200_000 else plan[2][0])}" in summary


def test_only_this_services_active_policies_count(own):
    now = timezone.now()
    service = own.service()
    boost(own)
    paused, ended = boost(own, mbps=300), boost(own, mbps=400)
    services.policy_pause(membership=own.membership, policy=paused)
    services.policy_end(membership=own.membership, policy=ended)
    # A policy of another service of the tenant, and one of another tenant's on this service (no
    # such thing is made by the portal: the preview still scopes by both).
    other_service = Service.objects.create(tenant=own.tenant, ies_service_id="other", name="other", bandwidth_kbps=10_000)
    elsewhere = BandwidthPolicy.objects.create(tenant=own.tenant, service=other_service, kind=PolicyKind.ONE_OFF, name="x")
    Occurrence.objects.create(policy=elsewhere, due_at=now + timedelta(hours=3), kbps=600_000)
    stranger = Tenant.objects.create(name="stranger")
    foreign = BandwidthPolicy.objects.create(tenant=stranger, service=service, kind=PolicyKind.ONE_OFF, name="y")
    Occurrence.objects.create(policy=foreign, due_at=now + timedelta(hours=4), kbps=700_000)
    steps = charts.planned_steps(tenant=own.tenant, service=service, now=timezone.now(),
                                 start_kbps=service.bandwidth_kbps)
    assert [kbps for _at, kbps in steps] == [service.bandwidth_kbps, 250_000, service.bandwidth_kbps]


def test_nothing_planned_and_a_stopped_tenant_are_said_so(own):
    payload = charts.preview_chart(tenant=own.tenant, service=own.service(), now=timezone.now())
    assert payload["summary"] == "No change is planned in the next 7 days."
    assert len(line(payload, "planned")["steps"]) == 1
    boost(own)
    Tenant.objects.filter(pk=own.tenant.pk).update(automation_paused=True)
    tenant = Tenant.objects.get(pk=own.tenant.pk)
    payload = charts.preview_chart(tenant=tenant, service=own.service(), now=timezone.now())
    assert "automation is stopped" in payload["summary"]
    assert [s[1] for s in line(payload, "planned")["steps"]] == [own.service().bandwidth_kbps]


def test_a_change_due_and_not_yet_run_counts_from_now(own):
    service = own.service()
    policy = BandwidthPolicy.objects.create(tenant=own.tenant, service=service, kind=PolicyKind.ONE_OFF, name="late")
    now = timezone.now()
    Occurrence.objects.create(policy=policy, due_at=now - timedelta(seconds=3), kbps=90_000)
    assert charts.planned_steps(tenant=own.tenant, service=service, now=now, start_kbps=20_000) == [
        (int(now.timestamp()), 90_000)]


def test_the_unit_follows_the_largest_value_drawn(own, sim):
    sim.add_fault(**IES_DOWN)
    service = own.service()
    policy = BandwidthPolicy.objects.create(tenant=own.tenant, service=service, kind=PolicyKind.ONE_OFF, name="big")
    now = timezone.now()
    occurrence = Occurrence.objects.create(policy=policy, due_at=now + timedelta(hours=5), kbps=2_000_000)
    assert charts.preview_chart(tenant=own.tenant, service=service, now=now)["unit"]["name"] == "Gbit/s"
    occurrence.delete()
    Service.objects.filter(pk=service.pk).update(bandwidth_kbps=800)
    assert charts.preview_chart(tenant=own.tenant, service=own.service(), now=now)["unit"]["name"] == "kbit/s"


def test_without_traffic_the_planned_line_is_drawn_alone_and_the_reason_said(own, sim):
    boost(own)
    sim.add_fault(**IES_DOWN)
    payload = charts.preview_chart(tenant=own.tenant, service=own.service(), now=timezone.now())
    assert payload["traffic"] is None and line(payload, "in_force") is None
    assert len(line(payload, "planned")["steps"]) == 3
    assert payload["notes"][0].startswith("No traffic is shown: it could not be read from IES. IES is not answering")


def test_the_page_shows_the_preview_while_ies_is_down(own, sim):
    boost(own)
    sim.add_fault(**IES_DOWN)
    page = own.login("own1").get(own.url)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-testid="preview"' in text and "Next 7 days" in text
    found = re.search(r'<script id="policy-preview-data" type="application/json">(.*?)</script>', text, re.S)
    payload = json.loads(found.group(1))
    assert payload["kind"] == "preview" and len(line(payload, "planned")["steps"]) == 3
    summary = unescape(re.search(r'data-testid="chart-summary">(.*?)</p>', text, re.S).group(1))
    assert summary.startswith("Planned: 250 Mbit/s from ")
    assert "No traffic is shown: it could not be read from IES." in unescape(text)
    # The strict CSP: the chart's data is JSON, its script a file.
    assert re.search(r'<script src="[^"]*/js/policies[^"]*\.js"></script>', text)
    assert "<script>" not in text


def test_the_preview_speaks_chinese(own):
    boost(own)
    with override("zh-hans"):
        payload = charts.preview_chart(tenant=own.tenant, service=own.service(), now=timezone.now())
    assert payload["texts"]["inbound"] == "入方向" and payload["texts"]["rateAxis"] == "速率"
    # The days of the week as the page's calendar writes them.
    assert re.search(r"周[一二三四五六日] \d{4}-\d\d-\d\d \d\d:\d\d CST", payload["summary"])


# -- the backtest ---------------------------------------------------------------------------------

MINUTE = 60
T0 = 1_796_400_000 // 86_400 * 86_400 - 8 * 3600  # a local midnight in Shanghai
POLICY = AutoScale(floor_kbps=20_000, ceiling_kbps=500_000, up_above_pct=80, up_for_s=15 * MINUTE,
                   down_below_pct=30, down_for_s=60 * MINUTE, target_pct=60, cooldown_s=30 * MINUTE)


def replayed(days=2):
    """Two days by the minute: quiet, a busy afternoon, quiet again (inbound only), at 100 Mbit/s."""
    day = [20] * 360 + [95] * 240 + [20] * 840
    rate_in = np.asarray(day * days, dtype=float) * 1e6
    rate_in[100:130] = np.nan  # a gap in the data
    rate_out = np.where(np.isnan(rate_in), np.nan, 1e6)
    times = T0 + np.arange(len(rate_in), dtype=np.int64) * MINUTE
    outcome = backtest.run(POLICY, times=times, rate_in=rate_in, rate_out=rate_out, interval=MINUTE,
                           fixed_kbps=100_000, learned_change_s=600, step_kbps=1000, tz=SHANGHAI)
    return outcome, rate_in, rate_out


def test_a_backtest_chart_carries_the_traffic_the_fixed_size_the_policys_and_its_changes():
    outcome, rate_in, rate_out = replayed()
    assert len(outcome.changes) >= 3
    payload = charts.backtest_chart(outcome, rate_in=rate_in, rate_out=rate_out, fixed_kbps=100_000)
    assert payload["kind"] == "backtest" and payload["now"] is None
    assert payload["start"] == T0 and payload["end"] == T0 + len(rate_in) * MINUTE and payload["interval"] == MINUTE
    traffic = payload["traffic"]
    # Downsampled to about a thousand points, the busy peaks and the gap kept.
    assert 500 <= len(traffic["t"]) <= 1010 and len(traffic["in"]) == len(traffic["t"])
    assert max(v for v in traffic["in"] if v is not None) == 95_000_000
    assert None in traffic["in"]
    assert line(payload, "fixed")["steps"] == [[T0, 100_000]] and line(payload, "fixed")["dashed"]
    policy = line(payload, "policy")
    assert policy["label"] == "With the policy" and policy["until"] == payload["end"]
    # The policy's line steps where its size changed, to each change's size.
    assert [kbps for _at, kbps in policy["steps"]] == [100_000, *(c.kbps for c in outcome.changes)]
    assert [m["kbps"] for m in payload["markers"]] == [c.kbps for c in outcome.changes]
    assert payload["markers"][0] == {"at": outcome.changes[0].effective_at,
                                     "decided_at": outcome.changes[0].decided_at, "kbps": outcome.changes[0].kbps}
    assert payload["unit"]["name"] == "Mbit/s"
    first = outcome.changes[0]
    assert payload["summary"].startswith(f"With the policy, the bandwidth would have changed {len(outcome.changes)} "
                                         f"times: {first.kbps // 1000} Mbit/s from {when(first.effective_at)}")
    json.dumps(payload)


def test_a_backtest_that_changes_nothing_says_so():
    times = T0 + np.arange(600, dtype=np.int64) * MINUTE
    rate = np.full(600, 50e6)
    outcome = backtest.run(POLICY, times=times, rate_in=rate, rate_out=rate, interval=MINUTE, fixed_kbps=100_000,
                           learned_change_s=600, step_kbps=1000, tz=SHANGHAI)
    payload = charts.backtest_chart(outcome, rate_in=rate, rate_out=rate, fixed_kbps=100_000)
    assert payload["markers"] == [] and line(payload, "policy")["steps"] == [[T0, 100_000]]
    assert payload["summary"] == "With the policy, the bandwidth would have stayed at 100 Mbit/s."
    assert len(payload["traffic"]["t"]) == 600  # fewer than the chart's columns hold: every value kept
