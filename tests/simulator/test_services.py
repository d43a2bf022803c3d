"""Service management: create, read, list, modify, delete, (de)activation, operations and quirks."""

from __future__ import annotations

import base64
import re
import time

import pytest

from tests.fixtures_simulator import SimulatorHandle

from .helpers import (
    SERVICES,
    assert_empty_404,
    assert_ies_error,
    create,
    create_body,
    operation,
    ready_service,
    service,
    site2site_entry,
    unique,
    wait_done,
)

ID_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")


@pytest.fixture
def tenant(sim: SimulatorHandle) -> str:
    name = unique("t_")
    sim.new_tenant(name)
    return name


def test_it_creates_a_service_that_ends_completed_and_active(sim: SimulatorHandle, tenant: str) -> None:
    body = create_body()
    answer = sim.call("POST", SERVICES, tenant, json=body)
    assert answer.status_code == 202
    ids = answer.json()["service"]
    assert ID_RE.match(ids["service_id"]) and ID_RE.match(ids["operation_id"])
    assert len(base64.urlsafe_b64decode(ids["service_id"] + "==")) == 16
    assert answer.headers["Location"] == f"/rest{SERVICES}/{ids['service_id']}/operations/{ids['operation_id']}"

    running = service(sim, tenant, ids["service_id"])
    assert running["status"] == "CreateInProgress"
    op = operation(sim, tenant, ids["service_id"], ids["operation_id"])
    assert op is not None and op["progress"] == "inprogress" and op["result"] is None
    assert op["finished_at"] is None and op["operation"] == "Create"

    done = wait_done(sim, tenant, ids["service_id"], ids["operation_id"])
    assert done["result"] == "success" and done["reason"] is None
    assert done["finished_at"] > done["operate_at"]
    detail = service(sim, tenant, ids["service_id"])
    entry = body["service"]["parameters"]["Site2DCList"][0]
    assert (detail["status"], detail["active_status"]) == ("Completed", "Active")
    assert detail["Bandwidth"] == "60000" and detail["CloudVpnName"] == entry["CloudVpnName"]
    assert detail["service_name"] == detail["name"] == body["service"]["name"]
    stored = detail["parameters"]["Site2DCList"][0]
    assert stored == {k: v for k, v in entry.items() if k != "action"}
    log = sim.call("GET", f"{SERVICES}/{ids['service_id']}/operations", tenant).json()["operations"]
    assert [o["operation"] for o in log] == ["Create", "Activate"]


def test_it_creates_a_site2site_service(sim: SimulatorHandle, tenant: str) -> None:
    service_id, _ = create(sim, tenant, create_body(kind="Site2Site"))
    detail = service(sim, tenant, service_id)
    assert detail["service_type"] == "Site2Site" and "Site2SiteList" in detail["parameters"]
    assert detail["status"] == "CreateInProgress"


def test_it_lists_services_and_answers_404_empty_when_there_are_none(sim: SimulatorHandle, tenant: str) -> None:
    assert_empty_404(sim.call("GET", SERVICES, tenant))
    first, _ = create(sim, tenant)
    second, _ = create(sim, tenant)
    listed = sim.call("GET", SERVICES, tenant).json()["services"]
    assert [s["service_id"] for s in listed] == [first, second]
    assert {"service_id", "name", "status", "active_status", "created_at"} <= set(listed[0])


def test_it_answers_404_empty_for_an_unknown_service(sim: SimulatorHandle) -> None:
    for method in ("GET", "PUT", "DELETE"):
        assert_empty_404(sim.call(method, f"{SERVICES}/AAAAAAAAAAAAAAAAAAAAAA", "nbitest_12", json={}))
    assert_empty_404(sim.call("GET", f"{SERVICES}/AAAAAAAAAAAAAAAAAAAAAA/operations", "nbitest_12"))
    assert_empty_404(sim.call("GET", f"{SERVICES}/AAAAAAAAAAAAAAAAAAAAAA/operations/x", "nbitest_12"))
    assert_empty_404(sim.call("POST", f"{SERVICES}/AAAAAAAAAAAAAAAAAAAAAA/activation", "nbitest_12"))


def test_it_hides_another_tenants_service(sim: SimulatorHandle) -> None:
    other = "9LbuAd11Qe-cuGnVONz6qw"  # nbitest_12's
    assert sim.call("GET", f"{SERVICES}/{other}", "nbitest_12").status_code == 200
    for method, path in (("GET", ""), ("PUT", ""), ("DELETE", ""), ("GET", "/operations"),
                         ("POST", "/activation"), ("POST", "/deactivation")):
        assert_empty_404(sim.call(method, f"{SERVICES}/{other}{path}", "nbitest_13", json={"service": {}}))
    assert other not in sim.call("GET", SERVICES, "nbitest_13").text


def test_it_answers_null_for_an_unknown_operation_of_a_known_service(sim: SimulatorHandle) -> None:
    answer = sim.call("GET", f"{SERVICES}/9LbuAd11Qe-cuGnVONz6qw/operations/BBBBBBBBBBBBBBBBBBBBBB", "nbitest_12")
    assert answer.status_code == 200 and answer.json() == {"operation": None}


def test_it_changes_bandwidth_only_when_the_update_succeeds(sim: SimulatorHandle, tenant: str) -> None:
    ready = ready_service(sim, tenant)
    service_id, vpn = ready["service_id"], ready["CloudVpnName"]
    assert ready["Bandwidth"] == "20000"
    change = {"service": {"parameters": {"Site2DCList": [
        {"CloudVpnName": vpn, "Bandwidth": "80000", "action": "modify"}]}}}
    answer = sim.call("PUT", f"{SERVICES}/{service_id}", tenant, json=change)
    assert answer.status_code == 202, answer.text
    operation_id = answer.json()["operation_id"]
    assert answer.headers["Location"].endswith(f"/{service_id}/operations/{operation_id}")
    during = service(sim, tenant, service_id)
    assert during["status"] == "UpdateInProgress" and during["Bandwidth"] == "20000"
    op = wait_done(sim, tenant, service_id, operation_id)
    assert op["operation"] == "Update" and op["result"] == "success"
    assert "20000 -> 80000" in op["operation_content"]
    after = service(sim, tenant, service_id)
    assert after["status"] == "Completed" and after["Bandwidth"] == "80000"
    assert after["parameters"]["Site2DCList"][0]["VNI"] == ready["parameters"]["Site2DCList"][0]["VNI"]


def test_it_renames_and_describes_a_service(sim: SimulatorHandle, tenant: str) -> None:
    service_id = ready_service(sim, tenant)["service_id"]
    answer = sim.call("PUT", f"{SERVICES}/{service_id}", tenant,
                      json={"service": {"name": "renamed_1", "description": "new words"}})
    wait_done(sim, tenant, service_id, answer.json()["operation_id"])
    detail = service(sim, tenant, service_id)
    assert (detail["name"], detail["description"]) == ("renamed_1", "new words")


def test_it_refuses_changes_while_an_operation_runs(sim: SimulatorHandle, tenant: str) -> None:
    service_id, create_op = create(sim, tenant)
    change = {"service": {"description": "x"}}
    assert_ies_error(sim.call("PUT", f"{SERVICES}/{service_id}", tenant, json=change),
                     500, "servicemgr.service.status_inprogress")
    assert_ies_error(sim.call("DELETE", f"{SERVICES}/{service_id}", tenant),
                     500, "servicemgr.service.status_inprogress")
    assert_ies_error(sim.call("POST", f"{SERVICES}/{service_id}/deactivation", tenant),
                     500, "servicemgr.service.status_inprogress")
    wait_done(sim, tenant, service_id, create_op)
    assert service(sim, tenant, service_id)["status"] == "Completed"
    log = sim.call("GET", f"{SERVICES}/{service_id}/operations", tenant).json()["operations"]
    assert [o["operation"] for o in log] == ["Create", "Activate"]


def test_it_deletes_a_service_then_answers_404(sim: SimulatorHandle, tenant: str) -> None:
    service_id = ready_service(sim, tenant)["service_id"]
    answer = sim.call("DELETE", f"{SERVICES}/{service_id}", tenant)
    assert answer.status_code == 202
    operation_id = answer.json()["operation_id"]
    assert answer.headers["Location"].endswith(f"/{service_id}/operations/{operation_id}")
    assert service(sim, tenant, service_id)["status"] == "DeleteInProgress"
    op = wait_done(sim, tenant, service_id, operation_id)
    assert op["operation"] == "Delete" and op["result"] == "success"
    assert_empty_404(sim.call("GET", f"{SERVICES}/{service_id}", tenant))
    assert_empty_404(sim.call("GET", SERVICES, tenant))
    # The deleted service's operations stay readable by id.
    assert operation(sim, tenant, service_id, operation_id)["result"] == "success"


def test_it_lets_a_deleted_connection_name_be_used_again(sim: SimulatorHandle, tenant: str) -> None:
    ready = ready_service(sim, tenant)
    service_id = ready["service_id"]
    entry = {**ready["parameters"]["Site2DCList"][0], "action": "create"}
    answer = sim.call("POST", SERVICES, tenant, json=create_body(entry))
    assert_ies_error(answer, 400, "servicemgr.service.parameter.validate_error", "CloudVpnName")
    wait_done(sim, tenant, service_id, sim.call("DELETE", f"{SERVICES}/{service_id}", tenant).json()["operation_id"])
    create(sim, tenant, create_body(entry))


def test_it_deactivates_and_activates(sim: SimulatorHandle, tenant: str) -> None:
    service_id = ready_service(sim, tenant)["service_id"]
    answer = sim.call("POST", f"{SERVICES}/{service_id}/deactivation", tenant)
    assert answer.status_code == 202 and "Location" in answer.headers
    during = service(sim, tenant, service_id)
    assert during["status"] == during["active_status"] == "DeactivateInProgress"
    wait_done(sim, tenant, service_id, answer.json()["operation_id"])
    assert service(sim, tenant, service_id)["active_status"] == "Deactive"
    answer = sim.call("POST", f"{SERVICES}/{service_id}/activation", tenant)
    assert answer.status_code == 202
    assert wait_done(sim, tenant, service_id, answer.json()["operation_id"])["operation"] == "Activate"
    detail = service(sim, tenant, service_id)
    assert (detail["status"], detail["active_status"]) == ("Completed", "Active")


def test_a_failed_create_without_rollback_stays_create_failed(sim: SimulatorHandle, tenant: str) -> None:
    sim.add_fault(kind="fail_operations", count=1, reason="CPE offline")
    service_id, operation_id = create(sim, tenant, create_body(onfailure=None))
    op = wait_done(sim, tenant, service_id, operation_id)
    assert op["result"] == "failed" and op["reason"] == "CPE offline"
    detail = service(sim, tenant, service_id)
    assert detail["status"] == "CreateFailed"
    # Still listed, so its CloudVpnName stays taken until it is deleted.
    again = create_body({**detail["parameters"]["Site2DCList"][0], "action": "create"})
    assert_ies_error(sim.call("POST", SERVICES, tenant, json=again), 400,
                     "servicemgr.service.parameter.validate_error", "CloudVpnName")
    assert_ies_error(sim.call("PUT", f"{SERVICES}/{service_id}", tenant, json={"service": {"description": "x"}}),
                     500, "servicemgr.service.create_failed")
    assert_ies_error(sim.call("POST", f"{SERVICES}/{service_id}/activation", tenant),
                     500, "servicemgr.service.create_failed")
    # Deleting a CreateFailed service answers 200 at once.
    answer = sim.call("DELETE", f"{SERVICES}/{service_id}", tenant)
    assert answer.status_code == 200
    assert operation(sim, tenant, service_id, answer.json()["operation_id"])["result"] == "success"
    assert_empty_404(sim.call("GET", f"{SERVICES}/{service_id}", tenant))
    assert sim.call("POST", SERVICES, tenant, json=again).status_code == 202


def test_a_failed_create_with_rollback_removes_the_service(sim: SimulatorHandle, tenant: str) -> None:
    sim.add_fault(kind="fail_operations", count=1)
    started = time.time() * 1000
    service_id, operation_id = create(sim, tenant, create_body(onfailure="rollback"))
    op = wait_done(sim, tenant, service_id, operation_id)
    assert op["result"] == "failed" and "rolled back" in op["reason"]
    # It failed at 70 % of its nominal duration (1 s ±10 % at time scale 600).
    assert 0.55 * 1000 <= op["finished_at"] - op["operate_at"] <= 0.85 * 1000
    assert op["operate_at"] >= started - 1000
    assert_empty_404(sim.call("GET", f"{SERVICES}/{service_id}", tenant))
    assert_empty_404(sim.call("GET", SERVICES, tenant))


def test_a_failed_update_keeps_the_old_bandwidth(sim: SimulatorHandle, tenant: str) -> None:
    ready = ready_service(sim, tenant)
    service_id, vpn = ready["service_id"], ready["CloudVpnName"]
    sim.add_fault(kind="fail_operations", count=1, methods=["PUT"])
    answer = sim.call("PUT", f"{SERVICES}/{service_id}", tenant, json={"service": {"parameters": {
        "Site2DCList": [{"CloudVpnName": vpn, "Bandwidth": "90000"}]}}})
    op = wait_done(sim, tenant, service_id, answer.json()["operation_id"])
    assert op["result"] == "failed" and op["reason"]
    detail = service(sim, tenant, service_id)
    assert detail["status"] == "Failed" and detail["Bandwidth"] == "20000"
    # A Failed service may be changed again.
    answer = sim.call("PUT", f"{SERVICES}/{service_id}", tenant, json={"service": {"parameters": {
        "Site2DCList": [{"CloudVpnName": vpn, "Bandwidth": "90000"}]}}})
    assert wait_done(sim, tenant, service_id, answer.json()["operation_id"])["result"] == "success"
    assert service(sim, tenant, service_id)["Bandwidth"] == "90000"


def test_a_failed_delete_leaves_the_service(sim: SimulatorHandle, tenant: str) -> None:
    service_id = ready_service(sim, tenant)["service_id"]
    sim.add_fault(kind="fail_operations", count=1, methods=["DELETE"])
    op = wait_done(sim, tenant, service_id, sim.call("DELETE", f"{SERVICES}/{service_id}", tenant).json()["operation_id"])
    assert op["result"] == "failed"
    assert service(sim, tenant, service_id)["status"] == "Failed"


def test_it_keeps_each_tenants_services_apart_in_lists(sim: SimulatorHandle, tenant: str) -> None:
    create(sim, tenant, create_body(site2site_entry(), kind="Site2Site"))
    listed = sim.call("GET", SERVICES, "nbitest_11").json()["services"]
    assert [s["service_id"] for s in listed] == ["8hiqoNgCSZmrlD1MyROJbg"]


def test_it_answers_405_for_a_wrong_method(sim: SimulatorHandle) -> None:
    answer = sim.call("PATCH", SERVICES, "nbitest_12")
    assert answer.status_code == 405 and answer.headers["Allow"] == "GET, POST"


def test_it_answers_404_empty_for_an_unknown_path(sim: SimulatorHandle) -> None:
    assert_empty_404(sim.call("GET", "/nothing/here", "nbitest_12"))
