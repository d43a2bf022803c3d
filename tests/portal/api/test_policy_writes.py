"""Bandwidth policies through the API: a boost planned (or only tried), paused, resumed, ended."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.policies.models import BandwidthPolicy, Occurrence, OccurrenceState


@pytest.fixture
def api(own_tenant, api_for):
    return api_for(get_user_model().objects.get(username="own1"), own_tenant.tenant)


def _boost(own_tenant, **overrides):
    at = timezone.now() + timedelta(hours=2)
    body = {"service_id": own_tenant.service_id, "bandwidth_kbps": 250000, "at": at.isoformat(),
            "revert_at": (at + timedelta(hours=3)).isoformat(), "name": "Friday boost"}
    body.update(overrides)
    return body


def test_a_boost_is_planned_with_its_change_back(own_tenant, api):
    body = _boost(own_tenant)
    answer = api.post("/api/v1/policies", body, headers={"Idempotency-Key": "boost-1"})
    assert answer.status_code == 201, answer.content
    policy = answer.json()
    assert policy["kind"] == "one_off" and policy["state"] == "active" and policy["name"] == "Friday boost"
    assert policy["next_change_kbps"] == 250000 and answer["Location"].endswith(f"/api/v1/policies/{policy['id']}")
    assert Occurrence.objects.filter(policy_id=policy["id"], state=OccurrenceState.PLANNED).count() == 2
    event = AuditEvent.objects.get(action="policy.create", tenant=own_tenant.tenant)
    assert event.via_token.startswith("ci (cvp_")
    again = api.post("/api/v1/policies", body, headers={"Idempotency-Key": "boost-1"})
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert BandwidthPolicy.objects.filter(tenant=own_tenant.tenant).count() == 1


def test_a_dry_run_plans_nothing(own_tenant, api):
    answer = api.post("/api/v1/policies?dry_run=true", _boost(own_tenant))
    assert answer.status_code == 200 and answer.json()["id"] == 0
    assert answer.json()["next_change_kbps"] == 250000
    assert not BandwidthPolicy.objects.exists() and not AuditEvent.objects.filter(action="policy.create").exists()


def test_refusals_say_why(own_tenant, api):
    past = api.post("/api/v1/policies", _boost(own_tenant, at=(timezone.now() - timedelta(minutes=5)).isoformat()))
    assert past.status_code == 422 and "a minute ahead" in past.json()["detail"]
    odd = api.post("/api/v1/policies", _boost(own_tenant, bandwidth_kbps=250500))
    assert odd.status_code == 422 and "whole number of Mbit/s" in odd.json()["detail"]
    other = api.post("/api/v1/policies", _boost(own_tenant, service_id="NoSuchService"))
    assert other.status_code == 404


def test_pause_resume_end(own_tenant, api):
    policy_id = api.post("/api/v1/policies", _boost(own_tenant)).json()["id"]
    assert api.post(f"/api/v1/policies/{policy_id}/pause").json()["state"] == "paused"
    assert api.post(f"/api/v1/policies/{policy_id}/resume").json()["state"] == "active"
    ended = api.post(f"/api/v1/policies/{policy_id}/end")
    assert ended.json()["state"] == "ended" and ended.json()["next_change_at"] is None
    refused = api.post(f"/api/v1/policies/{policy_id}/pause")
    assert refused.status_code == 409 and refused.json()["type"] == "urn:cloudvpn:problem:policy-refused"
