"""An operation that ends is told to the tenant's webhooks: one signed delivery, the API's operation
shape, and nothing to another tenant's endpoint."""

import json

from django.contrib.auth import get_user_model

from portal.operations.models import Operation, OperationState
from portal.services.models import Service
from portal.webhooks import services
from portal.webhooks.models import DeliveryState, WebhookDelivery

OPERATION_FIELDS = {"id", "kind", "state", "done", "service_id", "service_name", "before", "after", "message",
                    "requested_by", "created_at", "submitted_at", "finished_at"}


def test_a_finished_change_is_delivered_signed_once(own_tenant, other_tenant, receiver, api_for, inline_worker):
    own1 = get_user_model().objects.get(username="own1")
    endpoint, receiver.secret = services.webhook_create(tenant=own_tenant.tenant, user=own1, url=receiver.url,
                                                        events=["operation.succeeded"])
    # The other tenant's endpoint, at a URL of its own on the same receiver: it must hear nothing.
    other_url = receiver.url.replace("/hooks/cloudvpn", "/other-tenant")
    services.webhook_create(tenant=other_tenant, user=get_user_model().objects.get(username="other1"), url=other_url)

    api = api_for(own1, own_tenant.tenant)
    new = Service.objects.get(ies_service_id=own_tenant.service_id).bandwidth_kbps + 20000
    with inline_worker.sends():
        answer = api.patch(f"/api/v1/services/{own_tenant.service_id}", {"bandwidth_kbps": new})
    assert answer.status_code == 202, answer.content
    op_id = answer.json()["id"]
    inline_worker.run_until(lambda: WebhookDelivery.objects.filter(state=DeliveryState.DELIVERED).exists(), 60,
                            what="the operation to end and its webhook to be delivered")
    op = Operation.objects.get(pk=op_id)
    assert op.state == OperationState.SUCCEEDED, op.message

    [request] = receiver.requests
    assert request.verified and request.path.startswith("/hooks/cloudvpn")
    assert request.headers["CloudVPN-Event"] == "operation.succeeded"
    body = json.loads(request.body)
    assert request.headers["CloudVPN-Delivery"] == body["id"]
    assert body["type"] == "operation.succeeded" and body["tenant"] == own_tenant.tenant.name
    sent = body["data"]["operation"]
    assert set(sent) == OPERATION_FIELDS
    assert sent["id"] == op_id and sent["done"] is True and sent["after"]["bandwidth_kbps"] == new
    assert sent["requested_by"] == "own1" and sent["finished_at"]
    # What the API says of the operation, field for field.
    shown = api.get(f"/api/v1/operations/{op_id}").json()
    assert {k: shown[k] for k in ("id", "kind", "state", "done", "service_id", "before", "after")} == \
        {k: sent[k] for k in ("id", "kind", "state", "done", "service_id", "before", "after")}
    [row] = WebhookDelivery.objects.all()
    assert row.endpoint == endpoint and row.attempts == 1


def test_an_event_not_subscribed_to_is_not_sent(own_tenant, receiver, inline_worker):
    own1 = get_user_model().objects.get(username="own1")
    services.webhook_create(tenant=own_tenant.tenant, user=own1, url=receiver.url, events=["operation.failed"])
    assert services.webhook_event_emit(tenant=own_tenant.tenant, event_type="operation.succeeded", data={}) == []
    assert len(services.webhook_event_emit(tenant=own_tenant.tenant, event_type="operation.failed", data={})) == 1


def test_an_operation_halted_for_its_token_is_told_as_needs_attention(own_tenant, receiver, api_for, inline_worker,
                                                                     sim):
    """Not an end (it may be rechecked later), but what a tenant's tooling must hear of at once."""
    own1 = get_user_model().objects.get(username="own1")
    _endpoint, receiver.secret = services.webhook_create(tenant=own_tenant.tenant, user=own1, url=receiver.url)
    api = api_for(own1, own_tenant.tenant)
    sim.add_fault(kind="expire_token", tenant=own_tenant.name)
    new = Service.objects.get(ies_service_id=own_tenant.service_id).bandwidth_kbps + 20000
    with inline_worker.sends():
        answer = api.patch(f"/api/v1/services/{own_tenant.service_id}", {"bandwidth_kbps": new})
    assert answer.status_code == 202, answer.content
    inline_worker.run_until(lambda: WebhookDelivery.objects.filter(state=DeliveryState.DELIVERED).exists(), 60,
                            what="the halt to be delivered")
    assert Operation.objects.get(pk=answer.json()["id"]).state == OperationState.NEEDS_ATTENTION
    [request] = receiver.requests
    assert request.verified and request.headers["CloudVPN-Event"] == "operation.needs_attention"
    sent = json.loads(request.body)["data"]["operation"]
    assert sent["state"] == "needs_attention" and sent["done"] is True and "token" in sent["message"]
