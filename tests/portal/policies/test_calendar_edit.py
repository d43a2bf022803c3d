"""Editing a weekly calendar in place: the page starts from the calendar as it is; saving replaces
its planned changes by the edited calendar's (from what it plans now), keeps what ran, and is
audited; a refusal keeps what was typed; viewers, other tenants and ended calendars are refused."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.policies.models import BandwidthPolicy, OccurrenceState, PolicyState
from portal.policies.services import policy_end, policy_weekly_create
from portal.services.models import Service
from portal.tenants.models import Membership, Role
from tests.portal.helpers import post
from tests.portal.policies.test_weekly_engine import SHANGHAI, office

pytestmark = pytest.mark.django_db


@pytest.fixture
def own(own_tenant):
    own_tenant.client = own_tenant.login("own1")
    own_tenant.client.get(f"/services/{own_tenant.service_id}/")
    own_tenant.service = lambda: Service.objects.get(ies_service_id=own_tenant.service_id)
    own_tenant.member = Membership.objects.get(tenant=own_tenant.tenant, user__username="own1")
    own_tenant.policy = policy_weekly_create(membership=own_tenant.member, service=own_tenant.service(),
                                             calendar=office(), name="Office hours")
    own_tenant.url = f"/services/{own_tenant.service_id}/policies/{own_tenant.policy.pk}/edit/"
    return own_tenant


def fields(**changes):
    data = {"window-TOTAL_FORMS": "4", "window-INITIAL_FORMS": "1", "window-MIN_NUM_FORMS": "0",
            "window-MAX_NUM_FORMS": "4", "window-0-days": ["0", "1", "2", "3", "4"], "window-0-start": "09:00",
            "window-0-end": "18:00", "window-0-bandwidth_0": "300", "window-0-bandwidth_1": "Mbit/s",
            "weekly-default_0": "50", "weekly-default_1": "Mbit/s", "weekly-holidays": "", "weekly-name": "Office"}
    for n in range(1, 4):
        data.update({f"window-{n}-start": "", f"window-{n}-end": "", f"window-{n}-bandwidth_0": "",
                     f"window-{n}-bandwidth_1": "Mbit/s"})
    data.update(changes)
    return data


def local(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%H:%M")


def test_the_page_links_to_the_edit_and_starts_from_the_calendar_as_it_is(own):
    assert f'href="{own.url}"' in own.client.get(f"/services/{own.service_id}/policies/").text
    page = own.client.get(own.url)
    assert page.status_code == 200
    assert 'name="window-0-start" value="08:00"' in page.text and 'name="window-0-end" value="20:00"' in page.text
    assert 'name="window-0-bandwidth_0" value="200"' in page.text
    assert 'name="weekly-default_0" value="50"' in page.text and 'value="Office hours"' in page.text


def test_saving_replaces_the_planned_changes_and_is_audited(own):
    before = set(own.policy.occurrences.filter(state=OccurrenceState.PLANNED, due_at__gt=timezone.now())
                 .values_list("pk", flat=True))
    answer = post(own.client, own.url, fields())
    assert answer.status_code == 302, answer.text[:2000]
    policy = BandwidthPolicy.objects.get()
    assert policy.name == "Office" and policy.spec["windows"][0]["start"] == "09:00"
    assert policy.spec["windows"][0]["kbps"] == 300_000
    now = timezone.now()
    assert not policy.occurrences.filter(pk__in=before).exists()  # never ran: replaced
    planned = policy.occurrences.filter(state=OccurrenceState.PLANNED, due_at__gt=now + timedelta(minutes=1))
    assert {local(o.due_at) for o in planned} == {"09:00", "18:00"}
    assert {o.kbps for o in planned} == {300_000, 50_000}
    event = AuditEvent.objects.get(action="policy.update")
    assert event.before["calendar"]["windows"][0]["start"] == "08:00" and event.actor_name == "own1"
    page = own.client.get(f"/services/{own.service_id}/policies/").text
    assert "Its planned changes were replaced." in page


def test_an_edit_that_keeps_the_times_plans_the_new_sizes_at_them(own):
    post(own.client, own.url, fields(**{"window-0-start": "08:00", "window-0-end": "20:00"}))
    planned = BandwidthPolicy.objects.get().occurrences.filter(state=OccurrenceState.PLANNED,
                                                               due_at__gt=timezone.now() + timedelta(minutes=1))
    assert {(local(o.due_at), o.kbps) for o in planned} == {("08:00", 300_000), ("20:00", 50_000)}


def test_a_refused_edit_keeps_what_was_typed_and_changes_nothing(own):
    answer = post(own.client, own.url, fields(**{"window-0-end": "", "window-0-bandwidth_0": "350"}))
    assert answer.status_code == 400 and "Enter when the window ends." in answer.text
    assert 'name="window-0-bandwidth_0" value="350"' in answer.text
    assert BandwidthPolicy.objects.get().spec["windows"][0]["start"] == "08:00"
    assert not AuditEvent.objects.filter(action="policy.update").exists()


def test_viewers_other_tenants_and_ended_calendars_are_refused(own, login):
    Membership.objects.filter(tenant=own.tenant, user__username="own2").update(role=Role.VIEWER)
    viewer = own.login("own2")
    assert viewer.get(own.url).status_code == 403
    assert post(viewer, own.url, fields()).status_code == 403
    stranger = login("user1")
    assert stranger.get(own.url).status_code == 404
    policy_end(membership=own.member, policy=own.policy)
    assert own.client.get(own.url).status_code == 404
    assert BandwidthPolicy.objects.get().state == PolicyState.ENDED
