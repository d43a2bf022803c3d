"""Deliveries: retried until delivered, sent once however often the task comes, swept when lost,
given up and the endpoint disabled after the window."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.webhooks import dispatch, services
from portal.webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint


def make_endpoint(tenant, receiver, **kwargs) -> WebhookEndpoint:
    user = get_user_model().objects.filter(memberships__tenant=tenant).first()
    endpoint, secret = services.webhook_create(tenant=tenant, user=user, url=receiver.url, **kwargs)
    receiver.secret = secret
    return endpoint


def emit(inline_worker, tenant, event_type="operation.failed"):
    with inline_worker.sends():
        made = services.webhook_event_emit(tenant=tenant, event_type=event_type, data={"operation": {"id": 1}})
    return made


def test_a_failing_receiver_is_retried_until_it_answers(other_tenant, receiver, inline_worker):
    receiver.statuses = [500, 500, 200]
    endpoint = make_endpoint(other_tenant, receiver)
    [row] = emit(inline_worker, other_tenant)
    inline_worker.run_until(lambda: WebhookDelivery.objects.get(pk=row.pk).state == DeliveryState.DELIVERED, 30,
                            what="the delivery to succeed")
    row.refresh_from_db()
    assert row.attempts == 3 and row.last_status_code == 200 and row.delivered_at
    assert row.last_response_excerpt == '{"received": true}' and row.last_error == ""
    assert len(receiver.requests) == 3
    assert all(r.verified for r in receiver.requests)
    assert {r.headers["CloudVPN-Delivery"] for r in receiver.requests} == {str(row.event_id)}
    assert {r.body for r in receiver.requests} == {receiver.requests[0].body}
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.active


def test_a_duplicated_task_sends_once(other_tenant, receiver, inline_worker):
    make_endpoint(other_tenant, receiver)
    with inline_worker.sends():
        [row] = services.webhook_event_emit(tenant=other_tenant, event_type="operation.succeeded", data={})
        dispatch.deliver(row.pk)  # the same message twice
    inline_worker.run_until(lambda: WebhookDelivery.objects.get(pk=row.pk).state == DeliveryState.DELIVERED, 10)
    assert inline_worker.ran.count(dispatch.DELIVER) == 1
    inline_worker.run_until(lambda: inline_worker.ran.count(dispatch.DELIVER) == 2, 10, what="the duplicate to run")
    assert services.delivery_attempt(delivery_id=row.pk) == "skipped"
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get(pk=row.pk).attempts == 1


def test_a_lost_message_is_sent_by_the_sweeper(other_tenant, receiver, inline_worker):
    endpoint = make_endpoint(other_tenant, receiver)
    # A delivery written without its message (the broker was down, or the worker died before sending it).
    row = WebhookDelivery.objects.create(endpoint=endpoint, event_type="operation.failed", payload={"lost": True},
                                         next_attempt_at=timezone.now() - timedelta(minutes=1))
    with inline_worker.sends():
        assert services.deliveries_sweep() == 1
    inline_worker.run_until(lambda: WebhookDelivery.objects.get(pk=row.pk).state == DeliveryState.DELIVERED, 10)
    assert len(receiver.requests) == 1 and receiver.requests[0].verified
    assert json.loads(receiver.requests[0].body) == {"lost": True}


def test_an_attempt_in_progress_is_not_swept(other_tenant, receiver):
    endpoint = make_endpoint(other_tenant, receiver)
    WebhookDelivery.objects.create(endpoint=endpoint, event_type="operation.failed", payload={},
                                   next_attempt_at=timezone.now() + services.LEASE)
    assert services.deliveries_sweep() == 0


def test_given_up_after_the_window_and_the_endpoint_disabled(other_tenant, receiver, settings):
    receiver.statuses = [503]
    endpoint = make_endpoint(other_tenant, receiver)
    long_ago = timezone.now() - timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW_SECONDS + 60)
    row = WebhookDelivery.objects.create(endpoint=endpoint, event_type="operation.failed", payload={},
                                         next_attempt_at=long_ago)
    WebhookDelivery.objects.filter(pk=row.pk).update(created_at=long_ago)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=long_ago)
    assert services.delivery_attempt(delivery_id=row.pk) == DeliveryState.GIVEN_UP
    row.refresh_from_db()
    assert row.state == DeliveryState.GIVEN_UP and row.attempts == 1 and row.last_status_code == 503
    assert row.last_response_excerpt == "receiver says no"
    endpoint.refresh_from_db()
    assert not endpoint.active and endpoint.disabled_at and "disabled" in endpoint.disabled_reason
    event = AuditEvent.objects.get(action="webhook.disable")
    assert event.tenant == other_tenant and event.object_id == str(endpoint.pk)
    # Nothing more is sent to a disabled endpoint.
    assert services.webhook_event_emit(tenant=other_tenant, event_type="operation.failed", data={}) == []
    assert len(receiver.requests) == 1


def test_the_sweeper_disables_an_endpoint_failing_for_the_window(other_tenant, receiver, settings):
    endpoint = make_endpoint(other_tenant, receiver)
    pending = WebhookDelivery.objects.create(endpoint=endpoint, event_type="operation.failed", payload={},
                                             next_attempt_at=timezone.now() + timedelta(minutes=30))
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW_SECONDS + 1))
    services.deliveries_sweep()
    endpoint.refresh_from_db()
    assert not endpoint.active
    pending.refresh_from_db()
    assert pending.state == DeliveryState.GIVEN_UP and pending.last_error == endpoint.disabled_reason
    assert AuditEvent.objects.filter(action="webhook.disable").count() == 1
    services.deliveries_sweep()  # once only
    assert AuditEvent.objects.filter(action="webhook.disable").count() == 1
    assert receiver.requests == []


def test_a_failure_within_the_window_is_retried_later(other_tenant, receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    receiver.statuses = [500]
    endpoint = make_endpoint(other_tenant, receiver)
    row = WebhookDelivery.objects.create(endpoint=endpoint, event_type="operation.failed", payload={},
                                         next_attempt_at=timezone.now())
    before = timezone.now()
    assert services.delivery_attempt(delivery_id=row.pk) == "retrying"
    row.refresh_from_db()
    assert row.state == DeliveryState.PENDING and row.last_status_code == 500
    assert before + timedelta(seconds=24) <= row.next_attempt_at <= timezone.now() + timedelta(seconds=36)
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.failing_since is not None


@pytest.mark.parametrize(("attempts", "low", "high"), [(1, 24, 36), (2, 48, 72), (5, 384, 576), (8, 2880, 3600),
                                                       (30, 2880, 3600)])
def test_the_backoff_doubles_and_is_capped(attempts, low, high, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    settings.WEBHOOK_RETRY_MAX_SECONDS = 3600
    for _ in range(20):
        assert low <= services.backoff_seconds(attempts) <= high


def test_no_answer_is_recorded_as_an_error(other_tenant, receiver):
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    receiver.url = f"http://127.0.0.1:{port}/"
    endpoint = make_endpoint(other_tenant, receiver)
    row = WebhookDelivery.objects.create(endpoint=endpoint, event_type="operation.failed", payload={},
                                         next_attempt_at=timezone.now())
    assert services.delivery_attempt(delivery_id=row.pk) == "retrying"
    row.refresh_from_db()
    assert row.last_status_code is None and "Connection" in row.last_error
