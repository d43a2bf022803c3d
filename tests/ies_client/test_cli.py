"""``python -m ies_client`` as a user runs it: a subprocess against the simulator."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PRESET_SERVICES, SITE2DC_DEF

# A Python process per call: `slow`, left out of `make test-fast`.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("IES_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "ies_client", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def cli(simulator):
    def run(*args: str) -> subprocess.CompletedProcess:
        return run_cli("--base-url", simulator.base_url, "--sim-tenant", "nbitest_11", *args)
    return run


def test_it_lists_services_as_a_table(cli, simulator):
    service_id, name, vpn, _ = PRESET_SERVICES["nbitest_11"]
    result = cli("services")
    assert result.returncode == 0, result.stderr
    header, rule, *rows = result.stdout.splitlines()
    assert header.split()[:3] == ["SERVICE", "ID", "NAME"] and set(rule) <= {"-", " "}
    assert any(service_id in r and name in r and "Site2Site" in r for r in rows)
    tenant = simulator.tenants["nbitest_11"]
    for secret in (tenant["token"], tenant["bearer"]):
        assert secret not in result.stdout + result.stderr


def test_it_prints_json(cli):
    result = cli("--json", "service", PRESET_SERVICES["nbitest_11"][0])
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["service_id"] == PRESET_SERVICES["nbitest_11"][0] and data["kind"] == "Site2Site"
    assert data["cloud_vpn_name"] == PRESET_SERVICES["nbitest_11"][2] and data["created_at"].startswith("2017-")


def test_it_shows_definitions_and_one_definitions_fields(cli):
    result = cli("defs")
    assert result.returncode == 0 and SITE2DC_DEF in result.stdout and "inactive" in result.stdout
    result = cli("def", SITE2DC_DEF)
    assert result.returncode == 0, result.stderr
    assert "Site2DCList" in result.stdout and "Bandwidth" in result.stdout and "kbit/s" in result.stdout
    assert "from IES" in result.stdout


def test_it_shows_a_service_and_its_operations(cli):
    service_id = PRESET_SERVICES["nbitest_11"][0]
    result = cli("service", service_id)
    assert result.returncode == 0 and "CloudVpnName" in result.stdout and "CPE_A_ESN" in result.stdout
    result = cli("operations", service_id)
    assert result.returncode == 0 and "Create" in result.stdout and "success" in result.stdout


def test_it_shows_traffic(cli):
    vpn = PRESET_SERVICES["nbitest_11"][2]
    result = cli("traffic", vpn, "--start", "2017-05-10T00:00:00Z", "--end", "2017-05-10T01:00:00Z")
    assert result.returncode == 0, result.stderr
    assert "bit/s" in result.stdout and "2017-05-10 00:59:00" in result.stdout
    result = cli("--json", "traffic", vpn, "--metric", "bandwidth-utilization", "--timedim", "hour",
                 "--start", "1494374400", "--end", "1494460800")
    data = json.loads(result.stdout)
    assert data["unit"] == "%" and len(data["points"]) == 24


def test_it_takes_credentials_from_the_environment(simulator):
    tenant = simulator.tenants["nbitest_12"]
    result = run_cli("services", env={"IES_BASE_URL": simulator.base_url, "IES_TOKEN": tenant["token"],
                                      "IES_BEARER": tenant["bearer"]})
    assert result.returncode == 0, result.stderr
    assert PRESET_SERVICES["nbitest_12"][0] in result.stdout


def test_errors_are_one_readable_line_and_exit_1(simulator, cli):
    tenant = simulator.tenants["nbitest_12"]
    result = run_cli("--base-url", simulator.base_url, "--token", tenant["token"] + "x", "--bearer",
                     tenant["bearer"], "services")
    assert result.returncode == 1 and result.stderr.startswith("error: IES refused")
    assert tenant["token"] not in result.stderr + result.stdout
    result = cli("service", "AAAAAAAAAAAAAAAAAAAAAA")
    assert result.returncode == 1 and "HTTP 404" in result.stderr
    result = cli("traffic", PRESET_SERVICES["nbitest_11"][2], "--start", "1493367320", "--end", "1493367000")
    assert result.returncode == 1 and "endtime" in result.stderr


def test_without_credentials_it_says_what_to_give(simulator):
    result = run_cli("--base-url", simulator.base_url, "services")
    assert result.returncode == 2 and "--token" in result.stderr
