"""The catalog, and the authentication every /rest call goes through."""

from __future__ import annotations

import pytest

from tests.fixtures_simulator import SimulatorHandle

from .helpers import INACTIVE_DEF, SERVICES, SITE2DC_DEF, SITE2DC_TEMPLATE, SITE2SITE_DEF, assert_ies_error

DEFS = "/catalog/v1/servicedefs"


def test_it_lists_three_definitions_wrapped_in_data(sim: SimulatorHandle) -> None:
    answer = sim.call("GET", DEFS, "nbitest_11")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    data = answer.json()["data"]
    by_id = {d["serviceDefId"]: d for d in data}
    assert set(by_id) == {SITE2DC_DEF, SITE2SITE_DEF, INACTIVE_DEF}
    assert (by_id[SITE2DC_DEF]["domain"], by_id[SITE2DC_DEF]["status"]) == ("Site2DC", "active")
    assert (by_id[SITE2SITE_DEF]["domain"], by_id[SITE2SITE_DEF]["status"]) == ("Site2Site", "active")
    assert by_id[INACTIVE_DEF]["status"] == "inactive"
    for definition in data:
        assert {"serviceDefId", "name", "description", "serviceType", "domain", "status", "version",
                "templates"} <= set(definition)
        assert definition["serviceType"] == "CloudVPN"
        assert {"id", "name", "url"} <= set(definition["templates"][0])


@pytest.mark.parametrize("suffix", ["details", "detail"])
def test_it_details_a_definition_with_its_parameter_schema(sim: SimulatorHandle, suffix: str) -> None:
    detail = sim.call("GET", f"{DEFS}/{SITE2DC_DEF}/{suffix}", "nbitest_16").json()
    assert detail["serviceDefId"] == detail["servicedefId"] == SITE2DC_DEF
    assert detail["template_id"] == SITE2DC_TEMPLATE and detail["parameterListKey"] == "Site2DCList"
    fields = {f["name"]: f for f in detail["parameters"]}
    assert list(fields) == ["VPC_ID", "CloudVpnName", "VNI", "CPE_A_Site", "CPE_A_Type", "CPE_A_ESN",
                            "CPE_A_Position", "CPE_A_POP", "Bandwidth", "cidr", "cidrBlockSize"]
    bandwidth = fields["Bandwidth"]
    assert bandwidth["required"] is True and bandwidth["unit"] == "kbit/s" and bandwidth["type"] == "integer"
    assert bandwidth["constraints"] == {"min": 1000, "max": 10000000, "step": 1000}
    assert fields["CPE_A_Type"]["constraints"]["choices"] == ["AR169FGW-L", "AR161FGW-L", "AR1220E", "AR2220E"]
    assert fields["VNI"]["constraints"] == {"min": 1, "max": 16777215}
    assert fields["CloudVpnName"]["constraints"]["maxLength"] == 64
    for spec in detail["parameters"]:
        assert set(spec) == {"name", "type", "required", "default", "help", "unit", "constraints"}


def test_it_details_site2site_with_both_sites(sim: SimulatorHandle) -> None:
    detail = sim.call("GET", f"{DEFS}/{SITE2SITE_DEF}/details", "nbitest_11").json()
    names = [f["name"] for f in detail["parameters"]]
    assert detail["parameterListKey"] == "Site2SiteList"
    assert {"CPE_A_ESN", "CPE_B_ESN", "cidr_A", "cidr_B", "cidrBlockSize_A", "cidrBlockSize_B"} <= set(names)
    assert "VPC_ID" not in names


def test_it_answers_404_for_an_unknown_definition(sim: SimulatorHandle) -> None:
    assert_ies_error(sim.call("GET", f"{DEFS}/{'0' * 32}/details", "nbitest_11"), 404,
                     "servicemgr.template.not_exist", "servicedefId")


AUTH_PATHS = [DEFS, f"{DEFS}/{SITE2DC_DEF}/details", SERVICES, f"{SERVICES}/8hiqoNgCSZmrlD1MyROJbg",
              "/cloudvpnwatch/v1/traffic/connections/VPNS2S201705061433/traffic-rate?starttime=1&endtime=2"
              "&timedim=minute&direction=outbound&indicator=max"]


@pytest.mark.parametrize("path", AUTH_PATHS)
def test_it_refuses_calls_without_valid_credentials(sim: SimulatorHandle, path: str) -> None:
    good = sim.headers("nbitest_11")
    cases = {
        "no token": {"Authorization": good["Authorization"]},
        "unknown token": {**good, "X-Auth-Token": "MIIE" + "x" * 100},
        "no bearer": {"X-Auth-Token": good["X-Auth-Token"]},
        "wrong bearer": {**good, "Authorization": "Bearer 00000000-0000-4000-8000-000000000000"},
        "other tenant's bearer": {**good, "Authorization": sim.headers("nbitest_12")["Authorization"]},
        "wrong tenant id": {**good, "X-Tenant-Id": sim.tenants["nbitest_12"]["tenant_id"]},
    }
    for case, headers in cases.items():
        answer = sim.http.get(sim.url(path), headers=headers, timeout=10)
        assert_ies_error(answer, 401, "servicemgr.permission_denied")
        assert good["X-Auth-Token"] not in answer.text, case


def test_it_accepts_the_matching_tenant_id(sim: SimulatorHandle) -> None:
    headers = {"X-Tenant-Id": sim.tenants["nbitest_11"]["tenant_id"]}
    assert sim.call("GET", SERVICES, "nbitest_11", headers=headers).status_code == 200


def test_it_serves_its_openapi_document_without_credentials(sim: SimulatorHandle) -> None:
    answer = sim.http.get(sim.url("/openapi.json"), timeout=10)
    assert answer.status_code == 200
    document = answer.json()
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["XAuthToken"] == {
        "type": "apiKey", "in": "header", "name": "X-Auth-Token", "description": "The tenant's token (MIIE…)"}
    assert "/servicemanager/v1/services/{service_id}/operations/{operation_id}" in document["paths"]
