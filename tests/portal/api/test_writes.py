"""Writes through the API: orders, bandwidth changes and deletes as tracked operations, each with
Idempotency-Key replays and conflicts, and dry runs that write nothing."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from portal.audit.models import AuditEvent
from portal.catalog.models import Order
from portal.operations.models import Operation, OperationState
from portal.services.models import Service
from tests.portal.helpers import SITE2DC, site2dc_form


def _order_body(**overrides):
    form = site2dc_form()
    parameters = {k: v for k, v in form.items() if k not in ("service_name", "description", "Bandwidth_0", "Bandwidth_1")}
    parameters["Bandwidth"] = 60000
    body = {"definition_id": SITE2DC, "name": form["service_name"], "description": "via API", "parameters": parameters}
    body.update(overrides)
    return body


@pytest.fixture
def own1(own_tenant):
    return get_user_model().objects.get(username="own1")


def test_an_order_answers_202_with_its_operation_and_runs_to_the_end(own_tenant, own1, api_for, inline_worker):
    api = api_for(own1, own_tenant.tenant)
    body = _order_body()
    with inline_worker.sends():
        answer = api.post("/api/v1/services", body, headers={"Idempotency-Key": "order-1"})
    assert answer.status_code == 202, answer.content
    op = answer.json()
    assert op["kind"] == "create" and op["state"] == "queued" and op["done"] is False
    assert answer["Location"].endswith(f"/api/v1/operations/{op['id']}")
    order = Order.objects.get(operation__id=op["id"])
    assert order.parameters["Bandwidth"] == "60000" and order.tenant == own_tenant.tenant
    event = AuditEvent.objects.get(operation_id=op["id"], action="service.create")
    assert event.via_token.startswith("ci (cvp_") and event.actor == own1
    inline_worker.run_until(lambda: Operation.objects.get(pk=op["id"]).finished_at, 60, what="the order to end")
    done = api.get(f"/api/v1/operations/{op['id']}").json()
    assert done["state"] == "succeeded" and done["done"] is True
    created = Service.objects.get(tenant=own_tenant.tenant, name=body["name"])
    assert api.get(f"/api/v1/services/{created.ies_service_id}").json()["bandwidth_kbps"] == 60000


def test_the_same_key_and_body_replays_the_first_answer(own_tenant, own1, api_for):
    api = api_for(own1, own_tenant.tenant)
    body = _order_body()
    first = api.post("/api/v1/services", body, headers={"Idempotency-Key": "k-replay"})
    again = api.post("/api/v1/services", body, headers={"Idempotency-Key": "k-replay"})
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true" and again.content == first.content
    assert again["Location"] == first["Location"]
    assert Order.objects.filter(tenant=own_tenant.tenant).count() == 1
    other_body = api.post("/api/v1/services", _order_body(), headers={"Idempotency-Key": "k-replay"})
    assert other_body.status_code == 422
    assert other_body.json()["type"] == "urn:cloudvpn:problem:idempotency-key-reused"
    assert Order.objects.filter(tenant=own_tenant.tenant).count() == 1


def test_two_long_keys_that_share_a_beginning_are_two_orders(own_tenant, own1, api_for):
    api = api_for(own1, own_tenant.tenant)
    first = api.post("/api/v1/services", _order_body(), headers={"Idempotency-Key": "k" * 200 + "1"})
    second = api.post("/api/v1/services", _order_body(), headers={"Idempotency-Key": "k" * 200 + "2"})
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] != second.json()["id"]
    assert Order.objects.filter(tenant=own_tenant.tenant).count() == 2


def test_a_refusal_is_replayed_too_and_a_new_key_tries_again(own_tenant, own1, api_for):
    api = api_for(own1, own_tenant.tenant)
    bad = _order_body(name="has space")
    first = api.post("/api/v1/services", bad, headers={"Idempotency-Key": "k-bad"})
    assert first.status_code == 422 and first["Content-Type"] == "application/problem+json"
    assert any(e["field"] == "name" for e in first.json()["errors"])
    again = api.post("/api/v1/services", bad, headers={"Idempotency-Key": "k-bad"})
    assert again.status_code == 422 and again["Idempotent-Replayed"] == "true"


def test_a_pending_key_is_a_409(own_tenant, own1, api_for):
    """A request with the key still running holds it: a second one is told to wait (409)."""
    from portal.api.idempotency import fingerprint

    api = api_for(own1, own_tenant.tenant)
    path = f"/api/v1/services/{own_tenant.service_id}"
    body = b'{"bandwidth_kbps": 80000}'
    # The first request has claimed the key (its fingerprint: this path and body) and still runs.
    from django.test import RequestFactory

    request = RequestFactory().patch(path, body, content_type="application/json")
    from portal.api.services import idempotency_claim

    assert idempotency_claim(user_id=own1.pk, tenant_id=own_tenant.tenant.pk, key="k-pending",
                             fingerprint=fingerprint(request)) is None
    answer = api.client.patch(path, body, content_type="application/json",
                              headers={"Authorization": f"Bearer {api.secret}", "Idempotency-Key": "k-pending"})
    assert answer.status_code == 409
    assert answer.json()["type"] == "urn:cloudvpn:problem:idempotency-key-in-use"
    assert not Operation.objects.filter(tenant=own_tenant.tenant).exists()


def test_two_requests_with_one_key_at_once_make_one_change(own_tenant, own1, api_for, transactional_db):
    """Threads race for the key: exactly one change is started, the other answer is a replay or a 409."""
    api = api_for(own1, own_tenant.tenant)
    path = f"/api/v1/services/{own_tenant.service_id}"
    answers = []

    def send():
        from django.test import Client

        answers.append(Client().patch(path, b'{"bandwidth_kbps": 90000}', content_type="application/json",
                                      headers={"Authorization": f"Bearer {api.secret}", "Idempotency-Key": "k-race"}))
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(a.status_code for a in answers)
    assert codes in ([202, 202], [202, 409]), codes
    assert Operation.objects.filter(tenant=own_tenant.tenant, kind="modify").count() == 1


def test_bandwidth_change_and_its_refusals(own_tenant, own1, api_for):
    api = api_for(own1, own_tenant.tenant)
    path = f"/api/v1/services/{own_tenant.service_id}"
    too_small = api.patch(path, {"bandwidth_kbps": 10})
    assert too_small.status_code == 422 and too_small.json()["errors"][0]["field"] == "bandwidth_kbps"
    started = api.patch(path, {"bandwidth_kbps": 80000})
    assert started.status_code == 202 and started.json()["kind"] == "modify"
    busy = api.patch(path, {"bandwidth_kbps": 90000})
    assert busy.status_code == 409 and busy.json()["type"] == "urn:cloudvpn:problem:service-busy"
    assert "in progress" in busy.json()["detail"]


def test_dry_runs_write_nothing_and_show_the_ies_request(own_tenant, own1, api_for):
    api = api_for(own1, own_tenant.tenant)
    events, orders = AuditEvent.objects.count(), Order.objects.count()
    body = _order_body()
    create = api.post("/api/v1/services?dry_run=true", body)
    assert create.status_code == 200, create.content
    request = create.json()["ies_request"]
    assert request["method"] == "POST" and request["path"] == "/servicemanager/v1/services"
    assert body["name"] in str(request["body"]) and "60000" in str(request["body"])
    change = api.patch(f"/api/v1/services/{own_tenant.service_id}?dry_run=true", {"bandwidth_kbps": 80000})
    assert change.status_code == 200 and change.json()["ies_request"]["method"] == "PUT"
    assert "80000" in str(change.json()["ies_request"]["body"])
    delete = api.delete(f"/api/v1/services/{own_tenant.service_id}?dry_run=true")
    assert delete.status_code == 200 and delete.json()["ies_request"]["method"] == "DELETE"
    assert (AuditEvent.objects.count(), Order.objects.count()) == (events, orders)
    assert not Operation.objects.filter(tenant=own_tenant.tenant).exists()
    assert api.get("/api/v1/services").json()["items"][0]["bandwidth_kbps"] != 80000


def test_delete_answers_202_and_the_operation_waits(own_tenant, own1, api_for, inline_worker):
    api = api_for(own1, own_tenant.tenant)
    with inline_worker.sends():
        answer = api.delete(f"/api/v1/services/{own_tenant.service_id}", headers={"Idempotency-Key": "del-1"})
    assert answer.status_code == 202 and answer.json()["kind"] == "delete"
    op_id = answer.json()["id"]
    inline_worker.run_until(lambda: Operation.objects.get(pk=op_id).finished_at, 60, what="the delete to end")
    waited = api.get(f"/api/v1/operations/{op_id}/wait", timeout=1)
    assert waited.json()["state"] == OperationState.SUCCEEDED and waited.json()["done"] is True
