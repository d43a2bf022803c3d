"""Fault switches, from /rest/_sim/faults and from the environment."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fixtures_simulator import SimulatorHandle, start_simulator

from .helpers import (
    SERVICES,
    assert_empty_404,
    assert_ies_error,
    create,
    operation,
    ready_service,
    service,
    unique,
    wait_done,
)

CATALOG = "/catalog/v1/servicedefs"


def timed(sim: SimulatorHandle, method: str, path: str, tenant: str = "nbitest_12", **kw: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    answer = sim.call(method, path, tenant, **kw)
    return answer, time.perf_counter() - started


def test_latency_delays_the_next_matching_requests(sim: SimulatorHandle) -> None:
    # Whether a request was delayed is read from the rule's count (a clock says only "slow"; an
    # upper bound on a busy machine is a guess).
    rule = sim.add_fault(kind="latency", ms=300, count=1, prefix="/rest/catalog")
    answer = sim.call("GET", SERVICES, "nbitest_12")
    assert answer.status_code == 200
    assert [f["count"] for f in sim.faults() if f["id"] == rule] == [1], "another prefix: not delayed"
    answer, slow = timed(sim, "GET", CATALOG)
    assert answer.status_code == 200 and slow >= 0.3
    assert [f for f in sim.faults() if f["id"] == rule] == [], "count 1: used up, no later request is delayed"


def test_error_answers_a_status_with_an_ies_body_count_times(sim: SimulatorHandle) -> None:
    fault_id = sim.add_fault(kind="error", count=2, methods=["GET"], prefix="/rest/servicemanager")
    assert [f["id"] for f in sim.faults()] == [fault_id]
    for _ in range(2):
        assert_ies_error(sim.call("GET", SERVICES, "nbitest_12"), 503, "servicemgr.service_unavailable")
    assert sim.call("GET", SERVICES, "nbitest_12").status_code == 200
    assert sim.faults() == []
    sim.add_fault(kind="error", status=500, exceptionId="servicemgr.service.status_inprogress")
    assert_ies_error(sim.call("GET", CATALOG, "nbitest_12"), 500, "servicemgr.service.status_inprogress")
    # Faults never lock out the simulator's own endpoints.
    assert sim.http.get(sim.url("/_sim/tenants"), timeout=10).status_code == 200


def test_hang_outlasts_a_client_timeout(sim: SimulatorHandle) -> None:
    sim.add_fault(kind="hang", seconds=1.5, count=1, prefix="/rest/catalog")
    with pytest.raises(requests.ReadTimeout):
        sim.call("GET", CATALOG, "nbitest_12", timeout=0.4)
    assert sim.call("GET", CATALOG, "nbitest_12", timeout=2).status_code == 200


def test_drop_closes_the_connection_without_an_answer(sim: SimulatorHandle) -> None:
    sim.add_fault(kind="drop", count=1, prefix="/rest/servicemanager")
    with requests.Session() as fresh, pytest.raises(requests.ConnectionError):
        fresh.get(sim.url(SERVICES), headers=sim.headers("nbitest_12"), timeout=5)
    assert sim.call("GET", SERVICES, "nbitest_12").status_code == 200


def test_fail_operations_fails_the_next_n_operations(sim: SimulatorHandle) -> None:
    tenant = unique("ff_")
    sim.new_tenant(tenant)
    ready = [ready_service(sim, tenant)["service_id"] for _ in range(3)]
    sim.add_fault(kind="fail_operations", count=2, reason="lab cable unplugged")
    ops = [sim.call("POST", f"{SERVICES}/{sid}/deactivation", tenant).json()["operation_id"] for sid in ready]
    results = [wait_done(sim, tenant, sid, op) for sid, op in zip(ready, ops, strict=True)]
    assert [r["result"] for r in results] == ["failed", "failed", "success"]
    assert results[0]["reason"] == "lab cable unplugged"
    assert service(sim, tenant, ready[0])["active_status"] == "Active"  # a failed deactivation changes nothing
    assert service(sim, tenant, ready[2])["active_status"] == "Deactive"


def test_expire_token_refuses_one_tenant_until_removed(sim: SimulatorHandle) -> None:
    fault_id = sim.add_fault(kind="expire_token", tenant="nbitest_13")
    assert_ies_error(sim.call("GET", SERVICES, "nbitest_13"), 401, "servicemgr.permission_denied")
    assert sim.call("GET", SERVICES, "nbitest_14").status_code == 200
    sim.remove_fault(fault_id)
    assert sim.call("GET", SERVICES, "nbitest_13").status_code == 200


def test_no_operations_endpoint_hides_operations(sim: SimulatorHandle) -> None:
    tenant = unique("noop_")
    sim.new_tenant(tenant)
    sim.add_fault(kind="no_operations_endpoint")
    service_id, operation_id = create(sim, tenant)
    assert_empty_404(sim.call("GET", f"{SERVICES}/{service_id}/operations", tenant))
    assert_empty_404(sim.call("GET", f"{SERVICES}/{service_id}/operations/{operation_id}", tenant))
    # The service itself still tells how it is going.
    deadline = time.monotonic() + 10
    while service(sim, tenant, service_id)["status"] != "Completed":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    sim.clear_faults()
    assert operation(sim, tenant, service_id, operation_id)["result"] == "success"


@pytest.mark.parametrize(("rule", "field"), [
    ({"kind": "explode"}, "kind"), ({}, "kind"), ({"kind": "latency", "ms": -1}, "ms"),
    ({"kind": "latency", "ms": "5"}, "ms"), ({"kind": "error", "status": 200}, "status"),
    ({"kind": "error", "rate": 2}, "rate"), ({"kind": "error", "count": 0}, "count"),
    ({"kind": "expire_token"}, "tenant"), ({"kind": "drop", "prefix": "rest"}, "prefix"),
    ({"kind": "drop", "methods": "GET"}, "methods"), ({"kind": "hang", "seconds": 99999}, "seconds"),
])
def test_it_refuses_a_bad_rule(sim: SimulatorHandle, rule: dict[str, Any], field: str) -> None:
    answer = sim.http.post(sim.url("/_sim/faults"), json=rule, timeout=10)
    assert_ies_error(answer, 400, "servicemgr.bad_param", field)
    assert sim.faults() == []


def test_it_removes_rules_one_by_one_or_all(sim: SimulatorHandle) -> None:
    first = sim.add_fault(kind="latency", ms=1, prefix="/rest/nothing")
    sim.add_fault(kind="drop", prefix="/rest/nothing")
    assert sim.http.delete(sim.url("/_sim/faults/nosuch"), timeout=10).status_code == 404
    sim.remove_fault(first)
    assert [f["kind"] for f in sim.faults()] == ["drop"]
    sim.clear_faults()
    assert sim.faults() == []


def test_rate_zero_never_fires(sim: SimulatorHandle) -> None:
    sim.add_fault(kind="error", rate=0)
    assert all(sim.call("GET", CATALOG, "nbitest_12").status_code == 200 for _ in range(5))


@pytest.mark.slow  # a simulator or Python process of its own
def test_environment_switches_latency_failures_and_missing_operations(tmp_path: Path) -> None:
    env = {"IES_SIM_LATENCY_MS": "200", "IES_SIM_FAIL_RATE": "1", "IES_SIM_NO_OPERATIONS_ENDPOINT": "1"}
    with start_simulator(tmp_path, env=env) as own:
        assert {f["kind"] for f in own.faults()} == {"latency", "fail_operations", "no_operations_endpoint"}
        assert all(f["source"] == "env" for f in own.faults())
        answer, elapsed = timed(own, "GET", SERVICES)
        assert answer.status_code == 200 and elapsed >= 0.2
        tenant = unique("env_")
        own.new_tenant(tenant)
        service_id, operation_id = create(own, tenant)
        assert_empty_404(own.call("GET", f"{SERVICES}/{service_id}/operations/{operation_id}", tenant))
        own.clear_faults()
        op = wait_done(own, tenant, service_id, operation_id)
        assert op["result"] == "failed" and "rolled back" in op["reason"]


@pytest.mark.slow  # a simulator or Python process of its own
def test_environment_error_rate(tmp_path: Path) -> None:
    with start_simulator(tmp_path, env={"IES_SIM_ERROR_RATE": "1"}) as own:
        assert_ies_error(own.call("GET", SERVICES, "nbitest_12"), 503, "servicemgr.service_unavailable")
        assert own.http.get(own.url("/_sim/faults"), timeout=10).json()["faults"][0]["rate"] == 1.0
