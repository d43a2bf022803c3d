"""A bandwidth policy's actions reach the tenant's policy alert rules, by the policies' real paths:
a change proposed for approval, then started once approved."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.alerts.models import AlertEvent, AlertRule, EventStatus
from portal.policies import autoscale
from portal.policies.autoscaling import Settings, policies_autoscale, policy_autoscale_create, proposal_decide
from portal.policies.models import Occurrence, OccurrenceState
from portal.services.models import Service
from portal.tenants.models import Membership

pytestmark = pytest.mark.django_db


def test_a_proposal_and_its_approved_change_raise_policy_events(own_tenant_with_history, simulator, inline_worker):
    own = own_tenant_with_history
    own.login("own1").get(f"/services/{own.service_id}/")  # the mirror learns it
    service = Service.objects.get(ies_service_id=own.service_id)
    member = Membership.objects.get(tenant=own.tenant, user__username="own1")
    rule = AlertRule.objects.create(tenant=own.tenant, name="Policies", kind="policy",
                                    policy_events=["awaiting", "taken", "refused"])
    kbps = service.bandwidth_kbps
    simulator.add_load(tenant=own.name, connection=service.cloud_vpn_name, rate_bps=kbps * 1000 * 0.95,
                       **{"from": int(time.time()) // 60 * 60 - 90 * 60, "until": None})
    try:
        rules = autoscale.AutoScale(floor_kbps=max(1000, kbps // 2 // 1000 * 1000), ceiling_kbps=kbps * 4,
                                    up_for_s=15 * 60, down_for_s=30 * 60, cooldown_s=0,
                                    direction=autoscale.Direction.INBOUND)
        policy_autoscale_create(membership=member, service=service, name="auto",
                                settings=Settings(rules=rules, approval=True))
        assert policies_autoscale(timezone.now()).proposed == 1
        awaiting = AlertEvent.objects.get(rule=rule)
        assert awaiting.facts["event"] == "awaiting" and awaiting.status == EventStatus.NOTICE
        assert awaiting.service_id == service.ies_service_id and awaiting.facts["policy"] == "auto"
        proposal = Occurrence.objects.get(state=OccurrenceState.PROPOSED)
        with inline_worker.sends():
            proposal_decide(membership=member, occurrence=proposal, approve=True)
        taken = AlertEvent.objects.filter(rule=rule).exclude(pk=awaiting.pk).get()
        assert taken.facts == {"event": "taken", "policy": "auto", "kbps": proposal.kbps, "reason": ""}
        assert taken.created_at - awaiting.created_at < timedelta(minutes=1)
    finally:
        simulator.clear_load()
