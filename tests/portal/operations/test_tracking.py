"""Orders tracked to their end against the live simulator, over a real Redis.

One order goes through a real Celery worker process (`slow`); the others are driven by the same
messages run in the test's own process (`inline_worker`), which is all their state changes need.
"""

import pytest
import requests
from django.db import connection

from portal.audit.models import AuditEvent
from portal.operations.models import Operation, OperationState
from portal.services.models import Service
from tests.portal.helpers import post, site2dc_form, start_wizard
from tests.waiting import wait_until


def place_order(client, **overrides) -> tuple[Operation, dict]:
    key = start_wizard(client)
    form = site2dc_form(**overrides)
    assert post(client, f"/catalog/orders/new/{key}/", form).status_code == 302
    answer = post(client, f"/catalog/orders/new/{key}/review/")
    assert answer.status_code == 302
    return Operation.objects.get(pk=int(answer["Location"].rstrip("/").split("/")[-1])), form


def ies_services_named(simulator, tenant: str, name: str) -> list[dict]:
    answer = requests.get(simulator.base_url + "/servicemanager/v1/services", headers=simulator.headers(tenant))
    if answer.status_code == 404:
        return []
    return [s for s in answer.json()["services"] if s["name"] == name]


def final(op: Operation, timeout: float = 30.0) -> Operation:
    wait_until(lambda: Operation.objects.get(pk=op.pk).state not in (OperationState.QUEUED, OperationState.PROCESSING),
               timeout=timeout)
    return Operation.objects.get(pk=op.pk)


def run_to_end(inline_worker, op: Operation, timeout: float = 30.0) -> Operation:
    """Run the operation's tasks in this process until it leaves Queued and Processing."""
    inline_worker.run_until(
        lambda: Operation.objects.get(pk=op.pk).state not in (OperationState.QUEUED, OperationState.PROCESSING),
        timeout, what=f"operation {op.pk} to end")
    return Operation.objects.get(pk=op.pk)


@pytest.mark.django_db(transaction=True)
def test_an_order_is_created_tracked_and_confirmed(login, celery_worker, simulator):
    client = login("user16")
    op, form = place_order(client)
    done = final(op)
    assert done.state == OperationState.SUCCEEDED, (done.message, celery_worker.output()[-2000:])
    service = Service.objects.get(tenant__name="nbitest_16", name=form["service_name"])
    assert service.status == "Completed" and service.active_status == "Active"
    assert service.bandwidth_kbps == 60000
    assert done.service == service
    assert len(ies_services_named(simulator, "nbitest_16", form["service_name"])) == 1
    outcomes = list(AuditEvent.objects.filter(operation=done).values_list("outcome", flat=True).order_by("id"))
    assert outcomes == ["requested", "succeeded"]
    page = client.get(f"/operations/{op.pk}/", headers={"HX-Request": "true"})
    assert "The connection is active" in page.text
    assert "hx-trigger" not in page.text, "a finished operation's fragment stops the polling"


@pytest.mark.django_db
def test_a_running_operation_fragment_keeps_polling(login, simulator):
    client = login("user16")
    op, _ = place_order(client)  # nothing runs its tasks: it stays queued
    page = client.get(f"/operations/{op.pk}/", headers={"HX-Request": "true"})
    assert page.status_code == 200
    assert 'hx-trigger="every 2s' in page.text, "a queued operation is far from its end: every 2 s"
    assert "<html" not in page.text, "an HTMX request gets the fragment only"
    assert "Vary" in page and "HX-Request" in page["Vary"]
    assert 'aria-live="polite"' in page.text
    full = client.get("/services/")
    assert "1 running" in full.text, "the header badge counts operations in flight"


@pytest.mark.django_db
def test_a_lost_answer_is_reconciled_without_a_second_create(login, inline_worker, simulator, sim, settings):
    # IES takes the POST but answers after the client gave up: the portal must not order twice.
    sim.add_fault(kind="hang", seconds=2.5, prefix="/rest/servicemanager/v1/services", methods=["POST"], count=1)
    settings.IES_READ_TIMEOUT = 1
    settings.OPERATION_SUBMIT_RETRY_SECONDS = 3
    client = login("user16")
    with inline_worker.sends():
        op, form = place_order(client)
        assert inline_worker.published == 0 and connection.run_on_commit, "sent only once the order is committed"
    done = run_to_end(inline_worker, op, timeout=40)
    assert done.state == OperationState.SUCCEEDED, (done.message, inline_worker.ran)
    assert inline_worker.ran.count("operations.submit") >= 2, "the first send timed out: a second attempt reconciled"
    assert len(ies_services_named(simulator, "nbitest_16", form["service_name"])) == 1


@pytest.mark.django_db
def test_a_failed_create_is_rolled_back_and_explained(login, inline_worker, simulator, sim):
    sim.add_fault(kind="fail_operations", count=1, reason="no free VNI on the POP")
    client = login("user16")
    with inline_worker.sends():
        op, form = place_order(client)
    done = run_to_end(inline_worker, op)
    assert done.state == OperationState.ROLLED_BACK, done.message
    assert "no free VNI" in done.message
    assert ies_services_named(simulator, "nbitest_16", form["service_name"]) == []
    page = client.get(f"/operations/{op.pk}/")
    assert "removed the partial service" in page.text
    assert "Correct the order and try again" in page.text
    assert list(AuditEvent.objects.filter(operation=done).values_list("outcome", flat=True)) == ["failed", "requested"]


@pytest.mark.django_db
def test_values_ies_rejects_come_back_on_the_field_it_named(login, inline_worker, simulator):
    # The portal's own checks pass, but IES knows the name: it is another tenant's? No: an order
    # racing another one of the same name, simulated by creating it at IES first.
    client = login("user16")
    with inline_worker.sends():
        op1, form = place_order(client)
    assert run_to_end(inline_worker, op1).state == OperationState.SUCCEEDED
    Service.objects.filter(name=form["service_name"]).delete()  # the mirror forgets, IES does not
    with inline_worker.sends():
        op2, _ = place_order(client, CloudVpnName=form["CloudVpnName"])
    done = run_to_end(inline_worker, op2)
    assert done.state == OperationState.FAILED
    assert "CloudVpnName" in done.order.field_errors
    assert "CloudVpnName" in client.get(f"/operations/{done.pk}/").text
    corrected = post(client, f"/catalog/orders/{done.order.pk}/correct/")
    page = client.get(corrected["Location"])
    section = page.text.split('id="field-CloudVpnName"', 1)[1].split('<div class="field', 1)[0]
    assert "IES rejected this value" in section


@pytest.mark.django_db
def test_an_expired_token_stops_tracking_and_says_so(login, inline_worker, simulator, sim):
    client = login("user16")
    with inline_worker.sends():
        op, _ = place_order(client)
    sim.add_fault(kind="expire_token", tenant="nbitest_16")
    done = run_to_end(inline_worker, op)
    assert done.state == OperationState.NEEDS_ATTENTION
    assert "token" in done.message
    page = client.get(f"/operations/{op.pk}/")
    assert "Check again" in page.text
    # Once the token works again, "check again" sends the order and it completes.
    sim.clear_faults()
    with inline_worker.sends():
        post(client, f"/operations/{op.pk}/recheck/")
    assert run_to_end(inline_worker, op).state == OperationState.SUCCEEDED
