"""The planned-changes page of a service: plan a boost, see it with its outcomes, pause, resume,
end, stop the tenant's automation; viewers read only, other tenants get a 404."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.policies.models import BandwidthPolicy, OccurrenceState, PolicyState
from portal.services.models import Service
from portal.tenants.models import Membership, Role, Tenant
from tests.portal.helpers import post

pytestmark = pytest.mark.django_db


@pytest.fixture
def own(own_tenant):
    own_tenant.client = own_tenant.login("own1")
    own_tenant.client.get(f"/services/{own_tenant.service_id}/")
    own_tenant.service = lambda: Service.objects.get(ies_service_id=own_tenant.service_id)
    own_tenant.url = f"/services/{own_tenant.service_id}/policies/"
    return own_tenant


def local_input(delta: timedelta) -> str:
    return timezone.localtime(timezone.now() + delta).strftime("%Y-%m-%dT%H:%M")


def plan(own, client=None, **fields):
    data = {"bandwidth_0": "80", "bandwidth_1": "Mbit/s", "at": local_input(timedelta(days=1)),
            "revert_at": local_input(timedelta(days=2)), "name": ""}
    data.update(fields)
    return post(client or own.client, own.url, {"kind": "one_off", **{f"once-{k}": v for k, v in data.items()}})


def test_the_page_offers_the_plan_and_the_service_links_to_it(own):
    detail = own.client.get(f"/services/{own.service_id}/")
    assert f'href="{own.url}"' in detail.text
    page = own.client.get(own.url)
    assert page.status_code == 200
    assert 'data-testid="no-policies"' in page.text and 'name="once-at"' in page.text
    assert 'type="datetime-local"' in page.text and "Asia/Shanghai" in page.text


def test_a_boost_is_planned_and_listed_with_its_two_changes(own):
    answer = plan(own)
    assert answer.status_code == 302 and answer["Location"] == own.url
    policy = BandwidthPolicy.objects.get()
    before = own.service().bandwidth_kbps
    assert list(policy.occurrences.values_list("kbps", flat=True)) == [80_000, before]
    page = own.client.get(own.url)
    assert "Planned: Boost to 80 Mbit/s." in page.text
    assert page.text.count('data-testid="occurrence"') == 2
    assert timezone.localtime(policy.occurrences.first().due_at).strftime("%Y-%m-%d %H:%M CST") in page.text


@pytest.mark.parametrize("fields, words", [
    ({"at": local_input(timedelta(minutes=-5))}, "at least a minute ahead"),
    ({"revert_at": local_input(timedelta(hours=1))}, "must come after the change"),
    ({"bandwidth_0": "abc"}, "is not a number"),
    ({"bandwidth_0": "20000", "bandwidth_1": "Gbit/s"}, "10 Gbit/s"),
    ({"at": "tomorrow"}, "Enter a date and time"),
    ({"at": ""}, "Enter when the change starts"),
])
def test_a_bad_plan_is_refused_in_words_and_keeps_what_was_typed(own, fields, words):
    answer = plan(own, **fields, name="Friday boost")
    assert answer.status_code == 400
    assert words in answer.text
    assert 'value="Friday boost"' in answer.text
    assert not BandwidthPolicy.objects.exists()


def test_the_current_bandwidth_is_not_a_plan(own):
    kbps = own.service().bandwidth_kbps
    answer = plan(own, bandwidth_0=str(kbps // 1000))
    assert answer.status_code == 400 and "That is the current bandwidth" in answer.text


def test_pause_resume_and_end(own):
    plan(own)
    policy = BandwidthPolicy.objects.get()
    action = f"{own.url}{policy.pk}/"
    assert post(own.client, action, {"action": "pause"}).status_code == 302
    assert BandwidthPolicy.objects.get().state == PolicyState.PAUSED
    assert "Paused by own1." in own.client.get(own.url).text
    post(own.client, action, {"action": "resume"})
    assert BandwidthPolicy.objects.get().state == PolicyState.ACTIVE
    post(own.client, action, {"action": "end"})
    assert BandwidthPolicy.objects.get().state == PolicyState.ENDED
    assert set(policy.occurrences.values_list("state", flat=True)) == {OccurrenceState.CANCELLED}
    answer = post(own.client, action, {"action": "resume"}, follow=True)
    assert "This policy has ended." in answer.text
    assert post(own.client, action, {"action": "explode"}).status_code == 404


def test_the_tenants_switch(own):
    assert post(own.client, f"{own.url}automation/", {"paused": "1"}).status_code == 302
    assert Tenant.objects.get(pk=own.tenant.pk).automation_paused
    assert "Let policies run again" in own.client.get(own.url).text
    post(own.client, f"{own.url}automation/", {"paused": "0"})
    assert not Tenant.objects.get(pk=own.tenant.pk).automation_paused


def test_a_viewer_reads_but_cannot_plan_or_change(own):
    plan(own)
    policy = BandwidthPolicy.objects.get()
    Membership.objects.filter(tenant=own.tenant, user__username="own2").update(role=Role.VIEWER)
    viewer = own.login("own2")
    page = viewer.get(own.url)
    assert page.status_code == 200 and 'data-testid="read-only-notice"' in page.text
    assert 'name="once-at"' not in page.text and 'name="kind"' not in page.text and 'name="action"' not in page.text and 'name="paused"' not in page.text
    assert page.text.count('data-testid="occurrence"') == 2
    assert plan(own, client=viewer).status_code == 403
    assert post(viewer, f"{own.url}{policy.pk}/", {"action": "end"}).status_code == 403
    assert post(viewer, f"{own.url}automation/", {"paused": "1"}).status_code == 403
    assert BandwidthPolicy.objects.get().state == PolicyState.ACTIVE
    assert not Tenant.objects.get(pk=own.tenant.pk).automation_paused


def test_another_tenant_gets_a_404_for_the_page_and_every_action(own, login):
    plan(own)
    policy = BandwidthPolicy.objects.get()
    stranger = login("user1")
    assert stranger.get(own.url).status_code == 404
    assert post(stranger, own.url, {"kind": "one_off", "once-bandwidth_0": "80"}).status_code == 404
    assert post(stranger, f"{own.url}{policy.pk}/", {"action": "end"}).status_code == 404
    assert post(stranger, f"{own.url}automation/", {"paused": "1"}).status_code == 404
    assert BandwidthPolicy.objects.get().state == PolicyState.ACTIVE


def test_a_policy_of_another_service_is_not_reachable_through_this_one(own, login):
    plan(own)
    policy = BandwidthPolicy.objects.get()
    other = Service.objects.filter(tenant__name="nbitest_11").first()
    client = login("user1")
    assert post(client, f"/services/{other.ies_service_id}/policies/{policy.pk}/", {"action": "end"}).status_code == 404


def weekly(own, client=None, windows=(), **fields):
    """The weekly form's POST: ``windows`` as (days, start, end, Mbit/s) rows, the rest left empty."""
    data = {"kind": "weekly", "window-TOTAL_FORMS": "4", "window-INITIAL_FORMS": "0",
            "window-MIN_NUM_FORMS": "0", "window-MAX_NUM_FORMS": "4",
            "weekly-default_0": "50", "weekly-default_1": "Mbit/s", "weekly-holidays": "", "weekly-name": ""}
    for i, (days, start, end, mbps) in enumerate(windows):
        data.update({f"window-{i}-days": [str(d) for d in days], f"window-{i}-start": start, f"window-{i}-end": end,
                     f"window-{i}-bandwidth_0": mbps, f"window-{i}-bandwidth_1": "Mbit/s"})
    data.update({f"weekly-{k}" if not k.startswith("window-") else k: v for k, v in fields.items()})
    return post(client or own.client, own.url, data)


def test_a_weekly_calendar_is_planned_from_the_page(own):
    answer = weekly(own, windows=[((0, 1, 2, 3, 4), "08:00", "20:00", "200")], holidays="2026-12-25\n\n2026-12-24",
                    name="Office hours")
    assert answer.status_code == 302, answer.content.decode()[:3000]
    policy = BandwidthPolicy.objects.get()
    assert policy.spec["windows"] == [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "20:00", "kbps": 200_000}]
    assert policy.spec["default_kbps"] == 50_000 and policy.spec["tz"] == "Asia/Shanghai"
    assert [h["day"] for h in policy.spec["holidays"]] == ["2026-12-24", "2026-12-25"]
    page = own.client.get(own.url)
    assert "Planned: Office hours." in page.text
    assert page.text.count('data-testid="occurrence"') >= 9


@pytest.mark.parametrize("windows, fields, words", [
    ([((0,), "08:00", "", "200")], {}, "Enter when the window ends."),
    ([((), "08:00", "20:00", "200")], {}, "Choose at least one day."),
    ([((0,), "8 o'clock", "20:00", "200")], {}, "Enter a time of day"),
    ([((0,), "08:00", "20:00", "200"), ((0,), "19:00", "21:00", "300")], {}, "Two windows overlap"),
    ([], {}, "Add at least one window"),
    ([((0,), "08:00", "20:00", "200")], {"holidays": "Christmas"}, "is not a date"),
    ([((0,), "08:00", "20:00", "200")], {"default_0": ""}, "Enter a bandwidth."),
])
def test_a_bad_calendar_is_refused_in_words_and_keeps_what_was_typed(own, windows, fields, words):
    answer = weekly(own, windows=windows, name="Office hours", **fields)
    assert answer.status_code == 400
    assert words in answer.text
    assert 'value="Office hours"' in answer.text
    assert not BandwidthPolicy.objects.exists()
