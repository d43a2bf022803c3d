"""Validation of create and modify bodies: 400 naming every bad field, and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures_simulator import SimulatorHandle

from .helpers import (
    INACTIVE_DEF,
    INACTIVE_TEMPLATE,
    SERVICES,
    SITE2DC_TEMPLATE,
    SITE2SITE_DEF,
    assert_empty_404,
    assert_ies_error,
    create_body,
    ready_service,
    service,
    site2dc_entry,
    site2site_entry,
    unique,
)

VALIDATE = "servicemgr.service.parameter.validate_error"
BAD_PARAM = "servicemgr.bad_param"


@pytest.fixture(scope="module")
def empty_tenant(simulator: SimulatorHandle) -> str:
    """A tenant that never gets a service: after every refused create, its list must stay 404."""
    name = unique("val_")
    simulator.new_tenant(name)
    return name


SITE2DC_CASES = [
    ("Bandwidth", None), ("Bandwidth", "abc"), ("Bandwidth", "60000.5"), ("Bandwidth", "-1000"),
    ("Bandwidth", "500"), ("Bandwidth", "10001000"), ("Bandwidth", "60500"), ("Bandwidth", 60000),
    ("Bandwidth", "060000"), ("Bandwidth", ""),
    ("CloudVpnName", None), ("CloudVpnName", ""), ("CloudVpnName", "bad name!"), ("CloudVpnName", "x" * 65),
    ("VNI", "0"), ("VNI", "16777216"), ("VNI", "abc"), ("VNI", 2236),
    ("VPC_ID", "not-a-uuid"), ("VPC_ID", "db79cd8b91e243f8979154b8b2181a70"),
    ("CPE_A_Type", "AR9999"),
    ("CPE_A_ESN", "short"), ("CPE_A_ESN", "21500102003gg3000704"), ("CPE_A_ESN", "21500102003GG30007041"),
    ("CPE_A_Site", "bad site"), ("CPE_A_Site", "s" * 65), ("CPE_A_Position", "a/b"), ("CPE_A_POP", ""),
    ("cidr", "300.1.1.1"), ("cidr", "10.1.1"), ("cidr", "127.0.0.1"), ("cidr", "224.0.0.1"),
    ("cidr", "163.113.12.255"), ("cidr", "010.1.1.1"), ("cidr", "0.1.2.3"), ("cidr", "240.0.0.1"),
    ("cidrBlockSize", "7"), ("cidrBlockSize", "31"), ("cidrBlockSize", "abc"),
]


@pytest.mark.parametrize(("field", "value"), SITE2DC_CASES)
def test_it_refuses_a_bad_site2dc_field(sim: SimulatorHandle, empty_tenant: str, field: str, value: Any) -> None:
    body = create_body(site2dc_entry(**{field: value}))  # None: the field is left out
    answer = sim.call("POST", SERVICES, empty_tenant, json=body)
    error = assert_ies_error(answer, 400, VALIDATE, field)
    assert error["descArgs"] == [field]
    assert error["reasonArgs"][0] and error["adviceArgs"][0]
    assert_empty_404(sim.call("GET", SERVICES, empty_tenant))


def test_it_names_unknown_parameters_and_a_wrong_action(sim: SimulatorHandle, empty_tenant: str) -> None:
    body = create_body(site2dc_entry(Foo="1", action="delete"))
    error = assert_ies_error(sim.call("POST", SERVICES, empty_tenant, json=body), 400, VALIDATE, "Foo", "action")
    assert len(error["descArgs"]) == 2


SITE2SITE_CASES = [
    ({"CPE_B_ESN": "21500102003GG3000001"}, "CPE_B_ESN"),  # same device as A
    ({"cidr_B": "10.1.1.128"}, "cidr_B"),  # inside A's 10.1.1.0/24
    ({"cidr_A": "10.1.0.0", "cidrBlockSize_A": "16"}, "cidr_B"),  # A's /16 swallows B
    ({"cidr_A": "999.1.1.1"}, "cidr_A"),
    ({"cidrBlockSize_B": "40"}, "cidrBlockSize_B"),
    ({"CPE_B_Type": "nope"}, "CPE_B_Type"),
    ({"VPC_ID": "db79cd8b-91e2-43f8-9791-54b8b2181a70"}, "VPC_ID"),  # not a Site2Site parameter
]


@pytest.mark.parametrize(("overrides", "field"), SITE2SITE_CASES)
def test_it_refuses_a_bad_site2site_body(
    sim: SimulatorHandle, empty_tenant: str, overrides: dict[str, str], field: str
) -> None:
    body = create_body(site2site_entry(**overrides), kind="Site2Site")
    assert_ies_error(sim.call("POST", SERVICES, empty_tenant, json=body), 400, VALIDATE, field)
    assert_empty_404(sim.call("GET", SERVICES, empty_tenant))


def _service_override(**fields: Any) -> dict[str, Any]:
    body = create_body()
    for key, value in fields.items():
        if value is None:
            body["service"].pop(key, None)
        else:
            body["service"][key] = value
    return body


SERVICE_CASES = [
    (_service_override(name=None), "name"),
    (_service_override(name=""), "name"),
    (_service_override(name="x" * 256), "name"),
    (_service_override(name="-leading"), "name"),
    (_service_override(name="bad name"), "name"),
    (_service_override(name=7), "name"),
    (_service_override(description="d" * 256), "description"),
    (_service_override(description=5), "description"),
    (_service_override(service_definition_id=None), "service_definition_id"),
    (_service_override(service_definition_id="x" * 37), "service_definition_id"),
    (_service_override(template_id=None), "template_id"),
    (_service_override(parameters=None), "parameters"),
    (_service_override(parameters={"Site2DCList": []}), "Site2DCList"),
    (_service_override(parameters={"Site2SiteList": [site2site_entry()]}), "Site2SiteList"),
    (_service_override(parameters=[1]), "parameters"),
    (_service_override(extra="1"), "extra"),
    ({**create_body(), "onfailure": "sometimes"}, "onfailure"),
    ({"onfailure": "rollback"}, "service"),
    ({"service": "x"}, "service"),
    ([], "body"),
]


@pytest.mark.parametrize(("body", "field"), SERVICE_CASES)
def test_it_refuses_a_bad_service_field(sim: SimulatorHandle, empty_tenant: str, body: Any, field: str) -> None:
    assert_ies_error(sim.call("POST", SERVICES, empty_tenant, json=body), 400, BAD_PARAM, field)
    assert_empty_404(sim.call("GET", SERVICES, empty_tenant))


def test_it_names_every_bad_field_at_once(sim: SimulatorHandle, empty_tenant: str) -> None:
    body = create_body(site2dc_entry(Bandwidth="1", VNI="0"), name="bad name")
    error = assert_ies_error(sim.call("POST", SERVICES, empty_tenant, json=body), 400, BAD_PARAM,
                             "name", "Bandwidth", "VNI")
    assert error["detailArgs"][error["descArgs"].index("Bandwidth")] == "1"


def test_it_refuses_a_body_that_is_not_json(sim: SimulatorHandle, empty_tenant: str) -> None:
    for data in (b"{not json", b"", b"\xff\xfe"):
        answer = sim.call("POST", SERVICES, empty_tenant, data=data)
        assert_ies_error(answer, 400, BAD_PARAM, "body")


def test_it_refuses_unknown_definitions_and_templates(sim: SimulatorHandle, empty_tenant: str) -> None:
    body = _service_override(service_definition_id="f" * 32)
    assert_ies_error(sim.call("POST", SERVICES, empty_tenant, json=body), 400,
                     "servicemgr.template.not_exist", "service_definition_id")
    body = _service_override(template_id="f" * 32)
    assert_ies_error(sim.call("POST", SERVICES, empty_tenant, json=body), 400,
                     "servicemgr.template.not_exist", "template_id")
    body = _service_override(service_definition_id=SITE2SITE_DEF, template_id=SITE2DC_TEMPLATE)
    assert_ies_error(sim.call("POST", SERVICES, empty_tenant, json=body), 400,
                     "servicemgr.template.not_exist", "template_id")


def test_it_refuses_to_order_an_inactive_definition(sim: SimulatorHandle, empty_tenant: str) -> None:
    body = _service_override(service_definition_id=INACTIVE_DEF, template_id=INACTIVE_TEMPLATE)
    assert_ies_error(sim.call("POST", SERVICES, empty_tenant, json=body), 400,
                     "servicemgr.servicePackage.not_activation", "service_definition_id")
    assert_empty_404(sim.call("GET", SERVICES, empty_tenant))


def test_it_keeps_cloud_vpn_names_unique_per_tenant(sim: SimulatorHandle) -> None:
    tenant = unique("uniq_")
    sim.new_tenant(tenant)
    ready = ready_service(sim, tenant)
    entry = site2dc_entry(CloudVpnName=ready["CloudVpnName"])
    assert_ies_error(sim.call("POST", SERVICES, tenant, json=create_body(entry)), 400, VALIDATE, "CloudVpnName")
    # Twice in one request is refused as well.
    body = create_body(site2dc_entry(CloudVpnName="DUP1"))
    body["service"]["parameters"]["Site2DCList"].append(site2dc_entry(CloudVpnName="DUP1"))
    error = assert_ies_error(sim.call("POST", SERVICES, tenant, json=body), 400, VALIDATE, "CloudVpnName")
    assert "entry 2" in error["reasonArgs"][0]
    # Another tenant may use the same name.
    other = unique("uniq_")
    sim.new_tenant(other)
    assert sim.call("POST", SERVICES, other, json=create_body(entry)).status_code == 202


# -- modify ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def target(simulator: SimulatorHandle) -> tuple[str, dict[str, Any]]:
    """A completed service that every refused modify must leave exactly as it was."""
    tenant = unique("mod_")
    simulator.new_tenant(tenant)
    return tenant, ready_service(simulator, tenant)


def _change(vpn: str, **fields: Any) -> dict[str, Any]:
    return {"service": {"parameters": {"Site2DCList": [{"CloudVpnName": vpn, **fields}]}}}


MODIFY_CASES: list[tuple[Any, str, str]] = [
    ("Bandwidth=abc", VALIDATE, "Bandwidth"),
    ("Bandwidth=999", VALIDATE, "Bandwidth"),
    ("Bandwidth=60500", VALIDATE, "Bandwidth"),
    ("VNI=0", VALIDATE, "VNI"),
    ("cidr=broadcast", VALIDATE, "cidr"),
    ("action=create", VALIDATE, "action"),
    ("unknown-connection", VALIDATE, "CloudVpnName"),
    ("unknown-parameter", VALIDATE, "Speed"),
    ("empty-service", BAD_PARAM, "service"),
    ("bad-name", BAD_PARAM, "name"),
    ("other-definition", BAD_PARAM, "service_definition_id"),
    ("status", BAD_PARAM, "status"),
    ("not-an-object", BAD_PARAM, "body"),
]


def _modify_body(case: str, ready: dict[str, Any]) -> Any:
    vpn = ready["CloudVpnName"]
    entry = ready["parameters"]["Site2DCList"][0]
    if "=" in case:
        key, value = case.split("=")
        if value == "broadcast":  # valid alone; the merged result (with the service's /24) is not
            value = entry["cidr"].rsplit(".", 1)[0] + ".255"
        return _change(vpn, **{key: value})
    return {
        "unknown-connection": _change("NOSUCHVPN", Bandwidth="80000"),
        "unknown-parameter": _change(vpn, Speed="fast"),
        "empty-service": {"service": {}},
        "bad-name": {"service": {"name": "no spaces allowed"}},
        "other-definition": {"service": {"service_definition_id": SITE2SITE_DEF, "description": "x"}},
        "status": {"service": {"status": "Completed"}},
        "not-an-object": [1, 2],
    }[case]


@pytest.mark.parametrize(("case", "exception_id", "field"), MODIFY_CASES)
def test_it_refuses_a_bad_modify_and_changes_nothing(
    sim: SimulatorHandle, target: tuple[str, dict[str, Any]], case: str, exception_id: str, field: str
) -> None:
    tenant, ready = target
    path = f"{SERVICES}/{ready['service_id']}"
    answer = sim.call("PUT", path, tenant, json=_modify_body(case, ready))
    assert_ies_error(answer, 400, exception_id, field)
    assert service(sim, tenant, ready["service_id"]) == ready
    operations = sim.call("GET", f"{path}/operations", tenant).json()["operations"]
    assert [o["operation"] for o in operations] == ["Create", "Activate"]
