"""The simulator's own endpoints under /rest/_sim: tenants, bulk services, access control."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests

from tests.fixtures_simulator import SimulatorHandle, start_simulator

from .helpers import SERVICES, assert_ies_error, unique

PRESETS = {"nbitest_11", "nbitest_12", "nbitest_13", "nbitest_14", "nbitest_15", "nbitest_16"}


def test_it_lists_the_preset_tenants_with_credentials(sim: SimulatorHandle) -> None:
    tenants = {t["name"]: t for t in sim.http.get(sim.url("/_sim/tenants"), timeout=10).json()["tenants"]}
    assert PRESETS <= set(tenants)
    for tenant in tenants.values():
        assert tenant["token"].startswith("MIIE") and len(tenant["token"]) > 900
        assert re.fullmatch(r"[A-Za-z0-9_-]+", tenant["token"])
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", tenant["bearer"])
        assert re.fullmatch(r"[0-9a-f]{32}", tenant["tenant_id"])


def test_the_handle_tells_preset_tenants_apart(sim: SimulatorHandle) -> None:
    sim.new_tenant(unique("extra_"))
    assert set(sim.preset_tenants) == PRESETS and len(sim.tenants) > len(PRESETS)


def test_it_makes_a_new_tenant_idempotently(sim: SimulatorHandle) -> None:
    name = unique("acme_")
    first = sim.http.post(sim.url("/_sim/tenants"), json={"name": name}, timeout=10)
    assert first.status_code == 201
    again = sim.http.post(sim.url("/_sim/tenants"), json={"name": name}, timeout=10)
    assert again.json() == first.json() and first.json()["name"] == name
    assert sim.new_tenant(name)["token"] == first.json()["token"]
    answer = sim.http.post(sim.url("/_sim/tenants"), json={"name": "no spaces"}, timeout=10)
    assert_ies_error(answer, 400, "servicemgr.bad_param", "name")


def test_it_bulk_creates_a_thousand_services_and_lists_them(sim: SimulatorHandle) -> None:
    # How fast the list answers is benchmarks/pages.py's "bare" figure, not a test's bound.
    tenant = unique("bulk_")
    sim.new_tenant(tenant)
    assert sim.bulk_services(tenant, 1000) == 1000
    answer = sim.call("GET", SERVICES, tenant)
    services = answer.json()["services"]
    assert len(services) == 1000 and len({s["service_id"] for s in services}) == 1000
    assert all(s["status"] == "Completed" and s["active_status"] == "Active" for s in services)
    assert sim.bulk_services(tenant, 2, kind="Site2Site") == 2


def test_services_bulk_created_days_ago_have_that_much_traffic_behind_them(sim: SimulatorHandle) -> None:
    tenant = unique("aged_")
    sim.new_tenant(tenant)
    sim.bulk_services(tenant, 1, age_days=3)
    (service,) = sim.call("GET", SERVICES, tenant).json()["services"]
    name = service["params"]["CloudVpnSite2DCList"][0]["CloudVpnName"] if "params" in service else None
    now = int(time.time()) // 60 * 60
    detail = sim.call("GET", f"{SERVICES}/{service['service_id']}", tenant).json()["service"]
    name = name or next(v for k, v in _flatten(detail) if k == "CloudVpnName")
    query = {"starttime": now - 4 * 86400, "endtime": now, "timedim": "hour", "direction": "inbound",
             "indicator": "avg"}
    points = sim.call("GET", f"/cloudvpnwatch/v1/traffic/connections/{name}/traffic-rate", tenant,
                      params=query).json()["points"]
    assert 71 <= len(points) <= 73  # three days of hours, none before the creation
    assert points[0][0] >= now - 3 * 86400 - 3600


def _flatten(value, key=None):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flatten(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _flatten(v, key)
    else:
        yield key, value


def test_it_refuses_bad_bulk_requests(sim: SimulatorHandle) -> None:
    for body, field in (({"tenant": "nbitest_12", "count": 0}, "count"),
                        ({"tenant": "nbitest_12", "count": "5"}, "count"),
                        ({"tenant": "nobody", "count": 1}, "tenant"),
                        ({"tenant": "nbitest_12", "count": 1, "kind": "Other"}, "kind"),
                        ({"tenant": "nbitest_12", "count": 1, "age_days": 401}, "age_days"),
                        ({"tenant": "nbitest_12", "count": 1, "age_days": "3"}, "age_days")):
        answer = sim.http.post(sim.url("/_sim/services/bulk"), json=body, timeout=10)
        assert_ies_error(answer, 400, "servicemgr.bad_param", field)


@pytest.mark.slow  # a simulator or Python process of its own
def test_it_guards_sim_endpoints_with_a_key_when_loopback_is_not_trusted(tmp_path: Path) -> None:
    env = {"IES_SIM_ADMIN_KEY": "s3cret-key", "IES_SIM_TRUST_LOOPBACK": "0"}
    with start_simulator(tmp_path, env=env) as own:
        url = own.url("/_sim/tenants")
        assert_ies_error(requests.get(url, timeout=10), 403, "servicemgr.permission_denied", "X-Sim-Key")
        assert requests.get(url, headers={"X-Sim-Key": "wrong"}, timeout=10).status_code == 403
        assert requests.post(own.url("/_sim/faults"), json={"kind": "drop"}, timeout=10).status_code == 403
        assert requests.get(url, headers={"X-Sim-Key": "s3cret-key"}, timeout=10).status_code == 200
        # The IES API itself is not affected.
        assert own.call("GET", SERVICES, "nbitest_12").status_code == 200
