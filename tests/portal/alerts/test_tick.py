"""The beat's tick against the live simulator: rules fire and clear as the traffic driven through
the simulator's load rules says, a flap sends nothing, each watched connection costs at most one
IES traffic call per tick (counted in the simulator's own log), and every notice arrives for real:
a signed webhook at a local receiver, a mail at a local SMTP server."""

import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from portal.alerts import services
from portal.alerts.models import AlertEvent, AlertRule, AlertState, AlertSubscription, EventStatus
from portal.operations.models import Operation, OperationKind, OperationState
from portal.operations.signals import operation_finished
from portal.services.models import Service
from portal.tenants.models import Membership, Tenant
from portal.webhooks import services as webhooks
from portal.webhooks.models import DeliveryState, WebhookDelivery
from tests.portal.alerts.conftest import body_text

MINUTE = 60


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


@pytest.fixture
def watched(own_tenant_with_history, simulator):
    """The tenant's connection, its member own1 subscribed by e-mail, and a helper to load its traffic."""
    tenant = own_tenant_with_history.tenant
    service = Service.objects.get(tenant=tenant, ies_service_id=own_tenant_with_history.service_id)
    own1 = get_user_model().objects.get(username="own1")
    own1.email = "own1@acme.test"
    own1.save()
    AlertSubscription.objects.create(user=own1, tenant=tenant, email=True, min_level="warning", language="en")
    added = []

    def load(share: float, start: float, until: float | None = None) -> None:
        added.append(simulator.add_load(tenant=tenant.name, connection=service.cloud_vpn_name, utilisation=share,
                                        **{"from": int(start), "until": None if until is None else int(until)}))

    yield own_tenant_with_history, service, own1, load
    simulator.clear_load()


def utilisation_rule(tenant, **extra):
    values = {"name": "Busy line", "kind": "utilisation", "direction": "either", "warning_pct": 80.0,
              "critical_pct": 95.0, "clear_pct": 70.0, "window_minutes": 5, "renotify_minutes": 0, **extra}
    return AlertRule.objects.create(tenant=tenant, **values)


def traffic_calls(simulator, connection: str, since: int) -> int:
    """Traffic requests for the connection that the simulator logged after byte ``since`` of its log."""
    time.sleep(0.2)  # the simulator writes its line after answering
    text = simulator.log_path.read_text(errors="replace")[since:]
    return len(re.findall(rf"GET /rest/cloudvpnwatch/v1/traffic/connections/{re.escape(connection)}/", text))


def test_a_busy_connection_fires_notifies_and_clears(watched, simulator, receiver, smtp, inline_worker):
    own, service, own1, load = watched
    tenant = own.tenant
    endpoint, receiver.secret = webhooks.webhook_create(tenant=tenant, user=own1, url=receiver.url,
                                                        events=["alert.firing", "alert.cleared"])
    rule = utilisation_rule(tenant)
    now = time.time()
    first = now // MINUTE * MINUTE - 20 * MINUTE + 5  # early in its minute: a tick 10 s later is in the same one
    load(0.9, first - 40 * MINUTE, now - 12 * MINUTE)
    load(0.3, now - 12 * MINUTE)

    mark = simulator.log_path.stat().st_size
    with inline_worker.sends():
        stats = services.alerts_tick(now=at(first))
    assert stats.fired == 1 and stats.ies_calls == 1
    assert traffic_calls(simulator, service.cloud_vpn_name, mark) == 1
    state = AlertState.objects.get(rule=rule)
    assert state.level == "warning" and Tenant.objects.get(pk=tenant.pk).alert_notices == 1
    event = AlertEvent.objects.get(status=EventStatus.FIRING)
    assert event.service_name == service.name and 85 <= event.facts["figure"] < 95

    inline_worker.run_until(lambda: receiver.requests and smtp.to("own1@acme.test"), 30,
                            what="the alert's webhook and mail")
    [hook] = receiver.requests
    assert hook.verified and hook.headers["CloudVPN-Event"] == "alert.firing"
    alert = json.loads(hook.body)["data"]["alert"]
    assert alert["level"] == "warning" and alert["status"] == "firing" and alert["service"]["name"] == service.name
    assert "above 80.0 % for 5 min" in alert["summary"] and "5 分钟" in alert["summary_zh"]
    assert alert["url"] == "https://portal.example.test/alerts/"
    [mail] = smtp.to("own1@acme.test")
    assert mail["Subject"].startswith("[Warning] Busy line:")
    assert "Busy line" in body_text(mail, "plain") and "<strong>Warning</strong>" in body_text(mail, "html")

    # The same minute again: nothing new, and the cache answers (no IES call).
    mark = simulator.log_path.stat().st_size
    with inline_worker.sends():
        assert services.alerts_tick(now=at(first + 10)).fired == 0
    assert traffic_calls(simulator, service.cloud_vpn_name, mark) == 0

    with inline_worker.sends():
        stats = services.alerts_tick(now=at(now))
    assert stats.cleared == 1
    assert AlertState.objects.get(rule=rule).level == "" and Tenant.objects.get(pk=tenant.pk).alert_notices == 0
    inline_worker.run_until(lambda: len(receiver.requests) == 2 and len(smtp.to("own1@acme.test")) == 2, 30,
                            what="the clear's webhook and mail")
    assert json.loads(receiver.requests[1].body)["data"]["alert"]["status"] == "cleared"
    assert smtp.to("own1@acme.test")[1]["Subject"].startswith("[Cleared] Busy line:")
    assert WebhookDelivery.objects.filter(endpoint=endpoint, state=DeliveryState.DELIVERED).count() == 2


def test_a_flap_shorter_than_the_window_sends_nothing(watched, simulator, receiver, smtp, inline_worker):
    own, service, own1, load = watched
    rule = utilisation_rule(own.tenant)
    now = time.time()
    load(0.3, now - 40 * MINUTE)
    load(0.97, now - 8 * MINUTE, now - 6 * MINUTE)  # two busy minutes in a quiet half hour
    with inline_worker.sends():
        for back in (9, 7, 5, 3, 1, 0):
            services.alerts_tick(now=at(now - back * MINUTE))
    assert not AlertEvent.objects.filter(rule=rule).exists()
    assert receiver.requests == [] and smtp.messages == []


def test_two_rules_on_one_connection_cost_one_traffic_call_and_a_quiet_line_fires(watched, simulator, smtp,
                                                                                  inline_worker):
    own, service, own1, load = watched
    utilisation_rule(own.tenant)
    quiet = AlertRule.objects.create(tenant=own.tenant, name="Tunnel down?", kind="quiet", floor_kbps=1000,
                                     level="critical", window_minutes=5, renotify_minutes=0)
    now = time.time()
    load(0.0, now - 30 * MINUTE)
    mark = simulator.log_path.stat().st_size
    with inline_worker.sends():
        stats = services.alerts_tick(now=at(now))
    assert traffic_calls(simulator, service.cloud_vpn_name, mark) <= 1 and stats.ies_calls <= 1
    assert AlertState.objects.get(rule=quiet).level == "critical"
    inline_worker.run_until(lambda: smtp.to("own1@acme.test"), 30, what="the quiet line's mail")
    assert smtp.to("own1@acme.test")[0]["Subject"].startswith("[Critical] Tunnel down?:")


def test_quiet_hours_hold_back_warnings_but_not_critical_alerts(watched, simulator, smtp, inline_worker):
    own, service, own1, load = watched
    subscription = AlertSubscription.objects.get(user=own1)
    local = datetime.now(UTC) + timedelta(hours=8)  # the portal's zone in tests: Asia/Shanghai
    subscription.quiet_start = (local - timedelta(hours=1)).time().replace(microsecond=0)
    subscription.quiet_end = (local + timedelta(hours=1)).time().replace(microsecond=0)
    subscription.save()
    utilisation_rule(own.tenant, critical_pct=None)
    now = time.time()
    load(0.9, now - 30 * MINUTE)
    with inline_worker.sends():
        assert services.alerts_tick(now=at(now)).fired == 1
    assert not any("alerts.mail" in sent for sent in inline_worker.sent)  # no mail even asked for
    assert smtp.to("own1@acme.test") == []
    assert services.subscribers(tenant_id=own.tenant.pk, level="critical", now=at(now)) == [subscription]
    assert services.subscribers(tenant_id=own.tenant.pk, level="warning", now=at(now)) == []


def test_another_tenant_hears_nothing_of_these_alerts(watched, simulator, receiver, smtp, inline_worker):
    own, service, own1, load = watched
    other = Tenant.objects.create(name=f"other_{uuid.uuid4().hex[:8]}")
    stranger = get_user_model().objects.create_user("stranger", email="stranger@else.test", password="x-unused")
    Membership.objects.create(user=stranger, tenant=other)
    AlertSubscription.objects.create(user=stranger, tenant=other, email=True, min_level="info")
    # own1's subscription of the other tenant, without a membership there, counts for nothing either.
    AlertSubscription.objects.create(user=own1, tenant=other, email=True, min_level="info")
    webhooks.webhook_create(tenant=other, user=stranger, url=receiver.url.replace("/hooks/", "/other/"),
                            events=["alert.firing", "alert.cleared"])
    utilisation_rule(own.tenant)
    now = time.time()
    load(0.9, now - 30 * MINUTE)
    with inline_worker.sends():
        services.alerts_tick(now=at(now))
    inline_worker.run_until(lambda: smtp.to("own1@acme.test"), 30, what="own1's mail")
    assert smtp.to("stranger@else.test") == []
    assert not [r for r in receiver.requests if r.path.startswith("/other/")]
    assert not AlertEvent.objects.filter(tenant=other).exists()


def test_a_failed_operation_and_an_inactive_service_raise_events(watched, simulator, inline_worker):
    own, service, own1, load = watched
    ops = AlertRule.objects.create(tenant=own.tenant, name="Orders", kind="operation",
                                   operation_events=["failed", "stuck"])
    state = AlertRule.objects.create(tenant=own.tenant, name="Down at IES", kind="service_state", window_minutes=2)
    op = Operation.objects.create(tenant=own.tenant, kind=OperationKind.MODIFY, ies_service_id=service.ies_service_id,
                                  service_name=service.name, state=OperationState.FAILED,
                                  message="IES refused: bandwidth above the contract")
    operation_finished.send(sender=Operation, operation=op, remote=None, gone=False, ies_finished_at=None)
    event = AlertEvent.objects.get(rule=ops)
    assert event.level == "critical" and event.status == EventStatus.NOTICE and "contract" in event.facts["message"]

    Service.objects.filter(pk=service.pk).update(active_status="Deactive")
    now = datetime.now(UTC)
    services.alerts_tick(now=now)  # first seen: pending, nothing sent
    assert not AlertEvent.objects.filter(rule=state).exists()
    services.alerts_tick(now=now + timedelta(minutes=3))
    assert AlertEvent.objects.get(rule=state).status == EventStatus.FIRING
    Service.objects.filter(pk=service.pk).update(active_status="Active")
    services.alerts_tick(now=now + timedelta(minutes=4))
    assert AlertEvent.objects.filter(rule=state, status=EventStatus.CLEARED).count() == 1


def test_an_alert_webhook_that_fails_is_retried_until_it_arrives(watched, simulator, receiver, inline_worker):
    own, service, own1, load = watched
    endpoint, receiver.secret = webhooks.webhook_create(tenant=own.tenant, user=own1, url=receiver.url,
                                                        events=["alert.firing"])
    receiver.statuses = [503, 500]
    utilisation_rule(own.tenant)
    now = time.time()
    load(0.9, now - 30 * MINUTE)
    with inline_worker.sends():
        services.alerts_tick(now=at(now))
    inline_worker.run_until(lambda: WebhookDelivery.objects.filter(state=DeliveryState.DELIVERED).exists(), 30,
                            what="the third attempt")
    assert [r.verified for r in receiver.requests] == [True, True, True]
    assert WebhookDelivery.objects.get(endpoint=endpoint).attempts == 3


def test_a_tick_still_running_makes_the_next_one_pass(watched):
    from django.core.cache import cache

    own, service, own1, load = watched
    utilisation_rule(own.tenant)
    cache.add(services.TICK_LOCK, 1, 60)  # as a tick in progress holds it
    try:
        assert services.alerts_tick().skipped is True
    finally:
        cache.delete(services.TICK_LOCK)
    assert services.alerts_tick().skipped is False


def test_a_deleted_services_alert_leaves_the_count(watched):
    own, service, own1, load = watched
    rule = utilisation_rule(own.tenant)
    AlertState.objects.create(rule=rule, subject=service.ies_service_id, level="warning", since=at(time.time()))
    services.recount_notices(own.tenant.pk)
    assert Tenant.objects.get(pk=own.tenant.pk).alert_notices == 1
    Service.objects.filter(pk=service.pk).update(gone_at=at(time.time()))
    services.alerts_tick()
    assert not AlertState.objects.exists() and Tenant.objects.get(pk=own.tenant.pk).alert_notices == 0
