"""Bodies and polling shared by the simulator's tests."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.fixtures_simulator import SimulatorHandle

SITE2DC_DEF = "8c34e27ed6644bbfbce93a41a05cb7ab"
SITE2DC_TEMPLATE = "e77fc5e21e1e42c9933ec9574c33a5d8"
SITE2SITE_DEF = "3f1c0d2a9b8e4c7d8e6f5a4b3c2d1e0f"
SITE2SITE_TEMPLATE = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
INACTIVE_DEF = "0badc0de0badc0de0badc0de0badc0de"
INACTIVE_TEMPLATE = "deadbeefdeadbeefdeadbeefdeadbeef"
SERVICES = "/servicemanager/v1/services"


def unique(prefix: str = "T") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def site2dc_entry(**overrides: Any) -> dict[str, Any]:
    """The deck's create entry, with a fresh CloudVpnName."""
    entry = {
        "VPC_ID": "db79cd8b-91e2-43f8-9791-54b8b2181a70", "CloudVpnName": unique("0S2DC"),
        "VNI": "2236", "CPE_A_Site": "siteDC201705071132", "CPE_A_Type": "AR169FGW-L",
        "CPE_A_ESN": "21500102003GG3000704", "CPE_A_Position": "siteDC201705071132",
        "CPE_A_POP": "Manager_VPC", "Bandwidth": "60000", "cidr": "163.113.12.1",
        "cidrBlockSize": "24", "action": "create",
    }
    entry.update(overrides)
    return {k: v for k, v in entry.items() if v is not None}


def site2site_entry(**overrides: Any) -> dict[str, Any]:
    entry = {
        "CloudVpnName": unique("VPNS2S"), "VNI": "2301", "Bandwidth": "40000",
        "CPE_A_Site": "siteA1", "CPE_A_Type": "AR169FGW-L", "CPE_A_ESN": "21500102003GG3000001",
        "CPE_A_Position": "siteA1", "CPE_A_POP": "Manager_VPC", "cidr_A": "10.1.1.0", "cidrBlockSize_A": "24",
        "CPE_B_Site": "siteB1", "CPE_B_Type": "AR161FGW-L", "CPE_B_ESN": "21500102003GG3000002",
        "CPE_B_Position": "siteB1", "CPE_B_POP": "Manager_VPC", "cidr_B": "10.1.2.0", "cidrBlockSize_B": "24",
        "action": "create",
    }
    entry.update(overrides)
    return {k: v for k, v in entry.items() if v is not None}


def create_body(entry: dict[str, Any] | None = None, *, kind: str = "Site2DC", onfailure: str | None = "rollback",
                **service: Any) -> dict[str, Any]:
    if kind == "Site2DC":
        definition, template, key = SITE2DC_DEF, SITE2DC_TEMPLATE, "Site2DCList"
        entry = entry if entry is not None else site2dc_entry()
    else:
        definition, template, key = SITE2SITE_DEF, SITE2SITE_TEMPLATE, "Site2SiteList"
        entry = entry if entry is not None else site2site_entry()
    body: dict[str, Any] = {
        "service": {
            "name": unique("site2dc_" if kind == "Site2DC" else "s2s_"), "description": "",
            "service_definition_id": definition, "template_id": template,
            "parameters": {key: [entry]},
            **service,
        }
    }
    if onfailure is not None:
        body["onfailure"] = onfailure
    return body


def create(sim: SimulatorHandle, tenant: str, body: dict[str, Any] | None = None) -> tuple[str, str]:
    """(service_id, operation_id) of a new service; asserts the 202."""
    answer = sim.call("POST", SERVICES, tenant, json=body or create_body())
    assert answer.status_code == 202, answer.text
    data = answer.json()["service"]
    return data["service_id"], data["operation_id"]


def operation(sim: SimulatorHandle, tenant: str, service_id: str, operation_id: str) -> dict[str, Any] | None:
    answer = sim.call("GET", f"{SERVICES}/{service_id}/operations/{operation_id}", tenant)
    assert answer.status_code == 200, answer.text
    return answer.json()["operation"]


def wait_done(sim: SimulatorHandle, tenant: str, service_id: str, operation_id: str,
              timeout: float = 15.0) -> dict[str, Any]:
    """Poll the operation until it is done; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        op = operation(sim, tenant, service_id, operation_id)
        assert op is not None
        if op["progress"] == "done":
            return op
        assert time.monotonic() < deadline, f"operation still running: {op}"
        time.sleep(0.1)


def service(sim: SimulatorHandle, tenant: str, service_id: str) -> dict[str, Any]:
    answer = sim.call("GET", f"{SERVICES}/{service_id}", tenant)
    assert answer.status_code == 200, answer.text
    return answer.json()["service"]


def created_service(sim: SimulatorHandle, tenant: str, body: dict[str, Any] | None = None) -> str:
    """A service whose create has completed."""
    service_id, operation_id = create(sim, tenant, body)
    assert wait_done(sim, tenant, service_id, operation_id)["result"] == "success"
    return service_id


def assert_ies_error(answer: Any, status: int, exception_id: str, *fields: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"exceptionId", "exceptionType", "descArgs", "reasonArgs", "detailArgs", "adviceArgs"}
    assert body["exceptionId"] == exception_id, body
    for key in ("descArgs", "reasonArgs", "detailArgs", "adviceArgs"):
        assert isinstance(body[key], list) and all(isinstance(v, str) for v in body[key])
        assert len(body[key]) == len(body["descArgs"])
    for field in fields:
        assert field in body["descArgs"], body
    return body


def assert_empty_404(answer: Any) -> None:
    assert answer.status_code == 404, answer.text
    assert answer.content == b""


def ready_service(sim: SimulatorHandle, tenant: str, kind: str = "Site2DC") -> dict[str, Any]:
    """A completed, active service at once (bulk-created: no waiting for a Create); its detail."""
    before = sim.call("GET", SERVICES, tenant)
    known = {s["service_id"] for s in before.json()["services"]} if before.status_code == 200 else set()
    sim.bulk_services(tenant, 1, kind)
    listed = sim.call("GET", SERVICES, tenant).json()["services"]
    (new,) = [s for s in listed if s["service_id"] not in known]
    return service(sim, tenant, new["service_id"])
