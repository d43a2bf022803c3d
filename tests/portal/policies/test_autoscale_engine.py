"""Auto-scale against the live simulator, its load driven through the simulator's own switch: the
tick scales up under sustained load and down when quiet, as ordinary tracked MODIFY operations, once
per decision, never during a change or a cooldown (a person's change starts one too), with at most one
IES traffic call per connection per tick (counted in the simulator's own log); approvals propose,
are approved or declined once, and lapse."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.operations.models import Operation, OperationKind, OperationState
from portal.policies import autoscale, autoscaling
from portal.policies.autoscaling import Settings, policies_autoscale, policy_autoscale_create, proposal_decide
from portal.policies.models import BandwidthPolicy, Occurrence, OccurrenceState, PolicyState
from portal.policies.services import PolicyRefused, policies_run_due, policy_end, policy_weekly_create
from portal.services.models import Service
from portal.tenants.models import Membership, Role, Tenant
from tests.portal.helpers import post
from tests.portal.policies.test_weekly_engine import office

pytestmark = pytest.mark.django_db

MINUTE = 60


@pytest.fixture
def own(own_tenant_with_history):
    own = own_tenant_with_history
    own.login("own1").get(f"/services/{own.service_id}/")  # the mirror learns it
    own.service = lambda: Service.objects.get(ies_service_id=own.service_id)
    own.member = Membership.objects.get(tenant=own.tenant, user__username="own1")
    return own


def drive(simulator, own, *, rate_bps, minutes=90, direction="both"):
    """The connection's demand from ``minutes`` ago on, open-ended (the simulator's load switch)."""
    simulator.add_load(tenant=own.name, connection=own.service().cloud_vpn_name, direction=direction,
                       rate_bps=rate_bps, until=None, **{"from": int(time.time()) // 60 * 60 - minutes * MINUTE})


def rules(service, **overrides):
    kbps = service.bandwidth_kbps
    values = {"floor_kbps": max(1000, kbps // 2 // 1000 * 1000), "ceiling_kbps": kbps * 4, "up_for_s": 15 * MINUTE,
              "down_for_s": 30 * MINUTE, "cooldown_s": 0, "direction": autoscale.Direction.INBOUND}
    values.update(overrides)
    return autoscale.AutoScale(**values)


def set_policy(own, *, approval=False, **overrides):
    return policy_autoscale_create(membership=own.member, service=own.service(), name="auto",
                                   settings=Settings(rules=rules(own.service(), **overrides), approval=approval))


def tick(now=None):
    """The beat's auto-scale look, then the run that starts what it planned (as the worker would on
    the look's send); the changes started."""
    now = now or timezone.now()
    policies_autoscale(now)
    return policies_run_due(now + timedelta(seconds=1))


def traffic_calls(simulator, since, name):
    return [line for line in simulator.log()[since:].splitlines() if f"/traffic/connections/{name}/" in line]


def finish(inline_worker, op):
    inline_worker.run_until(lambda: Operation.objects.get(pk=op.pk).state not in (OperationState.QUEUED,
                                                                                 OperationState.PROCESSING),
                            what="the change to finish")
    return Operation.objects.get(pk=op.pk)


def test_sustained_load_scales_up_once_as_a_tracked_change_the_policy_is_named_in(own, simulator, inline_worker):
    service = own.service()
    before = service.bandwidth_kbps
    drive(simulator, own, rate_bps=before * 1000 * 0.95)  # 95 %: well above 80 %
    policy = set_policy(own)
    mark = len(simulator.log())
    now = timezone.now()
    with inline_worker.sends():
        stats = policies_autoscale(now)
        policies_autoscale(now)  # a duplicated beat in the same minute
        assert stats.planned == 1 and Occurrence.objects.count() == 1
        assert policies_run_due(now) == 1 and policies_run_due(now) == 0
    assert len(traffic_calls(simulator, mark, service.cloud_vpn_name)) <= 2  # one per tick at most
    occurrence = Occurrence.objects.get(policy=policy)
    assert occurrence.state == OccurrenceState.STARTED and occurrence.expect_kbps == before
    # Target 60 %: the size carrying the window's p95 (95 % ± the simulator's 2 % noise) at 60 %.
    assert before * 0.95 / 0.6 <= occurrence.kbps <= before * 0.97 / 0.6 + 1000 and occurrence.kbps % 1000 == 0
    assert occurrence.decision["reason"] == "up" and occurrence.decision["figure"] > 90
    op = Operation.objects.get(kind=OperationKind.MODIFY)
    assert op.actor_name == 'policy “auto”' and op.after["bandwidth_kbps"] == occurrence.kbps
    assert finish(inline_worker, op).state == OperationState.SUCCEEDED
    assert own.service().bandwidth_kbps == occurrence.kbps
    assert AuditEvent.objects.filter(actor_name='policy “auto”').exists()
    policy.refresh_from_db()
    assert policy.last_check["reason"] == "up"


def test_it_looks_no_further_during_a_change_in_flight_nor_during_the_cooldown(own, simulator, inline_worker):
    service = own.service()
    drive(simulator, own, rate_bps=service.bandwidth_kbps * 1000 * 0.95)
    policy = set_policy(own, cooldown_s=3600)
    with inline_worker.sends():
        assert tick() == 1
    mark = len(simulator.log())
    policies_autoscale(timezone.now() + timedelta(minutes=1))  # the change is still in flight
    policy.refresh_from_db()
    assert policy.last_check["reason"] in ("change_in_flight", "cooldown")
    finish(inline_worker, Operation.objects.get(kind=OperationKind.MODIFY))
    policies_autoscale(timezone.now() + timedelta(minutes=2))
    policy.refresh_from_db()
    assert policy.last_check["reason"] == "cooldown"
    assert traffic_calls(simulator, mark, service.cloud_vpn_name) == []  # neither look asked IES
    assert Occurrence.objects.filter(policy=policy).count() == 1


def test_a_persons_change_starts_the_cooldown_too(own, simulator, inline_worker):
    service = own.service()
    drive(simulator, own, rate_bps=service.bandwidth_kbps * 1000 * 0.95)
    policy = set_policy(own, cooldown_s=3600)
    client = own.login("own2")
    with inline_worker.sends():
        answer = post(client, f"/services/{own.service_id}/bandwidth/",
                      {"bandwidth_0": str(service.bandwidth_kbps + 1000), "bandwidth_1": "kbit/s", "confirm": "1"})
    assert answer.status_code in (200, 302), answer.content[:500]
    finish(inline_worker, Operation.objects.get(kind=OperationKind.MODIFY))
    assert tick() == 0
    policy.refresh_from_db()
    assert policy.last_check["reason"] == "cooldown"


def test_quiet_traffic_scales_down_to_the_size_that_keeps_it_under_the_target(own, simulator, inline_worker):
    service = own.service()
    before = service.bandwidth_kbps
    drive(simulator, own, rate_bps=before * 1000 * 0.05)  # 5 %
    policy = set_policy(own, floor_kbps=1000)
    with inline_worker.sends():
        assert tick() == 1
    occurrence = Occurrence.objects.get(policy=policy)
    assert occurrence.decision["reason"] == "down" and occurrence.kbps < before
    # The smaller size carries the window's traffic under the target, so it would not scale back up.
    assert before * 0.05 / occurrence.kbps * 100 < 60


def test_steady_traffic_changes_nothing_and_says_why(own, simulator, inline_worker):
    service = own.service()
    drive(simulator, own, rate_bps=service.bandwidth_kbps * 1000 * 0.5)
    policy = set_policy(own)
    assert tick() == 0
    policy.refresh_from_db()
    assert policy.last_check["reason"] == "steady" and 40 < policy.last_check["figure"] < 60
    page = own.login().get(f"/services/{own.service_id}/policies/").content.decode()
    assert "Steady:" in page and "Between" in page


def test_watching_either_direction_asks_ies_once_per_tick_in_turns(own, simulator, inline_worker):
    service = own.service()
    drive(simulator, own, rate_bps=service.bandwidth_kbps * 1000 * 0.5)
    policy = set_policy(own, direction=autoscale.Direction.EITHER)
    start = timezone.now().replace(second=30, microsecond=0)
    reasons = []
    for minute in range(3):
        mark = len(simulator.log())
        # Ticks a minute apart, a few minutes back so that every minute read is closed at IES too.
        policies_autoscale(start - timedelta(minutes=5 - minute))
        assert len(traffic_calls(simulator, mark, service.cloud_vpn_name)) <= 1
        policy.refresh_from_db()
        reasons.append(policy.last_check["reason"])
    # The first tick has one direction only; from the second on both are known.
    assert reasons[1:] == ["steady", "steady"]


def test_watching_either_direction_a_new_policy_reads_the_other_direction_at_the_next_look(own, simulator):
    service = own.service()
    drive(simulator, own, rate_bps=service.bandwidth_kbps * 1000 * 0.5)
    policy = set_policy(own, direction=autoscale.Direction.EITHER)
    now = timezone.now()
    marks = []
    for seconds in (0, 5, 10):  # three looks in the same minute
        mark = len(simulator.log())
        policies_autoscale(now + timedelta(seconds=seconds))
        marks.append(len(traffic_calls(simulator, mark, service.cloud_vpn_name)))
        policy.refresh_from_db()
    # The first look reads one direction, the second the other (its own one call), the third none.
    assert marks == [1, 1, 0] or marks == [1, 1, 1] and now.second >= 50
    assert policy.last_check["reason"] == "steady"


def test_a_change_to_approve_waits_shows_in_the_header_and_runs_once_when_approved(own, simulator, inline_worker):
    service = own.service()
    drive(simulator, own, rate_bps=service.bandwidth_kbps * 1000 * 0.95)
    policy = set_policy(own, approval=True)
    stats = policies_autoscale()
    assert stats.proposed == 1 and stats.planned == 0 and policies_run_due() == 0
    assert not Operation.objects.exists()
    assert Tenant.objects.get(pk=own.tenant.pk).policy_notices == 1
    page = own.login("own2").get("/policies/").content.decode()
    assert 'data-testid="policy-notices"' in page and "1 to decide" in page
    proposal = Occurrence.objects.get(policy=policy, state=OccurrenceState.PROPOSED)
    policies_autoscale(timezone.now() + timedelta(minutes=1))  # no second proposal while one waits
    assert Occurrence.objects.filter(policy=policy).count() == 1
    policy.refresh_from_db()
    assert policy.last_check["reason"] == "awaiting_approval"
    with inline_worker.sends():
        decided = proposal_decide(membership=own.member, occurrence=proposal, approve=True)
    assert decided.state == OccurrenceState.STARTED and decided.decided_by.username == "own1"
    with pytest.raises(PolicyRefused, match="already"):
        proposal_decide(membership=own.member, occurrence=proposal, approve=True)
    assert Operation.objects.filter(kind=OperationKind.MODIFY).count() == 1
    assert Tenant.objects.get(pk=own.tenant.pk).policy_notices == 0
    assert AuditEvent.objects.filter(action="policy.approve").count() == 1


def test_a_proposal_declined_or_unapproved_in_time_changes_nothing(own, simulator, inline_worker):
    service = own.service()
    drive(simulator, own, rate_bps=service.bandwidth_kbps * 1000 * 0.95)
    policy = set_policy(own, approval=True)
    policies_autoscale()
    first = Occurrence.objects.get(policy=policy)
    proposal_decide(membership=own.member, occurrence=first, approve=False)
    first.refresh_from_db()
    assert first.state == OccurrenceState.SKIPPED and "Declined by own1" in first.note
    stats = policies_autoscale(timezone.now() + timedelta(minutes=1))
    assert stats.proposed == 1
    second = Occurrence.objects.get(policy=policy, state=OccurrenceState.PROPOSED)
    assert policies_autoscale(timezone.now() + timedelta(hours=2)).expired == 1
    second.refresh_from_db()
    assert second.state == OccurrenceState.SKIPPED and "lapsed" in second.note
    with pytest.raises(PolicyRefused, match="lapsed"):
        proposal_decide(membership=own.member, occurrence=second, approve=True)
    assert not Operation.objects.exists()
    assert Tenant.objects.get(pk=own.tenant.pk).policy_notices == 0


def test_a_viewer_cannot_approve_and_another_tenant_cannot_see_the_proposal(own, simulator, login, inline_worker):
    service = own.service()
    drive(simulator, own, rate_bps=service.bandwidth_kbps * 1000 * 0.95)
    policy = set_policy(own, approval=True)
    policies_autoscale()
    proposal = Occurrence.objects.get(policy=policy)
    viewer = Membership.objects.get(tenant=own.tenant, user__username="own2")
    viewer.role = Role.VIEWER
    viewer.save()
    with pytest.raises(PolicyRefused, match="read-only"):
        proposal_decide(membership=viewer, occurrence=proposal, approve=True)
    client = own.login("own2")
    page = client.get("/policies/")
    assert page.status_code == 200 and 'data-testid="proposal"' in page.content.decode()
    assert 'name="action" value="approve"' not in page.content.decode()
    assert post(client, f"/policies/proposals/{proposal.pk}/", {"action": "approve"}).status_code == 403
    stranger = login("user1")
    other = stranger.get("/policies/")
    assert 'data-testid="proposal"' not in other.content.decode()
    assert post(stranger, f"/policies/proposals/{proposal.pk}/", {"action": "approve"}).status_code == 404
    proposal.refresh_from_db()
    assert proposal.state == OccurrenceState.PROPOSED


def test_the_tenants_switch_and_a_paused_policy_hold_it(own, simulator):
    service = own.service()
    drive(simulator, own, rate_bps=service.bandwidth_kbps * 1000 * 0.95)
    policy = set_policy(own)
    Tenant.objects.filter(pk=own.tenant.pk).update(automation_paused=True)
    assert policies_autoscale().evaluated == 0
    Tenant.objects.filter(pk=own.tenant.pk).update(automation_paused=False)
    BandwidthPolicy.objects.filter(pk=policy.pk).update(state=PolicyState.PAUSED)
    assert policies_autoscale().evaluated == 0
    assert not Operation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_ticks_at_once_change_the_service_once(own, simulator, inline_worker):
    service = own.service()
    drive(simulator, own, rate_bps=service.bandwidth_kbps * 1000 * 0.95)
    set_policy(own)
    now = timezone.now()
    barrier = threading.Barrier(2)
    results = []

    def tick():
        try:
            barrier.wait()
            policies_autoscale(now)
            results.append(policies_run_due(now + timedelta(seconds=1)))
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1]
    assert Operation.objects.filter(kind=OperationKind.MODIFY).count() == 1


def test_a_policy_that_cannot_work_is_refused_in_words(own):
    service = own.service()
    with pytest.raises(PolicyRefused, match="between the two thresholds"):
        set_policy(own, target_pct=90)
    with pytest.raises(PolicyRefused, match="floor not above"):
        set_policy(own, floor_kbps=service.bandwidth_kbps * 8)
    set_policy(own)
    with pytest.raises(PolicyRefused, match="already has an auto-scale policy"):
        set_policy(own)


def test_a_calendar_and_auto_scale_never_share_a_service(own):
    policy_weekly_create(membership=own.member, service=own.service(), calendar=office())
    with pytest.raises(PolicyRefused, match="weekly calendar"):
        set_policy(own)
    policy = BandwidthPolicy.objects.get()
    policy_end(membership=own.member, policy=policy)
    assert set_policy(own).kind == "autoscale"


def test_the_backtest_replays_the_policy_over_the_connections_own_traffic(own, simulator):
    service = own.service()
    drive(simulator, own, rate_bps=service.bandwidth_kbps * 1000 * 0.95, minutes=6 * 60)
    # Without a daily limit in the way: how many changes the quiet hours before took depends on the hour.
    result = autoscaling.backtest_for(tenant=own.tenant, service=service, days=7, now=timezone.now(),
                                      settings=Settings(rules=rules(service, max_per_day=96, max_per_month=3000)))
    outcome = result.outcome
    assert len(outcome.times) == 7 * 1440
    driven = outcome.times >= outcome.times[-1] - 4 * 3600  # well inside the 6 busy hours
    # Over the busy hours it is sized up and stays so; at today's size those hours are all busy.
    assert outcome.changes[-1].decision.reason == autoscale.Reason.UP
    assert (outcome.bandwidth_bps[driven] > service.bandwidth_kbps * 1000).all()
    assert result.rate_in[driven].min() > service.bandwidth_kbps * 1000 * 0.9


def test_with_ies_failing_it_changes_nothing_and_says_so(own, simulator):
    service = own.service()
    drive(simulator, own, rate_bps=service.bandwidth_kbps * 1000 * 0.95)
    policy = set_policy(own)
    simulator.add_fault(kind="error", status=503, prefix="/rest/cloudvpnwatch")
    assert tick() == 0
    policy.refresh_from_db()
    assert policy.last_check["reason"] == "no_traffic"
    page = own.login().get(f"/services/{own.service_id}/policies/").text
    assert "IES did not give the traffic at the last look" in page
    assert not Operation.objects.exists()


class Killed(BaseException):
    """The worker dying mid-tick: nothing of the tick's transaction is committed."""


def test_a_worker_killed_before_the_change_starts_leaves_it_planned_and_the_next_run_starts_it_once(
        own, simulator, inline_worker, monkeypatch):
    from portal.policies import services as engine

    service = own.service()
    drive(simulator, own, rate_bps=service.bandwidth_kbps * 1000 * 0.95)
    policy = set_policy(own)

    def die(**kwargs):
        raise Killed

    monkeypatch.setattr(engine, "service_bandwidth_change_planned", die)
    now = timezone.now().replace(second=1)  # the looks below stay in one minute
    policies_autoscale(now)
    with pytest.raises(Killed):
        policies_run_due(now)
    assert Occurrence.objects.get(policy=policy).state == OccurrenceState.PLANNED and not Operation.objects.exists()
    monkeypatch.undo()
    policies_autoscale(now + timedelta(seconds=20))  # a look in the same minute adds nothing
    with inline_worker.sends():
        assert policies_run_due(now + timedelta(seconds=30)) == 1
    assert Occurrence.objects.get(policy=policy).state == OccurrenceState.STARTED
    assert Operation.objects.filter(kind=OperationKind.MODIFY).count() == 1


def test_a_decision_not_started_in_time_is_not_run_late(own, simulator):
    service = own.service()
    drive(simulator, own, rate_bps=service.bandwidth_kbps * 1000 * 0.95)
    policy = set_policy(own)
    now = timezone.now()
    policies_autoscale(now)
    assert policies_run_due(now + timedelta(minutes=5)) == 0
    occurrence = Occurrence.objects.get(policy=policy)
    assert occurrence.state == OccurrenceState.SKIPPED and "fresh traffic" in occurrence.note
    assert not Operation.objects.exists()


def test_past_its_budget_a_tick_looks_first_at_what_may_change_then_at_the_longest_unseen(own, simulator, settings):
    from portal.policies.autoscaling import _priority

    service = own.service()
    drive(simulator, own, rate_bps=service.bandwidth_kbps * 1000 * 0.5)
    policy = set_policy(own)
    settings.POLICY_AUTOSCALE_LOOKS_PER_TICK = 0
    stats = policies_autoscale()
    assert stats.deferred == 1 and stats.ies_calls == 0 and stats.evaluated == 0
    settings.POLICY_AUTOSCALE_LOOKS_PER_TICK = 1
    assert policies_autoscale().evaluated == 1
    policy.refresh_from_db()
    spec = policy.spec

    def look(reason, figure, at):
        return BandwidthPolicy(spec=spec, last_check={"reason": reason, "figure": figure, "at": at})

    ordered = sorted([look("steady", 50.0, "2026-12-07T10:00"), look("steady", 75.0, "2026-12-07T10:05"),
                      look("steady", 45.0, "2026-12-07T09:00"), look("not_enough_data", None, "2026-12-07T10:06")],
                     key=_priority)
    assert [p.last_check["figure"] for p in ordered] == [75.0, None, 45.0, 50.0]


def test_watching_either_direction_it_scales_down_only_once_both_directions_are_known(own, simulator, inline_worker):
    service = own.service()
    drive(simulator, own, rate_bps=service.bandwidth_kbps * 1000 * 0.05)
    policy = set_policy(own, direction=autoscale.Direction.EITHER, floor_kbps=1000)
    now = timezone.now().replace(second=1)
    policies_autoscale(now)  # one direction read: quiet, but the other is not known yet
    policy.refresh_from_db()
    assert policy.last_check["reason"] == "not_enough_data" and not Occurrence.objects.exists()
    policies_autoscale(now + timedelta(seconds=5))  # the other direction's turn
    policy.refresh_from_db()
    assert policy.last_check["reason"] == "down"
    assert Occurrence.objects.get(policy=policy).decision["reason"] == "down"
