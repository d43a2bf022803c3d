"""A weekly calendar policy: planned a week ahead as rows, kept full by the planning task, started
from what it plans now, refused when ambiguous."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.operations.models import Operation
from portal.policies import services as engine
from portal.policies.models import Occurrence, OccurrenceState, PolicyKind
from portal.policies.services import (
    PolicyRefused,
    policies_plan_ahead,
    policies_run_due,
    policy_weekly_create,
)
from portal.policies.weekly import Holiday, WeeklyCalendar, Window
from portal.services.models import Service
from portal.tenants.models import Membership

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 12, 7, 0, 0, tzinfo=SHANGHAI)


@pytest.fixture
def own(own_tenant):
    own_tenant.login("own1").get(f"/services/{own_tenant.service_id}/")
    own_tenant.service = lambda: Service.objects.get(ies_service_id=own_tenant.service_id)
    own_tenant.member = Membership.objects.get(tenant=own_tenant.tenant, user__username="own1")
    return own_tenant


def office(default=50_000, busy=200_000, holidays=()):
    return WeeklyCalendar(windows=(Window(frozenset(range(5)), time(8), time(20), busy),), default_kbps=default,
                          tz=SHANGHAI, holidays=tuple(holidays))


def create(own, calendar, now=MONDAY):
    return policy_weekly_create(membership=own.member, service=own.service(), calendar=calendar, now=now)


def planned(policy):
    return [(o.due_at.astimezone(SHANGHAI).strftime("%a %H:%M"), o.kbps)
            for o in policy.occurrences.filter(state=OccurrenceState.PLANNED).order_by("due_at")]


def test_a_calendar_starts_from_what_it_plans_now_and_plans_the_week(own):
    policy = create(own, office())
    assert policy.kind == PolicyKind.WEEKLY and policy.spec["windows"][0]["start"] == "08:00"
    plan = planned(policy)
    assert plan[0] == ("Mon 00:00", 50_000)  # the service is not at 50 Mbit/s now
    # The week, and a day past it (the planning task tops it up from there about once a day).
    assert plan[1:] == [(f"{day} {hour}", kbps) for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Mon")
                        for hour, kbps in (("08:00", 200_000), ("20:00", 50_000))]


def test_no_start_change_when_the_service_already_has_the_planned_size(own):
    current = own.service().bandwidth_kbps
    policy = create(own, office(default=current))
    assert planned(policy)[0] == ("Mon 08:00", 200_000)


def test_the_planning_task_keeps_the_week_full_and_adds_nothing_twice(own):
    policy = create(own, office())
    count = policy.occurrences.count()
    assert policies_plan_ahead(now=MONDAY) == 0
    assert policies_plan_ahead(now=MONDAY + timedelta(hours=23)) == 0  # still planned past the week
    assert policies_plan_ahead(now=MONDAY + timedelta(days=1, minutes=1)) == 2  # the next Tuesday's two changes
    assert policies_plan_ahead(now=MONDAY + timedelta(days=1, minutes=2)) == 0
    assert policy.occurrences.count() == count + 2


def test_a_change_at_the_seam_of_two_plannings_is_planned_once(own):
    policy = create(own, office())
    # Planned up to the next Tuesday 00:00; topped up from there at a moment whose horizon ends on a change.
    assert policies_plan_ahead(now=MONDAY + timedelta(days=1, hours=8)) == 2  # next Tuesday 08:00 and 20:00
    assert planned(policy).count(("Tue 08:00", 200_000)) == 2  # this Tuesday's and the next one's
    assert planned(policy).count(("Wed 08:00", 200_000)) == 1  # the next Wednesday's is the seam: not yet
    assert policies_plan_ahead(now=MONDAY + timedelta(days=2, hours=8, minutes=1)) >= 1
    assert planned(policy).count(("Wed 08:00", 200_000)) == 2  # planned by the next top-up, once


def test_a_holiday_is_left_at_the_default(own):
    policy = create(own, office(holidays=[Holiday(date(2026, 12, 9))]))
    assert ("Wed 08:00", 200_000) not in planned(policy)
    assert ("Tue 20:00", 50_000) in planned(policy) and ("Thu 08:00", 200_000) in planned(policy)


def test_after_an_outage_only_the_latest_change_of_the_calendar_runs(own, inline_worker):
    policy = create(own, office())
    with inline_worker.sends():
        assert policies_run_due(now=MONDAY + timedelta(hours=9)) == 1
    op = Operation.objects.get()
    assert op.after["bandwidth_kbps"] == 200_000
    states = dict(policy.occurrences.order_by("due_at").values_list("due_at", "state")[:2])
    assert list(states.values()) == [OccurrenceState.SKIPPED, OccurrenceState.STARTED]


def test_resuming_plans_from_the_moment_it_resumes(own):
    policy = create(own, office(), now=datetime.now(SHANGHAI))
    engine.policy_pause(membership=own.member, policy=policy)
    Occurrence.objects.filter(policy=policy).delete()
    engine.policy_resume(membership=own.member, policy=policy)
    assert policy.occurrences.filter(state=OccurrenceState.PLANNED).count() >= 9  # a week of weekday changes


@pytest.mark.parametrize("calendar, words", [
    (WeeklyCalendar(windows=(Window(frozenset({0}), time(8), time(20), 100_000),
                             Window(frozenset({0}), time(19), time(22), 200_000)), default_kbps=50_000, tz=SHANGHAI),
     "overlap"),
    (WeeklyCalendar(windows=(), default_kbps=50_000, tz=SHANGHAI), "at least one window"),
    (office(busy=20_000_000), "whole number of Mbit/s"),
])
def test_an_unsound_calendar_is_refused_in_words(own, calendar, words):
    with pytest.raises(PolicyRefused, match=words):
        create(own, calendar)
    assert not Occurrence.objects.exists()
