"""The deck's two scenarios, end to end, as a client would run them (in a simulator of their own,
so that the preset tenants of the shared one keep exactly their preset services)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_simulator import SimulatorHandle, start_simulator

from .helpers import assert_empty_404, site2dc_entry, unique

# Every test here shares a simulator process of this module's own.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorHandle]:
    with start_simulator(Path(tmp_path_factory.mktemp("scenarios"))) as handle:
        yield handle


def follow(own: SimulatorHandle, tenant: str, location: str, timeout: float = 15) -> dict[str, Any]:
    """Poll the operation a 202's Location names until it is done."""
    assert location.startswith("/rest/")
    deadline = time.monotonic() + timeout
    while True:
        op = own.http.get(own.root + location, headers=own.headers(tenant), timeout=10).json()["operation"]
        if op["progress"] == "done":
            return op
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_scenario_1_create_and_activate(own: SimulatorHandle) -> None:
    tenant = "nbitest_16"  # User 16: create & activate
    definitions = own.call("GET", "/catalog/v1/servicedefs", tenant).json()["data"]
    site2dc = next(d for d in definitions if d["domain"] == "Site2DC" and d["status"] == "active")
    detail = own.call("GET", f"/catalog/v1/servicedefs/{site2dc['serviceDefId']}/details", tenant).json()
    stamp = time.strftime("%Y%m%d%H%M")
    body = {"onfailure": "rollback",
            "service": {"name": f"site2dc6_{stamp}", "description": "",
                        "service_definition_id": site2dc["serviceDefId"], "template_id": detail["template_id"],
                        "parameters": {"Site2DCList": [site2dc_entry(CloudVpnName=unique("0S2DC6"))]}}}
    answer = own.call("POST", "/servicemanager/v1/services", tenant, json=body)
    assert answer.status_code == 202
    service_id = answer.json()["service"]["service_id"]
    assert follow(own, tenant, answer.headers["Location"])["result"] == "success"
    service = own.call("GET", f"/servicemanager/v1/services/{service_id}", tenant).json()["service"]
    assert (service["status"], service["active_status"], service["Bandwidth"]) == ("Completed", "Active", "60000")
    assert service["service_name"] == body["service"]["name"]


def test_scenario_2_scale_elastically_then_delete(own: SimulatorHandle) -> None:
    tenant = "nbitest_12"  # Users 2-4: scale
    services = own.call("GET", "/servicemanager/v1/services", tenant).json()["services"]
    service_id = services[0]["service_id"]
    path = f"/servicemanager/v1/services/{service_id}"
    service = own.call("GET", path, tenant).json()["service"]
    vpn, bandwidth, name = service["CloudVpnName"], service["Bandwidth"], service["service_name"]
    assert (vpn, bandwidth, name) == ("0S2DC201705071132", "60000", "site2dc_201705071132")
    now = int(time.time())
    watch = own.call("GET", f"/cloudvpnwatch/v1/traffic/connections/{vpn}/traffic-rate", tenant,
                     params={"starttime": now - 86400, "endtime": now, "timedim": "minute",
                             "direction": "outbound", "indicator": "max"})
    assert watch.status_code == 200 and len(watch.json()["points"]) >= 1438
    assert max(p[1] for p in watch.json()["points"]) <= 60000 * 1000
    change = {"service": {"parameters": {"Site2DCList": [
        {"CloudVpnName": vpn, "Bandwidth": "80000", "action": "modify"}]}}}
    answer = own.call("PUT", path, tenant, json=change)
    assert answer.status_code == 202
    assert follow(own, tenant, answer.headers["Location"])["result"] == "success"
    assert own.call("GET", path, tenant).json()["service"]["Bandwidth"] == "80000"
    answer = own.call("DELETE", path, tenant)
    assert answer.status_code == 202
    assert follow(own, tenant, answer.headers["Location"])["result"] == "success"
    assert_empty_404(own.call("GET", path, tenant))
    assert_empty_404(own.call("GET", "/servicemanager/v1/services", tenant))
    # The service is gone, but its Delete stays readable where its Location points.
    assert own.http.get(own.root + answer.headers["Location"], headers=own.headers(tenant),
                        timeout=10).json()["operation"]["operation"] == "Delete"
