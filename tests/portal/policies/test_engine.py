"""The policy engine against the live simulator: each planned change is an ordinary tracked MODIFY
operation, runs exactly once, waits for a change in flight, catches up once, and stops with the
service, the tenant's switch, or IES's refusal."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.operations.models import Operation, OperationKind, OperationState
from portal.policies import services as engine
from portal.policies.models import BandwidthPolicy, Occurrence, OccurrenceState, PolicyState
from portal.policies.services import PolicyRefused, policies_run_due, policy_one_off_create
from portal.services.models import Service
from portal.tenants.models import Membership, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def own(own_tenant):
    own_tenant.login("own1").get(f"/services/{own_tenant.service_id}/")  # the mirror learns it
    own_tenant.service = lambda: Service.objects.get(ies_service_id=own_tenant.service_id)
    own_tenant.member = Membership.objects.get(tenant=own_tenant.tenant, user__username="own1")
    return own_tenant


def boost(own, *, in_s=120, for_s=600, kbps=None, now=None):
    """A boost planned (as of ``now``) to start in ``in_s`` seconds and end ``for_s`` later."""
    now = now or timezone.now()
    service = own.service()
    return policy_one_off_create(membership=own.member, service=service, kbps=kbps or service.bandwidth_kbps + 20_000,
                                 at=now + timedelta(seconds=in_s),
                                 revert_at=now + timedelta(seconds=in_s + for_s) if for_s else None, now=now)


def later(seconds):
    return timezone.now() + timedelta(seconds=seconds)


def test_a_boost_plans_the_change_and_the_change_back_to_the_present_size(own):
    before = own.service().bandwidth_kbps
    policy = boost(own, kbps=before + 40_000)
    plan = list(policy.occurrences.values_list("kbps", "expect_kbps", "state"))
    assert plan == [(before + 40_000, None, "planned"), (before, before + 40_000, "planned")]
    assert policy.name == f"Boost to {(before + 40_000) // 1000} Mbit/s"
    event = AuditEvent.objects.get(action="policy.create")
    assert event.actor_name == "own1" and event.after["plan"].count("Mbit/s") == 2


@pytest.mark.parametrize("change, words", [
    ({"in_s": 10}, "at least a minute ahead"),
    ({"for_s": -60}, "must come after"),
    ({"kbps": 500}, "whole number of Mbit/s"),
    ({"kbps": 20_000_000}, "whole number of Mbit/s"),
    ({"kbps": 60_500}, "whole number of Mbit/s"),
])
def test_a_plan_that_cannot_run_is_refused_in_words(own, change, words):
    with pytest.raises(PolicyRefused, match=words):
        boost(own, **change)
    assert not BandwidthPolicy.objects.exists()


def test_a_viewer_cannot_plan(own):
    own.member.role = Role.VIEWER
    own.member.save()
    with pytest.raises(PolicyRefused, match="read-only"):
        boost(own)


def test_nothing_runs_before_its_time_and_the_change_runs_once_at_it(own, inline_worker):
    policy = boost(own)
    assert policies_run_due(now=later(60)) == 0
    with inline_worker.sends():
        assert policies_run_due(now=later(121)) == 1
        assert policies_run_due(now=later(125)) == 0  # a second tick finds nothing left
    op = Operation.objects.get()
    assert op.kind == OperationKind.MODIFY and op.requested_by is None
    assert op.after["bandwidth_kbps"] == policy.occurrences.first().kbps
    first = policy.occurrences.first()
    assert first.state == OccurrenceState.STARTED and first.operation == op
    # Audited with the policy as the actor.
    assert AuditEvent.objects.get(operation=op, outcome="requested").actor_name == f"policy “{policy.name}”"
    inline_worker.run_until(lambda: Operation.objects.get(pk=op.pk).finished_at, 30, what="the boost to end")
    assert own.service().bandwidth_kbps == first.kbps


def test_the_change_back_runs_after_the_change_and_ends_the_policy(own, inline_worker):
    before = own.service().bandwidth_kbps
    policy = boost(own, in_s=120, for_s=60)
    with inline_worker.sends():
        policies_run_due(now=later(121))
    inline_worker.run_until(lambda: Operation.objects.filter(finished_at__isnull=False).count() == 1, 30)
    with inline_worker.sends():
        assert policies_run_due(now=later(181)) == 1
    inline_worker.run_until(lambda: Operation.objects.filter(finished_at__isnull=False).count() == 2, 30)
    assert own.service().bandwidth_kbps == before
    policy.refresh_from_db()
    assert policy.state == PolicyState.ENDED
    assert list(Operation.objects.order_by("id").values_list("state", flat=True)) == ["succeeded", "succeeded"]


def test_a_change_waits_for_a_change_in_flight(own):
    boost(own)
    Operation.objects.create(tenant=own.tenant, service=own.service(), kind=OperationKind.MODIFY,
                             state=OperationState.PROCESSING)
    assert policies_run_due(now=later(121)) == 0
    assert Occurrence.objects.filter(state=OccurrenceState.PLANNED).count() == 2
    Operation.objects.update(state=OperationState.SUCCEEDED)
    assert policies_run_due(now=later(130)) == 1


def test_after_an_outage_past_both_times_only_the_latest_runs_once(own):
    policy = boost(own, in_s=120, for_s=60)
    assert policies_run_due(now=later(3600)) == 0  # the change back has nothing to undo
    states = dict(policy.occurrences.values_list("kbps", "state"))
    assert sorted(states.values()) == ["skipped", "skipped"]
    notes = list(policy.occurrences.values_list("note", flat=True))
    assert "only the later one runs" in notes[0] and "already has this bandwidth" in notes[1]
    assert not Operation.objects.exists()
    policy.refresh_from_db()
    assert policy.state == PolicyState.ENDED


def test_a_person_changing_the_bandwidth_meanwhile_is_not_undone(own):
    policy = boost(own, in_s=120, for_s=60)
    first = policy.occurrences.first()
    Occurrence.objects.filter(pk=first.pk).update(state=OccurrenceState.STARTED)
    Service.objects.filter(pk=own.service().pk).update(bandwidth_kbps=first.kbps + 50_000)  # someone else's size
    assert policies_run_due(now=later(181)) == 0
    back = policy.occurrences.last()
    assert back.state == OccurrenceState.SKIPPED and "not changed back" in back.note


def test_a_deleted_service_ends_its_policies(own):
    policy = boost(own)
    Service.objects.filter(pk=own.service().pk).update(gone_at=timezone.now())
    assert policies_run_due(now=later(121)) == 0
    policy.refresh_from_db()
    assert policy.state == PolicyState.ENDED and "deleted" in policy.note
    assert set(policy.occurrences.values_list("state", flat=True)) == {"cancelled"}


def test_the_tenants_switch_and_a_pause_hold_every_change(own):
    policy = boost(own)
    engine.tenant_automation_set(membership=own.member, paused=True)
    assert policies_run_due(now=later(121)) == 0
    engine.tenant_automation_set(membership=own.member, paused=False)
    engine.policy_pause(membership=own.member, policy=policy)
    assert policies_run_due(now=later(121)) == 0
    engine.policy_resume(membership=own.member, policy=policy)
    assert policies_run_due(now=later(121)) == 1
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"policy.automation_pause", "policy.automation_resume", "policy.pause", "policy.resume"} <= actions


def test_ending_a_policy_cancels_what_it_planned(own):
    policy = boost(own)
    engine.policy_end(membership=own.member, policy=policy)
    assert set(policy.occurrences.values_list("state", flat=True)) == {"cancelled"}
    assert policies_run_due(now=later(3600)) == 0
    with pytest.raises(PolicyRefused, match="ended"):
        engine.policy_resume(membership=own.member, policy=policy)


def test_a_tick_that_dies_before_committing_leaves_the_change_planned(own, monkeypatch):
    """What a worker killed mid-tick leaves: its transaction never committed, so nothing started."""
    boost(own)
    real = Occurrence.objects.filter

    def dying(*args, **kwargs):
        if kwargs.get("state") == OccurrenceState.PLANNED and "pk" in kwargs:
            raise KeyboardInterrupt("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(Occurrence.objects, "filter", dying)
    with pytest.raises(KeyboardInterrupt):
        policies_run_due(now=later(121))
    monkeypatch.undo()
    assert not Operation.objects.exists() and not AuditEvent.objects.filter(action="service.modify").exists()
    assert Occurrence.objects.filter(state=OccurrenceState.PLANNED).count() == 2
    assert policies_run_due(now=later(122)) == 1
    assert Operation.objects.count() == 1


def test_ies_refusing_the_change_pauses_the_policy_with_its_reason(own, inline_worker, sim):
    policy = boost(own)
    sim.add_fault(kind="fail_operations", count=1, reason="the POP has no spare capacity")
    with inline_worker.sends():
        policies_run_due(now=later(121))
    op = Operation.objects.get()
    inline_worker.run_until(lambda: Operation.objects.get(pk=op.pk).finished_at, 30, what="the change to end")
    policy.refresh_from_db()
    assert Operation.objects.get().state == OperationState.FAILED
    assert policy.state == PolicyState.PAUSED and "no spare capacity" in policy.note
    assert policies_run_due(now=later(3600)) == 0  # paused: the change back waits for a person


@pytest.mark.django_db(transaction=True)
def test_two_ticks_at_once_start_one_change(own):
    """A duplicated beat, or two workers: both run the same due change; one operation results."""
    boost(own)
    at = later(121)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def tick():
        try:
            barrier.wait()
            results.append(policies_run_due(now=at))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sorted(results) == [0, 1]
    assert Operation.objects.count() == 1
    assert Occurrence.objects.get(state=OccurrenceState.STARTED).operation == Operation.objects.get()
    assert not transaction.get_connection().in_atomic_block


def test_a_change_due_before_the_next_tick_gets_a_run_at_its_time(own, inline_worker):
    """The tick comes every POLICY_TICK_SECONDS; a change due in between starts moments after its
    time, by a run asked for at that second, not at the next tick."""
    service = own.service()
    policy = policy_one_off_create(membership=own.member, service=service, kbps=service.bandwidth_kbps + 20_000,
                                   at=later(2), now=later(-300))  # set up earlier, due in 2 s
    occurrence = policy.occurrences.get()
    with inline_worker.sends():
        assert policies_run_due() == 0  # not due yet: a run is asked for at its second
    assert any("policies.run_due" in sent for sent in inline_worker.sent)
    inline_worker.run_until(lambda: Occurrence.objects.get(pk=occurrence.pk).state == OccurrenceState.STARTED, 10,
                            what="the change to start")
    started = Occurrence.objects.get(pk=occurrence.pk)
    # At its second (rounded up), not at a tick: none comes here.
    assert timedelta(0) <= started.operation.created_at - started.due_at < timedelta(seconds=3)
    with inline_worker.sends():
        policies_run_due()
        policies_run_due()
    assert Operation.objects.count() == 1


def test_the_policy_is_named_wherever_its_change_is_shown(own, inline_worker):
    policy = boost(own)
    with inline_worker.sends():
        policies_run_due(now=later(121))
    op = Operation.objects.get()
    name = f"policy “{policy.name}”"
    assert op.actor_name == name and op.asker == name
    client = own.login("own1")
    assert name in client.get(f"/operations/{op.pk}/").text
    assert name in client.get("/operations/").text
    # A person asking for a change meanwhile is told which change is in the way, and by whom.
    from portal.services.services import ChangeRefused, service_bandwidth_change
    with pytest.raises(ChangeRefused, match=name):
        service_bandwidth_change(membership=own.member, service=own.service(), new_kbps=90_000)
    inline_worker.run_until(lambda: Operation.objects.get(pk=op.pk).finished_at, 30, what="the boost to end")
    # The service's history (its "Who" column) and audit trail name it too.
    from portal.services import queries
    detail = queries.service_detail(tenant=own.tenant, service=own.service())
    assert name in [entry.who for entry in detail.history]
    assert name in client.get(f"/services/{own.service_id}/").text
