"""Deleting a service: typed confirmation, tracked DELETE, gone when IES confirms, intact on failure."""

import pytest
import requests
from django.db import connection

from portal.operations.models import Operation, OperationState
from portal.services.models import Service
from tests.portal.helpers import post
from tests.portal.services.mirroring import run_refreshes
from tests.waiting import wait_until

DC13 = "FLAUUc8NT0qN-mNTM_lcfw"  # nbitest_13, users 5-7
URL = f"/services/{DC13}/delete/"


@pytest.mark.django_db
def test_the_confirmation_names_the_service_and_wants_its_name(login):
    client = login("user5")
    client.get("/services/")
    page = client.get(URL)
    assert "Delete site2dc3_201705081840?" in page.text
    wrong = post(client, URL, {"confirm_name": "site2dc3"})
    assert wrong.status_code == 400
    assert "Type the service&#x27;s name exactly" in wrong.text or "Type the service's name exactly" in wrong.text
    assert not Operation.objects.exists()


@pytest.mark.django_db
def test_a_failed_delete_leaves_the_service_with_the_reason(own_tenant, inline_worker, sim):
    client = own_tenant.login()
    client.get("/services/")
    sim.add_fault(kind="fail_operations", count=1, reason="the CPE did not answer")
    with inline_worker.sends():
        answer = post(client, f"/services/{own_tenant.service_id}/delete/", {"confirm_name": own_tenant.service_name})
        assert inline_worker.published == 0 and connection.run_on_commit, "sent only once the delete is committed"
    assert answer.status_code == 302
    op = Operation.objects.get()
    inline_worker.run_until(lambda: Operation.objects.get(pk=op.pk).finished_at, 30, what="the delete to end")
    op.refresh_from_db()
    assert op.state == OperationState.FAILED and "did not answer" in op.message
    assert Service.objects.get(ies_service_id=own_tenant.service_id).gone_at is None
    assert own_tenant.service_name in client.get("/services/?refresh=1", follow=True).text


@pytest.mark.django_db
def test_the_service_leaves_the_list_when_ies_confirms(login, inline_worker, simulator):
    # Deleting a preset would change the shared simulator for later tests: use a fresh copy.
    from tests.portal.helpers import site2dc_form

    client = login("user7")
    headers = simulator.headers("nbitest_13")
    form = site2dc_form()
    body = {"onfailure": "rollback", "service": {
        "name": form["service_name"], "description": "", "service_definition_id": "8c34e27ed6644bbfbce93a41a05cb7ab",
        "template_id": "e77fc5e21e1e42c9933ec9574c33a5d8",
        "parameters": {"Site2DCList": [{"CloudVpnName": form["CloudVpnName"], "Bandwidth": "20000", "action": "create"}]}}}
    made = requests.post(simulator.base_url + "/servicemanager/v1/services", json=body, headers=headers).json()
    service_id = made["service"]["service_id"]
    wait_until(lambda: requests.get(simulator.base_url + f"/servicemanager/v1/services/{service_id}",
                                    headers=headers).json()["service"]["status"] == "Completed", timeout=20)
    assert post(client, "/services/").status_code == 302  # "Refresh from IES"
    run_refreshes(inline_worker)
    assert form["service_name"] in client.get("/services/").text  # made outside the portal: it appears
    with inline_worker.sends():
        assert post(client, f"/services/{service_id}/delete/", {"confirm_name": form["service_name"]}).status_code == 302
    op = Operation.objects.get()
    inline_worker.run_until(lambda: Operation.objects.get(pk=op.pk).finished_at, 30, what="the delete to end")
    op.refresh_from_db()
    assert op.state == OperationState.SUCCEEDED, op.message
    assert Service.objects.get(ies_service_id=service_id).gone_at is not None
    assert f'href="/services/{service_id}/"' not in client.get("/services/").text
    assert client.get(f"/services/{service_id}/").status_code == 200, "a deleted service's history stays readable"
