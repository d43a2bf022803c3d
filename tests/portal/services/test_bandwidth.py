"""The bandwidth editor: every bad input refused, one change at a time, confirmed by IES."""

import pytest

from portal.audit.models import AuditEvent
from portal.operations.models import Operation, OperationState
from portal.services.models import Service
from tests.portal.helpers import post, wait_until


def change(client, service_id, amount, unit="Mbit/s", **extra):
    return post(client, f"/services/{service_id}/bandwidth/", {"bandwidth_0": amount, "bandwidth_1": unit}, **extra)


@pytest.fixture
def own(own_tenant):
    """A service of this test's own (changes and failures must not touch the deck's presets)."""
    own_tenant.client = own_tenant.login("own1")
    own_tenant.client.get(f"/services/{own_tenant.service_id}/")  # the mirror learns it
    own_tenant.service = lambda: Service.objects.get(ies_service_id=own_tenant.service_id)
    return own_tenant


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "unit", "message"),
    [
        ("", "Mbit/s", "Enter a bandwidth."),
        ("lots", "Mbit/s", "is not a number"),
        ("0", "Mbit/s", "greater than zero"),
        ("0.5", "Mbit/s", "At least 1 Mbit/s"),
        ("20", "Gbit/s", "At most 10 Gbit/s"),
        ("1500", "kbit/s", "steps of 1 Mbit/s"),
        ("80", "Mbps", "Choose a unit"),
        ("0.0001", "kbit/s", "whole number of kbit/s"),
    ],
)
def test_bad_values_are_refused_with_a_message(own, amount, unit, message):
    answer = change(own.client, own.service_id, amount, unit)
    assert answer.status_code == 400
    assert message in answer.text
    assert not Operation.objects.exists()


@pytest.mark.django_db
def test_the_unchanged_value_is_refused(own):
    current = own.service().bandwidth_kbps
    answer = change(own.client, own.service_id, str(current), "kbit/s")
    assert answer.status_code == 400
    assert "That is the current bandwidth" in answer.text


@pytest.mark.django_db
def test_the_editor_previews_the_change_and_the_utilisation(login):
    # A preset: it has weeks of traffic for the preview (read only, nothing changes).
    client = login("user2")
    client.get("/services/9LbuAd11Qe-cuGnVONz6qw/")
    URL = "/services/9LbuAd11Qe-cuGnVONz6qw/bandwidth/"
    page = client.get(URL + "?suggested_kbps=90000")
    assert "Suggested from the traffic chart: 90 Mbit/s" in page.text
    assert 'value="90"' in page.text
    fragment = client.get(URL, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section class="card" id="bandwidth-card">')
    assert "Last 7 days: peak" in fragment.text


@pytest.mark.django_db(transaction=True)
def test_a_change_is_tracked_and_confirmed_by_ies(own, celery_worker):
    client = own.client
    before = own.service().bandwidth_kbps
    new = before + 20000
    answer = change(client, own.service_id, str(new // 1000))
    assert answer.status_code == 302
    op = Operation.objects.get()
    assert wait_until(lambda: Operation.objects.get(pk=op.pk).finished_at, timeout=30), celery_worker.output()[-2000:]
    op.refresh_from_db()
    assert op.state == OperationState.SUCCEEDED, op.message
    assert own.service().bandwidth_kbps == new
    page = client.get(f"/operations/{op.pk}/")
    assert "IES now reports a bandwidth of" in page.text
    event = AuditEvent.objects.filter(operation=op, outcome="succeeded").get()
    assert event.before == {"bandwidth_kbps": before}
    assert event.after["bandwidth_kbps"] == new
    assert event.actor_name == "own1" and event.client_address == "127.0.0.1"
    detail = client.get(f"/services/{own.service_id}/")
    assert "Update" in detail.text and "own1" in detail.text


@pytest.mark.django_db(transaction=True)
def test_two_tabs_changing_at_once_one_wins_the_other_is_told_why(own):
    tab1, tab2 = own.client, own.login("own2")
    first = change(tab1, own.service_id, "70")
    second = change(tab2, own.service_id, "90")
    assert first.status_code == 302
    assert second.status_code == 409
    assert "Another change of this service is in progress" in second.text
    assert "requested by own1" in second.text
    assert Operation.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fault", [
    {"kind": "error", "status": 503, "methods": ["PUT"], "count": 1},
    {"kind": "drop", "methods": ["PUT"], "count": 1},
])
def test_a_failing_ies_loses_nothing_and_makes_no_duplicate(own, start_worker, sim, fault):
    sim.add_fault(prefix="/rest/servicemanager/v1/services", **fault)
    worker = start_worker(env={"OPERATION_SUBMIT_RETRY_SECONDS": "1"})
    before = own.service().bandwidth_kbps
    assert change(own.client, own.service_id, str(before // 1000 + 10)).status_code == 302
    op = Operation.objects.get()
    assert wait_until(lambda: Operation.objects.get(pk=op.pk).finished_at, timeout=40), worker.output()[-3000:]
    op.refresh_from_db()
    assert op.state == OperationState.SUCCEEDED, op.message
    log = sim.call("GET", f"/servicemanager/v1/services/{own.service_id}/operations", tenant=own.name).json()
    updates = [o for o in log["operations"] if o["operation"] == "Update"]
    assert len(updates) == 1, updates


@pytest.mark.django_db(transaction=True)
def test_a_change_ies_fails_leaves_the_old_bandwidth_with_the_reason(own, celery_worker, sim):
    client = own.client
    before = own.service().bandwidth_kbps
    sim.add_fault(kind="fail_operations", count=1, reason="the POP has no spare capacity")
    change(client, own.service_id, str(before // 1000 + 30))
    op = Operation.objects.get()
    wait_until(lambda: Operation.objects.get(pk=op.pk).finished_at, timeout=30)
    op.refresh_from_db()
    assert op.state == OperationState.FAILED
    assert "no spare capacity" in op.message
    assert own.service().bandwidth_kbps == before
    assert "The service was left as it was before." in client.get(f"/operations/{op.pk}/").text
