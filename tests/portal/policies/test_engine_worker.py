"""A boost that reverts, run by a real Celery worker and its beat against the live simulator."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.operations.models import Operation, OperationState
from portal.policies.models import BandwidthPolicy, PolicyState
from portal.policies.services import policy_one_off_create
from portal.services.models import Service
from portal.tenants.ies import ies_for_tenant
from portal.tenants.models import Membership
from tests.portal.services.mirroring import mirror_tenants
from tests.waiting import wait_until


@pytest.mark.django_db(transaction=True)
def test_a_boost_reverts_by_itself(own_tenant, start_worker, simulator):
    mirror_tenants(own_tenant.tenant)
    service = Service.objects.get(ies_service_id=own_tenant.service_id)
    before = service.bandwidth_kbps
    member = Membership.objects.get(tenant=own_tenant.tenant, user__username="own1")
    worker = start_worker(env={"POLICY_TICK_SECONDS": "1"}, beat=True)
    now = timezone.now()
    # Planned as if set up two minutes ago (a plan must be a minute ahead): due in 3 s, back 6 s later.
    policy = policy_one_off_create(membership=member, service=service, kbps=before + 30_000,
                                   at=now + timedelta(seconds=3), revert_at=now + timedelta(seconds=9),
                                   now=now - timedelta(minutes=2))

    def ended():
        policy.refresh_from_db()
        return policy.state == PolicyState.ENDED

    wait_until(ended, timeout=60, what="the policy to end", detail=lambda: worker.output()[-1500:])
    ops = list(Operation.objects.order_by("id"))
    assert [op.state for op in ops] == [OperationState.SUCCEEDED, OperationState.SUCCEEDED]
    assert [op.after["bandwidth_kbps"] for op in ops] == [before + 30_000, before]
    started = [o.ran_at for o in policy.occurrences.order_by("due_at")]
    due = [o.due_at for o in policy.occurrences.order_by("due_at")]
    # Each started within a few ticks of its time (the second once the first had ended).
    assert timedelta(0) <= started[0] - due[0] < timedelta(seconds=5)
    assert started[1] >= due[1]
    # IES itself is back at the size before the boost.
    with ies_for_tenant(own_tenant.tenant) as client:
        assert client.get_service(own_tenant.service_id).bandwidth_kbps == before
    assert AuditEvent.objects.filter(actor_name=f"policy “{policy.name}”", outcome="requested").count() == 2
    assert BandwidthPolicy.objects.get().state == PolicyState.ENDED


@pytest.mark.django_db(transaction=True)
def test_auto_scale_under_driven_load_scales_up_once_with_the_beat_ticking(own_tenant_with_history, start_worker,
                                                                          simulator):
    import time

    from portal.policies import autoscale
    from portal.policies.autoscaling import Settings, policy_autoscale_create

    own = own_tenant_with_history
    mirror_tenants(own.tenant)
    service = Service.objects.get(ies_service_id=own.service_id)
    before = service.bandwidth_kbps
    simulator.add_load(tenant=own.name, connection=service.cloud_vpn_name, direction="both", until=None,
                       rate_bps=before * 1000 * 0.9, **{"from": int(time.time()) // 60 * 60 - 3600})
    member = Membership.objects.get(tenant=own.tenant, user__username="own1")
    policy_autoscale_create(membership=member, service=service, settings=Settings(rules=autoscale.AutoScale(
        floor_kbps=before, ceiling_kbps=before * 10, cooldown_s=0)))
    # The beat looks every second: dozens of looks while the change is decided, runs and settles.
    worker = start_worker(env={"POLICY_AUTOSCALE_SECONDS": "1"}, beat=True)

    def changed():
        return Operation.objects.filter(state=OperationState.SUCCEEDED).exists()

    wait_until(changed, timeout=60, what="the scale-up", detail=lambda: worker.output()[-1500:])
    time.sleep(5)  # more looks, with the change behind them
    (op,) = Operation.objects.all()
    assert op.after["bandwidth_kbps"] > before and op.actor_name.startswith("policy")
    with ies_for_tenant(own.tenant) as client:
        assert client.get_service(own.service_id).bandwidth_kbps == op.after["bandwidth_kbps"]
