"""The auto-scale form on a service's planned-changes page (set, refuse in words keeping what was
typed, backtest), and the tenant's policies page with the header's notice; viewers read only."""

import pytest

from portal.policies.models import BandwidthPolicy, PolicyKind
from portal.services.models import Service
from portal.tenants.models import Membership, Role, Tenant
from tests.portal.helpers import post

pytestmark = pytest.mark.django_db


@pytest.fixture
def own(own_tenant_with_history):
    own_tenant = own_tenant_with_history
    own_tenant.client = own_tenant.login("own1")
    own_tenant.client.get(f"/services/{own_tenant.service_id}/")
    own_tenant.service = lambda: Service.objects.get(ies_service_id=own_tenant.service_id)
    own_tenant.url = f"/services/{own_tenant.service_id}/policies/"
    return own_tenant


FIELDS = {"floor_0": "10", "floor_1": "Mbit/s", "ceiling_0": "200", "ceiling_1": "Mbit/s", "statistic": "p95",
          "direction": "either", "up_above": "80", "up_for": "15", "down_below": "30", "down_for": "60",
          "sizing": "target", "target": "60", "step_0": "", "step_1": "Mbit/s", "cooldown": "30", "max_per_day": "6",
          "max_per_month": "60", "approval_for": "60", "name": "", "days": "7"}


def submit(own, client=None, do="create", **changes):
    data = {**FIELDS, **changes}
    return post(client or own.client, own.url, {"kind": "autoscale", "do": do,
                                                **{f"auto-{k}": v for k, v in data.items()}})


def test_the_form_offers_sound_defaults_around_the_present_size(own):
    page = own.client.get(own.url).text
    assert 'name="auto-up_above" value="80"' in page and 'name="auto-target" value="60"' in page
    assert "Set the auto-scale policy" in page and 'value="backtest"' in page


def test_an_auto_scale_policy_is_set_and_described_in_words(own):
    answer = submit(own, approval="on")
    assert answer.status_code == 302, answer.text[:2000]
    policy = BandwidthPolicy.objects.get()
    assert policy.kind == PolicyKind.AUTOSCALE and policy.spec["approval"] is True
    assert policy.spec["floor_kbps"] == 10_000 and policy.spec["up_for_s"] == 900
    page = own.client.get(own.url).text
    assert "Between 10 Mbit/s and 200 Mbit/s." in page
    assert "above 80 % for 15 min" in page and "waits for approval by a member" in page
    assert "Not looked at yet" in page


@pytest.mark.parametrize("changes, words", [
    ({"target": "90"}, "between the two thresholds"),
    ({"down_below": "85"}, "lower than the one that scales up"),
    ({"floor_0": "300"}, "the floor not above the ceiling"),
    ({"down_for": "5"}, "at least as long as the one that scales up"),
    ({"sizing": "step"}, "Enter the step"),
    ({"up_above": "120"}, "from 1 to 100"),
    ({"up_for": "abc"}, "whole minutes"),
])
def test_a_policy_that_cannot_work_is_refused_in_words_and_keeps_what_was_typed(own, changes, words):
    answer = submit(own, **changes)
    assert answer.status_code == 400 and words in answer.text
    assert 'name="auto-ceiling_0" value="200"' in answer.text
    assert not BandwidthPolicy.objects.exists()


def test_the_backtest_shows_what_it_would_have_done_and_saves_nothing(own):
    answer = submit(own, do="backtest")
    assert answer.status_code == 200, answer.text[:3000]
    assert 'data-testid="backtest"' in answer.text and 'data-figure="changes"' in answer.text
    assert "Mbit/s·h" in answer.text and 'id="policy-backtest"' in answer.text
    assert not BandwidthPolicy.objects.exists()


def test_the_backtest_says_so_when_ies_cannot_give_the_traffic(own, simulator):
    simulator.add_fault(kind="error", status=503, prefix="/rest/cloudvpnwatch")
    answer = submit(own, do="backtest")
    assert answer.status_code == 400 and "could not read it" in answer.text
    assert "IES is not answering" in answer.text or "IES answered with an error" in answer.text


def test_the_tenants_policies_page_lists_them_and_the_header_counts_what_awaits(own):
    submit(own)
    page = own.client.get("/policies/").text
    assert 'data-testid="tenant-policy"' in page and own.service().name in page
    assert 'data-testid="no-proposals"' in page and 'data-testid="policy-notices"' not in page
    Tenant.objects.filter(pk=own.tenant.pk).update(policy_notices=2)
    assert "2 to decide" in own.client.get(f"/services/{own.service_id}/").text


def test_a_viewer_sees_the_policies_but_not_the_form(own):
    submit(own)
    Membership.objects.filter(tenant=own.tenant, user__username="own2").update(role=Role.VIEWER)
    viewer = own.login("own2")
    page = viewer.get(own.url).text
    assert "Between 10 Mbit/s" in page and 'name="auto-floor_0"' not in page
    assert submit(own, client=viewer).status_code == 403
